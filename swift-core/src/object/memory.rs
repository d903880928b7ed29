//! An in-memory [`ObjectBackend`]: a real backend for tests and embedding.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest, Md5};

use super::replication::{version_names, SuffixHasher};
use super::{
    check_newer, check_range, merge_update, valid_device_name, BackendCapabilities, MetadataUpdate,
    NewObject, ObjectBackend, ObjectLocation, ObjectMetadata, ObjectRead, ObjectState, PutOptions,
    ReadOptions, SuffixHashes,
};
use crate::error::{Error, Result};
use crate::hash::PathHash;
use crate::stream::{self, ByteStream};
use crate::timestamp::Timestamp;

#[derive(Debug, Clone)]
enum Current {
    Data { meta: ObjectMetadata, body: Bytes },
    Tombstone(Timestamp),
}

impl Current {
    fn timestamp(&self) -> Timestamp {
        match self {
            Current::Data { meta, .. } => meta.timestamp,
            Current::Tombstone(t) => *t,
        }
    }
}

#[derive(Debug, Clone)]
struct Slot {
    current: Current,
    update: Option<MetadataUpdate>,
}

/// Keeps every object in a map in memory; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryObjectBackend {
    devices: Option<BTreeSet<String>>,
    slots: Mutex<BTreeMap<ObjectLocation, Slot>>,
}

impl MemoryObjectBackend {
    /// A backend that accepts any device name.
    pub fn new() -> Self {
        Self::default()
    }

    /// A backend with exactly these devices; others fail with
    /// `Error::InsufficientStorage`.
    pub fn with_devices<I, S>(devices: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            devices: Some(devices.into_iter().map(Into::into).collect()),
            slots: Mutex::default(),
        }
    }

    fn check_device(&self, device: &str) -> Result<()> {
        let known = match &self.devices {
            Some(set) => set.contains(device),
            None => true,
        };
        if known && valid_device_name(device) {
            Ok(())
        } else {
            Err(Error::InsufficientStorage {
                device: device.to_string(),
            })
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ObjectLocation, Slot>> {
        // A panic while holding the lock cannot leave a half-applied write:
        // every write is a single insert.
        match self.slots.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

#[async_trait]
impl ObjectBackend for MemoryObjectBackend {
    fn capabilities(&self) -> BackendCapabilities {
        BackendCapabilities {
            checks_devices: self.devices.is_some(),
            verifies_on_read: false,
            persistent: false,
        }
    }

    async fn put(
        &self,
        loc: &ObjectLocation,
        obj: NewObject,
        mut body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectMetadata> {
        self.check_device(&loc.device)?;
        let mut buf = BytesMut::new();
        let mut hasher = Md5::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            buf.extend_from_slice(&chunk);
        }
        let etag = hex::encode(hasher.finalize());
        let len = buf.len() as u64;
        if let Some(want) = &opts.expected_etag {
            if !want.eq_ignore_ascii_case(&etag) {
                return Err(Error::Corrupt {
                    what: format!("etag {want} != body md5 {etag}"),
                });
            }
        }
        if let Some(want) = opts.expected_length {
            if want != len {
                return Err(Error::invalid(format!(
                    "body of {len} bytes, expected {want}"
                )));
            }
        }
        let meta = ObjectMetadata {
            name: obj.name,
            timestamp: obj.timestamp,
            meta_timestamp: None,
            content_type: obj.content_type,
            etag,
            content_length: len,
            user_meta: obj.user_meta,
            system_meta: obj.system_meta,
        };
        let mut slots = self.lock();
        let old = slots.get(loc);
        check_newer(loc, old.map(|s| s.current.timestamp()), obj.timestamp)?;
        let update = old
            .and_then(|s| s.update.clone())
            .filter(|u| u.timestamp > obj.timestamp);
        let merged = merge_update(meta.clone(), update.as_ref());
        slots.insert(
            loc.clone(),
            Slot {
                current: Current::Data {
                    meta,
                    body: buf.freeze(),
                },
                update,
            },
        );
        Ok(merged)
    }

    async fn delete(&self, loc: &ObjectLocation, timestamp: Timestamp) -> Result<()> {
        self.check_device(&loc.device)?;
        let mut slots = self.lock();
        check_newer(
            loc,
            slots.get(loc).map(|s| s.current.timestamp()),
            timestamp,
        )?;
        slots.insert(
            loc.clone(),
            Slot {
                current: Current::Tombstone(timestamp),
                update: None,
            },
        );
        Ok(())
    }

    async fn post(&self, loc: &ObjectLocation, update: MetadataUpdate) -> Result<()> {
        self.check_device(&loc.device)?;
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(loc) else {
            return Err(Error::not_found(format!("object {loc}")));
        };
        let Current::Data { meta, .. } = &slot.current else {
            return Err(Error::not_found(format!("object {loc}")));
        };
        let newest = slot
            .update
            .as_ref()
            .map_or(meta.timestamp, |u| u.timestamp.max(meta.timestamp));
        check_newer(loc, Some(newest), update.timestamp)?;
        slot.update = Some(update);
        Ok(())
    }

    async fn open(&self, loc: &ObjectLocation) -> Result<ObjectState> {
        self.check_device(&loc.device)?;
        let slots = self.lock();
        Ok(match slots.get(loc) {
            None => ObjectState::Missing,
            Some(Slot {
                current: Current::Tombstone(t),
                ..
            }) => ObjectState::Deleted { timestamp: *t },
            Some(Slot {
                current: Current::Data { meta, .. },
                update,
            }) => ObjectState::Present(merge_update(meta.clone(), update.as_ref())),
        })
    }

    async fn read(&self, loc: &ObjectLocation, opts: ReadOptions) -> Result<ObjectRead> {
        self.check_device(&loc.device)?;
        let slots = self.lock();
        let Some(Slot {
            current: Current::Data { meta, body },
            update,
        }) = slots.get(loc)
        else {
            return Err(Error::not_found(format!("object {loc}")));
        };
        if opts.timestamp.is_some_and(|t| t != meta.timestamp) {
            return Err(Error::not_found(format!("object {loc} version")));
        }
        let r = check_range(opts.range, body.len() as u64)?;
        // Offsets fit in usize: they are within an in-memory buffer.
        let part = body.slice(r.start as usize..r.end as usize);
        Ok(ObjectRead {
            metadata: merge_update(meta.clone(), update.as_ref()),
            body: stream::once(part),
        })
    }

    async fn list_partitions(&self, device: &str) -> Result<Vec<u32>> {
        self.check_device(device)?;
        let slots = self.lock();
        let set: BTreeSet<u32> = slots
            .keys()
            .filter(|k| k.device == device)
            .map(|k| k.partition)
            .collect();
        Ok(set.into_iter().collect())
    }

    async fn list_suffixes(&self, device: &str, partition: u32) -> Result<Vec<String>> {
        self.check_device(device)?;
        let slots = self.lock();
        let set: BTreeSet<String> = slots
            .keys()
            .filter(|k| k.device == device && k.partition == partition)
            .map(|k| k.hash.suffix())
            .collect();
        Ok(set.into_iter().collect())
    }

    async fn list_hashes(
        &self,
        device: &str,
        partition: u32,
        suffix: &str,
    ) -> Result<Vec<PathHash>> {
        self.check_device(device)?;
        let slots = self.lock();
        Ok(slots
            .keys()
            .filter(|k| k.device == device && k.partition == partition && k.hash.suffix() == suffix)
            .map(|k| k.hash)
            .collect())
    }

    async fn suffix_hashes(
        &self,
        device: &str,
        partition: u32,
        _recalculate: &[String],
    ) -> Result<SuffixHashes> {
        self.check_device(device)?;
        let slots = self.lock();
        // Always computed fresh: there is no cache to go stale.
        let mut hashers: BTreeMap<String, SuffixHasher> = BTreeMap::new();
        for (loc, slot) in slots
            .iter()
            .filter(|(k, _)| k.device == device && k.partition == partition)
        {
            let names = match &slot.current {
                Current::Tombstone(t) => version_names(*t, true, None),
                Current::Data { meta, .. } => version_names(
                    meta.timestamp,
                    false,
                    slot.update.as_ref().map(|u| u.timestamp),
                ),
            };
            hashers
                .entry(loc.hash.suffix())
                .or_default()
                .add(&loc.hash, names);
        }
        Ok(hashers
            .into_iter()
            .filter_map(|(s, h)| Some((s, h.finish()?)))
            .collect())
    }

    async fn quarantine(&self, loc: &ObjectLocation) -> Result<()> {
        self.check_device(&loc.device)?;
        self.lock().remove(loc);
        Ok(())
    }

    async fn reclaim_tombstones(
        &self,
        device: &str,
        partition: u32,
        before: Timestamp,
    ) -> Result<u64> {
        self.check_device(device)?;
        let mut slots = self.lock();
        let n = slots.len();
        slots.retain(|k, s| {
            !(k.device == device
                && k.partition == partition
                && matches!(s.current, Current::Tombstone(t) if t < before))
        });
        Ok((n - slots.len()) as u64)
    }

    async fn remove_partition(&self, device: &str, partition: u32) -> Result<()> {
        self.check_device(device)?;
        self.lock()
            .retain(|k, _| !(k.device == device && k.partition == partition));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_backend_conforms() {
        let b = MemoryObjectBackend::with_devices(["d1", "d2"]);
        crate::object::conformance::run_all(&b).await;
    }

    #[tokio::test]
    async fn open_device_list_accepts_anything() {
        let b = MemoryObjectBackend::new();
        assert!(!b.capabilities().checks_devices);
        assert!(b.list_partitions("whatever").await.unwrap().is_empty());
        assert!(b.list_partitions("..").await.is_err());
    }
}
