//! A small, case-insensitive header list: the header vocabulary of the
//! storage-node protocol, free of any HTTP library's types.

/// Ordered header list; names are stored lowercase, lookups ignore case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Replaces every value of `name` with `value`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into().to_ascii_lowercase();
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value.into()));
    }

    /// Adds a value, keeping earlier ones.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0
            .push((name.into().to_ascii_lowercase(), value.into()));
    }

    /// Removes every value of `name`; returns the first removed.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let mut first = None;
        self.0.retain(|(n, v)| {
            if n.eq_ignore_ascii_case(name) {
                if first.is_none() {
                    first = Some(v.clone());
                }
                false
            } else {
                true
            }
        });
        first
    }

    /// Builder-style [`Headers::set`].
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// All `(name, value)` pairs, names lowercase.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Pairs whose name starts with `prefix` (case-insensitive).
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        let prefix = prefix.to_ascii_lowercase();
        self.iter().filter(move |(n, _)| n.starts_with(&prefix))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Headers {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v))
                .collect(),
        )
    }
}

impl IntoIterator for Headers {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_set_get_remove() {
        let mut h = Headers::new();
        h.set("X-Object-Meta-Color", "red");
        assert_eq!(h.get("x-object-meta-color"), Some("red"));
        h.set("x-object-meta-COLOR", "blue");
        assert_eq!(h.len(), 1);
        assert_eq!(h.get("X-OBJECT-META-COLOR"), Some("blue"));
        h.append("x-a", "1");
        h.append("X-A", "2");
        assert_eq!(h.with_prefix("X-Object-Meta-").count(), 1);
        assert_eq!(h.remove("x-a").as_deref(), Some("1"));
        assert!(!h.contains("x-a"));
    }
}
