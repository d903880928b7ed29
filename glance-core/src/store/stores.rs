//! [`Stores`]: the named image stores of a multi-store deployment
//! (Glance's `enabled_backends`), one of them the default.

use std::fmt;
use std::sync::Arc;

use super::ImageStore;

/// An ordered map of store id to store, with one default. Uploads go to
/// the store the caller names (`X-Image-Meta-Store`) or to the default;
/// each image location records the id of the store holding it.
#[derive(Clone)]
pub struct Stores {
    default_id: String,
    stores: Vec<(String, Arc<dyn ImageStore>)>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("default_id", &self.default_id)
            .field("stores", &self.stores)
            .finish()
    }
}

impl Stores {
    /// One store, `default_id`, which is the default.
    pub fn new(default_id: impl Into<String>, store: Arc<dyn ImageStore>) -> Self {
        let default_id = default_id.into();
        Self {
            stores: vec![(default_id.clone(), store)],
            default_id,
        }
    }

    /// Adds a store after the others; a store already named `id` is
    /// replaced in place.
    pub fn with(mut self, id: impl Into<String>, store: Arc<dyn ImageStore>) -> Self {
        let id = id.into();
        match self.stores.iter_mut().find(|(i, _)| *i == id) {
            Some(slot) => slot.1 = store,
            None => self.stores.push((id, store)),
        }
        self
    }

    /// The store named `id`, if any.
    pub fn get(&self, id: &str) -> Option<&Arc<dyn ImageStore>> {
        self.stores.iter().find(|(i, _)| i == id).map(|(_, s)| s)
    }

    /// The id of the default store.
    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    /// The default store.
    pub fn default_store(&self) -> &Arc<dyn ImageStore> {
        // `new` puts the default first and `with` never removes it.
        &self.stores[0].1
    }

    /// Every store with its id, in the order they were added (the default first).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn ImageStore>)> {
        self.stores.iter().map(|(i, s)| (i.as_str(), s))
    }

    /// The store ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.stores.iter().map(|(i, _)| i.as_str())
    }

    /// How many stores there are (at least one).
    pub fn len(&self) -> usize {
        self.stores.len()
    }

    /// Always false: there is at least the default store.
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryImageStore;

    #[test]
    fn keeps_order_default_and_lookup() {
        let a: Arc<dyn ImageStore> = Arc::new(MemoryImageStore::new());
        let b: Arc<dyn ImageStore> = Arc::new(MemoryImageStore::new());
        let s = Stores::new("fast", a.clone())
            .with("slow", b.clone())
            .with("cheap", b.clone());
        assert_eq!(s.default_id(), "fast");
        assert!(Arc::ptr_eq(s.default_store(), &a));
        assert_eq!(s.ids().collect::<Vec<_>>(), ["fast", "slow", "cheap"]);
        assert!(Arc::ptr_eq(s.get("slow").unwrap(), &b));
        assert!(s.get("nope").is_none());
        // Replacing keeps the position; replacing the default keeps it default.
        let s = s.with("fast", b.clone());
        assert_eq!(s.len(), 3);
        assert_eq!(s.iter().next().unwrap().0, "fast");
        assert!(Arc::ptr_eq(s.default_store(), &b));
    }
}
