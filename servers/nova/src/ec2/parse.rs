//! Request parameters: the query string and the form body merged, with
//! EC2's flattening (`InstanceId.1`, `Filter.1.Name`, `Filter.1.Value.1`,
//! `Placement.AvailabilityZone`).

use std::collections::BTreeMap;

use super::error::{Ec2Error, Ec2Result};

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space).
pub(crate) fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The parameters of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params(BTreeMap<String, String>);

/// One `Filter.N`: a name and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) name: String,
    pub(crate) values: Vec<String>,
}

impl Params {
    /// From decoded pairs (a later duplicate wins).
    pub(crate) fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// Every parameter, sorted by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// One parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// One parameter, `MissingParameter` when absent or empty.
    pub(crate) fn required(&self, name: &str) -> Ec2Result<&str> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Ec2Error::missing(name)),
        }
    }

    /// An integer parameter, `InvalidParameterValue` when not one.
    pub(crate) fn int(&self, name: &str) -> Ec2Result<Option<i64>> {
        self.get(name)
            .map(|v| v.trim().parse().map_err(|_| Ec2Error::invalid(name, v)))
            .transpose()
    }

    /// A boolean parameter (`true`/`false`).
    pub(crate) fn bool(&self, name: &str) -> Ec2Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Ec2Error::invalid(name, v)),
        }
    }

    /// The values of `prefix.1`, `prefix.2`, … in index order.
    pub(crate) fn list(&self, prefix: &str) -> Vec<String> {
        let mut items: Vec<(u64, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.strip_prefix('.')?;
                Some((n.parse().ok()?, v.clone()))
            })
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// The sub-parameters of each `prefix.N.` (e.g. `IpPermissions.1.`), as
    /// their own [`Params`], in index order.
    pub(crate) fn structs(&self, prefix: &str) -> Vec<Params> {
        let mut by_index: BTreeMap<u64, Params> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((n, sub)) = rest.split_once('.') else {
                continue;
            };
            if let Ok(n) = n.parse() {
                by_index
                    .entry(n)
                    .or_default()
                    .0
                    .insert(sub.to_owned(), v.clone());
            }
        }
        by_index.into_values().collect()
    }

    /// `Filter.N.Name` / `Filter.N.Value.M`; `InvalidParameterValue` for a
    /// filter without a name.
    pub(crate) fn filters(&self) -> Ec2Result<Vec<Filter>> {
        self.structs("Filter")
            .into_iter()
            .map(|f| {
                let name = f
                    .required("Name")
                    .map_err(|_| Ec2Error::missing("Filter.N.Name"))?;
                Ok(Filter {
                    name: name.to_owned(),
                    values: f.list("Value"),
                })
            })
            .collect()
    }
}

impl Params {
    /// [`Params::filters`], with `InvalidParameterValue` for a name not in
    /// `known` (checked even when nothing is there to filter).
    pub(crate) fn filters_of(&self, known: &[&str]) -> Ec2Result<Vec<Filter>> {
        let filters = self.filters()?;
        if let Some(f) = filters.iter().find(|f| !known.contains(&f.name.as_str())) {
            return Err(Ec2Error::client(
                "InvalidParameterValue",
                format!("The filter '{}' is invalid", f.name),
            ));
        }
        Ok(filters)
    }
}

impl Filter {
    /// Whether `value` matches one of the values (`*` and `?` wildcards).
    pub(crate) fn matches(&self, value: &str) -> bool {
        self.values.iter().any(|p| wildcard(p, value))
    }
}

/// EC2 filter patterns: `*` any run, `?` one character.
pub(crate) fn wildcard(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Applies `filters` to `items`: every filter must match one of the values
/// `field` gives for its name. Unknown filter names are
/// `InvalidParameterValue`.
pub(crate) fn apply_filters<T>(
    items: Vec<T>,
    filters: &[Filter],
    field: impl Fn(&T, &str) -> Option<Vec<String>>,
) -> Ec2Result<Vec<T>> {
    let mut out = Vec::with_capacity(items.len());
    'items: for item in items {
        for f in filters {
            let values =
                field(&item, &f.name).ok_or_else(|| Ec2Error::invalid("Filter.Name", &f.name))?;
            if !values.iter().any(|v| f.matches(v)) {
                continue 'items;
            }
        }
        out.push(item);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Params {
        Params::new(form_pairs(s))
    }

    #[test]
    fn flattened_lists_structs_and_filters() {
        let p = params(
            "Action=DescribeInstances&InstanceId.2=i-2&InstanceId.1=i-1&InstanceId.10=i-10\
             &Filter.1.Name=instance-state-name&Filter.1.Value.1=pending&Filter.1.Value.2=running\
             &Placement.AvailabilityZone=nova&UserData=ZWNobyBoaQ%3D%3D&Desc=a+b%20c",
        );
        assert_eq!(p.get("Action"), Some("DescribeInstances"));
        assert_eq!(p.list("InstanceId"), ["i-1", "i-2", "i-10"]);
        assert_eq!(p.get("UserData"), Some("ZWNobyBoaQ=="));
        assert_eq!(p.get("Desc"), Some("a b c"));
        assert_eq!(p.get("Placement.AvailabilityZone"), Some("nova"));
        let f = p.filters().unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, "instance-state-name");
        assert_eq!(f[0].values, ["pending", "running"]);
        assert!(f[0].matches("running") && !f[0].matches("stopped"));
        assert!(params("Filter.1.Value.1=x").filters().is_err());
    }

    #[test]
    fn scalars_are_checked() {
        let p = params("MinCount=2&MaxCount=x&Force=true&DryRun=maybe&Empty=");
        assert_eq!(p.int("MinCount").unwrap(), Some(2));
        assert_eq!(p.int("MaxCount").unwrap_err().code, "InvalidParameterValue");
        assert_eq!(p.bool("Force").unwrap(), Some(true));
        assert!(p.bool("DryRun").is_err());
        assert_eq!(p.required("Empty").unwrap_err().code, "MissingParameter");
        assert_eq!(p.required("Nope").unwrap_err().code, "MissingParameter");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("web-*", "web-1"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "abbc"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("x", "y"));
    }

    #[test]
    fn filters_apply_and_reject_unknown_names() {
        let f = vec![Filter {
            name: "n".into(),
            values: vec!["a*".into()],
        }];
        let out = apply_filters(vec!["ab", "b"], &f, |s, _| Some(vec![s.to_string()])).unwrap();
        assert_eq!(out, ["ab"]);
        let e = apply_filters(vec!["ab"], &f, |_, _| None).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
    }
}
