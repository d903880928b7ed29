//! The filesystem [`ObjectBackend`]: Swift's on-disk layout,
//! `<devices>/<device>/objects/<part>/<suffix>/<hash>/<timestamp>.data|.ts|.meta`,
//! with metadata in a trailer of the `.data` file (no xattrs) and in JSON
//! `.meta` files. Writes go to `<devices>/<device>/tmp/`, are fsynced and
//! renamed into place.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{
    valid_device_name, BackendCapabilities, MetadataUpdate, NewObject, ObjectBackend,
    ObjectLocation, ObjectMetadata, ObjectRead, ObjectState, PutOptions, ReadOptions, SuffixHashes,
};
use crate::error::{Error, Result};
use crate::hash::PathHash;
use crate::node::NodeConfig;
use crate::stream::ByteStream;
use crate::timestamp::Timestamp;

mod format;
mod hashes;
mod layout;
mod maint;
mod read;
mod write;

use format::Kind;

/// Stripes of the per-hash write lock.
const LOCK_STRIPES: usize = 64;

/// Object versions as files under a node's devices directory.
#[derive(Debug)]
pub struct FsObjectBackend {
    config: NodeConfig,
    // Serialises check-then-rename of writes to one hash directory; readers
    // need no lock because renames are atomic.
    locks: Arc<Vec<Mutex<()>>>,
    // Guards each partition's suffix-hash cache files.
    part_locks: Arc<hashes::PartLocks>,
}

impl FsObjectBackend {
    /// A backend over `config.devices`.
    pub fn new(config: NodeConfig) -> Self {
        Self {
            config,
            locks: Arc::new((0..LOCK_STRIPES).map(|_| Mutex::new(())).collect()),
            part_locks: Arc::new(hashes::PartLocks::new(LOCK_STRIPES)),
        }
    }

    /// The directory of one device.
    fn device_dir(&self, device: &str) -> Result<PathBuf> {
        if !valid_device_name(device) {
            return Err(insufficient(device));
        }
        Ok(self.config.devices.join(device))
    }

    /// The device directory, checked to exist when `mount_check` is on.
    async fn checked_device(&self, device: &str) -> Result<PathBuf> {
        let dir = self.device_dir(device)?;
        if self.config.mount_check {
            match tokio::fs::metadata(&dir).await {
                Ok(m) if m.is_dir() => {}
                _ => return Err(insufficient(device)),
            }
        }
        Ok(dir)
    }

    /// `<device>/objects/<part>`.
    async fn part_dir(&self, device: &str, partition: u32) -> Result<PathBuf> {
        Ok(self
            .checked_device(device)
            .await?
            .join("objects")
            .join(partition.to_string()))
    }

    fn hash_dir(dev_dir: &Path, loc: &ObjectLocation) -> PathBuf {
        dev_dir
            .join("objects")
            .join(loc.partition.to_string())
            .join(loc.hash.suffix())
            .join(loc.hash.to_hex())
    }
}

fn insufficient(device: &str) -> Error {
    Error::InsufficientStorage {
        device: device.to_string(),
    }
}

/// Maps an I/O error: a full disk is `InsufficientStorage` of `device`, a
/// missing file `NotFound` of `what`.
pub(super) fn io_err(device: &str, what: &str, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::StorageFull => insufficient(device),
        io::ErrorKind::NotFound => Error::not_found(what.to_string()),
        _ => Error::Backend {
            backend: "fs",
            source: Box::new(e),
        },
    }
}

/// Runs blocking filesystem work off the async workers.
async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    crate::error::run_blocking("fs", f).await
}

/// Sorted names of the subdirectories of `dir` that `keep` accepts; a
/// missing directory lists nothing.
fn list_dirs(dir: &Path, device: &str, keep: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(device, "directory", e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(device, "directory", e))?;
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            if keep(name) {
                out.push(name.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}

#[async_trait]
impl ObjectBackend for FsObjectBackend {
    fn capabilities(&self) -> BackendCapabilities {
        BackendCapabilities {
            checks_devices: self.config.mount_check,
            verifies_on_read: true,
            persistent: true,
        }
    }

    async fn put(
        &self,
        loc: &ObjectLocation,
        obj: NewObject,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectMetadata> {
        let dev = self.checked_device(&loc.device).await?;
        write::put(self, dev, loc, obj, body, opts).await
    }

    async fn delete(&self, loc: &ObjectLocation, timestamp: Timestamp) -> Result<()> {
        let dev = self.checked_device(&loc.device).await?;
        write::write_marker(self, dev, loc, timestamp, Kind::Tombstone, Vec::new()).await
    }

    async fn post(&self, loc: &ObjectLocation, update: MetadataUpdate) -> Result<()> {
        let dev = self.checked_device(&loc.device).await?;
        let bytes = format::encode_meta(&update)?;
        write::write_marker(self, dev, loc, update.timestamp, Kind::Meta, bytes).await
    }

    async fn open(&self, loc: &ObjectLocation) -> Result<ObjectState> {
        let dev = self.checked_device(&loc.device).await?;
        let dir = Self::hash_dir(&dev, loc);
        let device = loc.device.clone();
        blocking(move || read::open_state(&dir, &device)).await
    }

    async fn read(&self, loc: &ObjectLocation, opts: ReadOptions) -> Result<ObjectRead> {
        let dev = self.checked_device(&loc.device).await?;
        let dir = Self::hash_dir(&dev, loc);
        read::read(dir, loc.clone(), opts).await
    }

    async fn list_partitions(&self, device: &str) -> Result<Vec<u32>> {
        let dir = self.checked_device(device).await?.join("objects");
        let device = device.to_string();
        blocking(move || {
            let names = list_dirs(&dir, &device, |n| n.parse::<u32>().is_ok())?;
            let mut parts: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
            parts.sort_unstable();
            Ok(parts)
        })
        .await
    }

    async fn list_suffixes(&self, device: &str, partition: u32) -> Result<Vec<String>> {
        let dir = self
            .checked_device(device)
            .await?
            .join("objects")
            .join(partition.to_string());
        let device = device.to_string();
        blocking(move || {
            list_dirs(&dir, &device, |n| {
                n.len() == 3
                    && n.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            })
        })
        .await
    }

    async fn list_hashes(
        &self,
        device: &str,
        partition: u32,
        suffix: &str,
    ) -> Result<Vec<PathHash>> {
        if suffix.len() != 3 || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!("invalid suffix {suffix:?}")));
        }
        let dir = self
            .checked_device(device)
            .await?
            .join("objects")
            .join(partition.to_string())
            .join(suffix);
        let device = device.to_string();
        blocking(move || {
            let names = list_dirs(&dir, &device, |n| PathHash::from_hex(n).is_some())?;
            Ok(names.iter().filter_map(|n| PathHash::from_hex(n)).collect())
        })
        .await
    }

    async fn suffix_hashes(
        &self,
        device: &str,
        partition: u32,
        recalculate: &[String],
    ) -> Result<SuffixHashes> {
        let dir = self.part_dir(device, partition).await?;
        let (locks, device, recalc) = (
            self.part_locks.clone(),
            device.to_string(),
            recalculate.to_vec(),
        );
        blocking(move || {
            hashes::get_hashes(&locks, &dir, &recalc).map_err(|e| io_err(&device, "hashes", e))
        })
        .await
    }

    async fn quarantine(&self, loc: &ObjectLocation) -> Result<()> {
        let dev = self.checked_device(&loc.device).await?;
        let dir = Self::hash_dir(&dev, loc);
        let (locks, part_locks, loc) = (self.locks.clone(), self.part_locks.clone(), loc.clone());
        blocking(move || {
            maint::quarantine(&dev, &dir, &loc.hash, &locks, &part_locks)
                .map_err(|e| io_err(&loc.device, "quarantine", e))
        })
        .await
    }

    async fn reclaim_tombstones(
        &self,
        device: &str,
        partition: u32,
        before: Timestamp,
    ) -> Result<u64> {
        let dir = self.part_dir(device, partition).await?;
        let (locks, part_locks, device) = (
            self.locks.clone(),
            self.part_locks.clone(),
            device.to_string(),
        );
        blocking(move || {
            maint::reclaim(&dir, before, &locks, &part_locks)
                .map_err(|e| io_err(&device, "reclaim", e))
        })
        .await
    }

    async fn remove_partition(&self, device: &str, partition: u32) -> Result<()> {
        let dir = self.part_dir(device, partition).await?;
        let device = device.to_string();
        blocking(move || maint::remove_partition(&dir).map_err(|e| io_err(&device, "partition", e)))
            .await
    }
}

#[cfg(test)]
mod tests;
