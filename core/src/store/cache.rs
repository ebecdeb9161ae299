//! A bounded in-memory cache of loaded documents, least recently used out first.
//!
//! Loading a document replays its snapshot and chunks; editing the same case many
//! times in a row (the usual pattern on a phone) should pay that once. Bounded so a
//! store of 10,000 cases does not hold them all.

use std::collections::HashMap;

/// Documents by id with a use counter. Eviction scans for the oldest entry: O(n)
/// in the capacity, which is small (hundreds), and only on insert past capacity.
pub(crate) struct DocCache<D> {
    capacity: usize,
    tick: u64,
    docs: HashMap<String, (D, u64)>,
}

impl<D> DocCache<D> {
    pub(crate) fn new(capacity: usize) -> Self {
        DocCache { capacity: capacity.max(1), tick: 0, docs: HashMap::new() }
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut D> {
        self.tick += 1;
        let tick = self.tick;
        self.docs.get_mut(id).map(|(doc, used)| {
            *used = tick;
            doc
        })
    }

    pub(crate) fn insert(&mut self, id: String, doc: D) {
        self.tick += 1;
        if self.docs.len() >= self.capacity && !self.docs.contains_key(&id) {
            let oldest = self.docs.iter().min_by_key(|(_, (_, used))| *used).map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.docs.remove(&oldest);
            }
        }
        self.docs.insert(id, (doc, self.tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut cache = DocCache::new(2);
        cache.insert("a".into(), 1);
        cache.insert("b".into(), 2);
        assert_eq!(cache.get_mut("a"), Some(&mut 1));
        cache.insert("c".into(), 3);
        assert_eq!(cache.get_mut("b"), None);
        assert_eq!(cache.get_mut("a"), Some(&mut 1));
        assert_eq!(cache.get_mut("c"), Some(&mut 3));
    }
}
