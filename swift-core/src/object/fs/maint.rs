//! Maintenance of the filesystem backend for the daemons: quarantine,
//! tombstone reclaim, partition removal. Blocking code.

use std::io;
use std::path::Path;

use super::format::Kind;
use super::hashes::{self, PartLocks};
use super::layout;
use super::write::{lock_stripe, Locks};
use crate::hash::PathHash;
use crate::object::replication::valid_suffix;
use crate::timestamp::Timestamp;

/// The stripe of the per-hash write lock for `hash`.
pub(super) fn stripe_of(hash: &PathHash, locks: &Locks) -> usize {
    usize::from(hash.0[15]) % locks.len().max(1)
}

/// Moves the hash directory `hash_dir` to
/// `<device>/quarantined/objects/<hash>[-<uuid>]` and invalidates its suffix.
pub(super) fn quarantine(
    dev_dir: &Path,
    hash_dir: &Path,
    hash: &PathHash,
    locks: &Locks,
    part_locks: &PartLocks,
) -> io::Result<()> {
    let _g = lock_stripe(locks, stripe_of(hash, locks));
    if !hash_dir.exists() {
        return Ok(());
    }
    let qdir = dev_dir.join("quarantined").join("objects");
    std::fs::create_dir_all(&qdir)?;
    let mut target = qdir.join(hash.to_hex());
    if target.exists() {
        target = qdir.join(format!(
            "{}-{}",
            hash.to_hex(),
            uuid::Uuid::new_v4().simple()
        ));
    }
    std::fs::rename(hash_dir, &target)?;
    if let Some(part_dir) = hash_dir.parent().and_then(Path::parent) {
        hashes::invalidate(part_locks, part_dir, &hash.suffix())?;
    }
    Ok(())
}

/// Removes hash directories of a partition whose current version is a
/// tombstone older than `before`; returns how many.
pub(super) fn reclaim(
    part_dir: &Path,
    before: Timestamp,
    locks: &Locks,
    part_locks: &PartLocks,
) -> io::Result<u64> {
    let mut removed = 0;
    let suffixes = match std::fs::read_dir(part_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in suffixes {
        let entry = entry?;
        let Some(suffix) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !valid_suffix(&suffix) {
            continue;
        }
        let mut changed = false;
        for (hash, dir) in hashes::hash_dirs(&entry.path())? {
            let _g = lock_stripe(locks, stripe_of(&hash, locks));
            let scan = layout::scan(&dir)?;
            match scan.current {
                Some((ts, Kind::Tombstone)) if ts < before => {
                    for (_, _, name) in &scan.files {
                        std::fs::remove_file(dir.join(name))?;
                    }
                    // Fails harmlessly if something else is left in it.
                    let _ = std::fs::remove_dir(&dir);
                    removed += 1;
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            hashes::invalidate(part_locks, part_dir, &suffix)?;
        }
    }
    Ok(removed)
}

/// Removes a partition directory and everything in it.
pub(super) fn remove_partition(part_dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(part_dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
