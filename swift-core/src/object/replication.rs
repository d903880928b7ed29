//! What backends share for replication: suffix hashes and their wire form.
//!
//! A suffix hash is Swift's unit of comparison between replicas: the MD5 over
//! every hash directory of the suffix (ascending), each contributing its hex
//! name and the sorted names of the version files it keeps
//! (`<timestamp>.data`, `.ts`, `.meta`). Two replicas with equal hashes hold
//! the same versions, so replication only looks inside differing suffixes.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::hash::PathHash;
use crate::timestamp::Timestamp;

/// Suffix (three lowercase hex digits) to its MD5 hex hash.
pub type SuffixHashes = BTreeMap<String, String>;

/// Whether `s` is a suffix: three lowercase hex digits.
pub fn valid_suffix(s: &str) -> bool {
    s.len() == 3
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses the suffix list of a REPLICATE path, `abc-def-012` (empty for
/// none). Fails with `Error::InvalidInput` on anything that is not a suffix.
pub fn parse_suffixes(path: &str) -> Result<Vec<String>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    path.split('-')
        .map(|s| {
            if valid_suffix(s) {
                Ok(s.to_string())
            } else {
                Err(Error::invalid(format!("invalid suffix {s:?}")))
            }
        })
        .collect()
}

/// The version file names an object state keeps on disk: the current data
/// or tombstone, and a metadata update newer than data.
pub(crate) fn version_names(
    current: Timestamp,
    deleted: bool,
    meta: Option<Timestamp>,
) -> Vec<String> {
    let ext = if deleted { "ts" } else { "data" };
    let mut v = vec![format!("{}.{ext}", current.internal())];
    if let Some(m) = meta.filter(|m| !deleted && *m > current) {
        v.push(format!("{}.meta", m.internal()));
    }
    v
}

/// Accumulates one suffix's hash; feed hash directories in ascending order.
#[derive(Debug, Default)]
pub(crate) struct SuffixHasher {
    md5: Md5,
    entries: usize,
}

impl SuffixHasher {
    /// Adds one hash directory with its kept file names (any order).
    pub(crate) fn add(&mut self, hash: &PathHash, mut names: Vec<String>) {
        if names.is_empty() {
            return;
        }
        names.sort();
        self.md5.update(hash.to_hex().as_bytes());
        for n in names {
            self.md5.update(b"/");
            self.md5.update(n.as_bytes());
        }
        self.md5.update(b"\n");
        self.entries += 1;
    }

    /// The hash, or `None` when no directory had any version.
    pub(crate) fn finish(self) -> Option<String> {
        (self.entries > 0).then(|| hex::encode(self.md5.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_lists_parse_strictly() {
        assert_eq!(parse_suffixes("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_suffixes("abc-01f").unwrap(), vec!["abc", "01f"]);
        assert!(parse_suffixes("ABC").is_err());
        assert!(parse_suffixes("abcd").is_err());
        assert!(parse_suffixes("abc-").is_err());
        assert!(parse_suffixes("../").is_err());
    }

    #[test]
    fn hash_depends_on_names_and_order_of_input_does_not_matter() {
        let h = PathHash([1; 16]);
        let t1 = Timestamp::from_ticks(100_000);
        let t2 = Timestamp::from_ticks(200_000);
        let mut a = SuffixHasher::default();
        a.add(&h, version_names(t1, false, Some(t2)));
        let mut b = SuffixHasher::default();
        b.add(
            &h,
            version_names(t1, false, Some(t2))
                .into_iter()
                .rev()
                .collect(),
        );
        let mut c = SuffixHasher::default();
        c.add(&h, version_names(t1, false, None));
        let (a, b, c) = (a.finish(), b.finish(), c.finish());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.is_some());
        assert_eq!(SuffixHasher::default().finish(), None);
        // A tombstone keeps no metadata update.
        assert_eq!(
            version_names(t2, true, Some(t2)),
            vec![format!("{}.ts", t2.internal())]
        );
    }
}
