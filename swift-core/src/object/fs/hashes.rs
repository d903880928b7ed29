//! Suffix hashes of the filesystem backend, cached per partition.
//!
//! `objects/<part>/hashes.json` maps each suffix to its hash, or `null`
//! when it must be recomputed. Every write into a suffix appends the suffix
//! to `objects/<part>/hashes.invalid` (cheap, under the partition lock);
//! reading the hashes folds that file into the cache, rehashes only the
//! invalid suffixes (without the lock) and writes the cache back atomically
//! (temp file and rename). A suffix invalidated while it was being rehashed
//! stays invalid for the next read. Blocking code.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::layout;
use crate::hash::PathHash;
use crate::object::replication::{valid_suffix, version_names, SuffixHasher};
use crate::object::SuffixHashes;

/// The cache file of a partition.
pub(super) const HASHES_FILE: &str = "hashes.json";
/// Suffixes invalidated since the cache was last written, one per line.
pub(super) const INVALID_FILE: &str = "hashes.invalid";

/// Per-partition locks (striped) guarding the two files above.
#[derive(Debug)]
pub(super) struct PartLocks(Vec<Mutex<()>>);

impl PartLocks {
    pub(super) fn new(stripes: usize) -> Self {
        Self((0..stripes.max(1)).map(|_| Mutex::new(())).collect())
    }

    fn lock(&self, part_dir: &Path) -> Option<MutexGuard<'_, ()>> {
        let mut h: usize = 5381;
        for b in part_dir.as_os_str().as_encoded_bytes() {
            h = h.wrapping_mul(33) ^ usize::from(*b);
        }
        // A poisoned stripe only means a panic elsewhere; the files stay
        // consistent because the cache is replaced by rename.
        self.0.get(h % self.0.len()).map(|m| match m.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        })
    }
}

type Cache = BTreeMap<String, Option<String>>;

fn read_cache(part_dir: &Path) -> Option<Cache> {
    let bytes = std::fs::read(part_dir.join(HASHES_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_cache(part_dir: &Path, cache: &Cache) -> io::Result<()> {
    let tmp = part_dir.join(format!(
        ".{HASHES_FILE}.{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let bytes = serde_json::to_vec(cache).map_err(io::Error::other)?;
    std::fs::write(&tmp, bytes)?;
    let res = std::fs::rename(&tmp, part_dir.join(HASHES_FILE));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn read_invalid(part_dir: &Path) -> io::Result<BTreeSet<String>> {
    match std::fs::read_to_string(part_dir.join(INVALID_FILE)) {
        Ok(s) => Ok(s
            .lines()
            .filter(|l| valid_suffix(l))
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(e),
    }
}

/// Marks `suffix` of the partition at `part_dir` for rehashing. Called
/// after every change inside the suffix.
pub(super) fn invalidate(locks: &PartLocks, part_dir: &Path, suffix: &str) -> io::Result<()> {
    let _g = locks.lock(part_dir);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(part_dir.join(INVALID_FILE))?;
    f.write_all(format!("{suffix}\n").as_bytes())
}

/// Suffix directories present in a partition.
fn suffix_dirs(part_dir: &Path) -> io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(part_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e?;
        if let Some(n) = e.file_name().to_str() {
            if valid_suffix(n) && e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(n.to_string());
            }
        }
    }
    Ok(out)
}

/// Hash directories of a suffix, ascending.
pub(super) fn hash_dirs(suffix_dir: &Path) -> io::Result<Vec<(PathHash, PathBuf)>> {
    let entries = match std::fs::read_dir(suffix_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e?;
        if let Some(h) = e.file_name().to_str().and_then(PathHash::from_hex) {
            out.push((h, e.path()));
        }
    }
    out.sort_by_key(|(h, _)| *h);
    Ok(out)
}

/// Hashes one suffix directory from the files it holds; `None` if empty.
fn hash_suffix(suffix_dir: &Path) -> io::Result<Option<String>> {
    let mut hasher = SuffixHasher::default();
    for (hash, dir) in hash_dirs(suffix_dir)? {
        let scan = layout::scan(&dir)?;
        if let Some((ts, kind)) = scan.current {
            let deleted = kind == super::format::Kind::Tombstone;
            hasher.add(&hash, version_names(ts, deleted, scan.meta));
        }
    }
    Ok(hasher.finish())
}

/// The suffix hashes of the partition at `part_dir`, rehashing the
/// suffixes in `recalculate`, those invalidated since the last call and
/// those not cached yet.
pub(super) fn get_hashes(
    locks: &PartLocks,
    part_dir: &Path,
    recalculate: &[String],
) -> io::Result<SuffixHashes> {
    if !part_dir.is_dir() {
        return Ok(SuffixHashes::new());
    }
    let mut cache = {
        let _g = locks.lock(part_dir);
        let mut cache = read_cache(part_dir).unwrap_or_default();
        let on_disk = suffix_dirs(part_dir)?;
        cache.retain(|s, _| on_disk.contains(s));
        for s in on_disk {
            cache.entry(s).or_insert(None);
        }
        for s in read_invalid(part_dir)?
            .into_iter()
            .chain(recalculate.iter().cloned())
        {
            if valid_suffix(&s) {
                cache.insert(s, None);
            }
        }
        write_cache(part_dir, &cache)?;
        std::fs::write(part_dir.join(INVALID_FILE), b"")?;
        cache
    };
    let mut computed = BTreeMap::new();
    for (s, h) in &cache {
        if h.is_none() {
            computed.insert(s.clone(), hash_suffix(&part_dir.join(s))?);
        }
    }
    {
        let _g = locks.lock(part_dir);
        // Suffixes written to meanwhile keep `null` in the cache.
        let again = read_invalid(part_dir)?;
        for (s, h) in &computed {
            if !again.contains(s) {
                cache.insert(s.clone(), h.clone());
            }
        }
        cache.retain(|s, h| h.is_some() || again.contains(s) || !computed.contains_key(s));
        write_cache(part_dir, &cache)?;
    }
    for (s, h) in computed {
        match h {
            Some(h) => {
                cache.insert(s, Some(h));
            }
            None => {
                cache.remove(&s);
            }
        }
    }
    Ok(cache
        .into_iter()
        .filter_map(|(s, h)| Some((s, h?)))
        .collect())
}
