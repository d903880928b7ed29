//! Object storage on a node's devices: the [`ObjectBackend`] trait, its
//! filesystem and in-memory backends, and its conformance suite.
//!
//! A backend stores, per object location (device, partition, path hash),
//! versions keyed by [`Timestamp`]: data versions, tombstones and
//! metadata-only updates. The newest data version or tombstone is the
//! object's state; a metadata update newer than that data replaces its user
//! metadata. The object server ([`crate::node::ObjectServer`]) maps Swift's
//! backend protocol onto these calls.
//!
//! ```
//! # tokio_test_block(async {
//! use swift_core::object::{MemoryObjectBackend, NewObject, ObjectBackend, ObjectLocation,
//!     PutOptions, ReadOptions};
//! use swift_core::hash::HashConfig;
//! use swift_core::timestamp::Timestamp;
//!
//! let backend = MemoryObjectBackend::new();
//! let hash = HashConfig::new("p", "s").hash_path("AUTH_a", Some("c"), Some("o"));
//! let loc = ObjectLocation::new("sda1", 0, hash);
//! let obj = NewObject::new("/AUTH_a/c/o", Timestamp::from_ticks(100_000), "text/plain");
//! let meta = backend
//!     .put(&loc, obj, swift_core::stream::once("hello"), PutOptions::default())
//!     .await
//!     .unwrap();
//! assert_eq!(meta.etag, "5d41402abc4b2a76b9719d911017c592");
//! let read = backend.read(&loc, ReadOptions::default()).await.unwrap();
//! let body = swift_core::stream::collect(read.body, 1024).await.unwrap();
//! assert_eq!(&body[..], b"hello");
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::hash::PathHash;
use crate::stream::ByteStream;
use crate::timestamp::Timestamp;

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod fs;
pub mod memory;
pub mod replication;
pub(crate) mod verify;

pub use fs::FsObjectBackend;
pub use memory::MemoryObjectBackend;
pub use replication::SuffixHashes;

/// Where an object lives on a node: device, partition and path hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectLocation {
    /// Device (directory) name, e.g. `sda1`.
    pub device: String,
    /// Partition number in the object ring.
    pub partition: u32,
    /// MD5 path hash of `/account/container/object`.
    pub hash: PathHash,
}

impl ObjectLocation {
    /// A location from its parts.
    pub fn new(device: impl Into<String>, partition: u32, hash: PathHash) -> Self {
        Self {
            device: device.into(),
            partition,
            hash,
        }
    }
}

impl fmt::Display for ObjectLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.device, self.partition, self.hash)
    }
}

/// A new data version to write: everything but what the body determines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObject {
    /// The object's full name, `/account/container/object`.
    pub name: String,
    /// The version's timestamp (`X-Timestamp`).
    pub timestamp: Timestamp,
    /// `Content-Type`.
    pub content_type: String,
    /// Metadata a later [`ObjectBackend::post`] replaces, as ordered
    /// name/value pairs (lowercase names, e.g. `x-object-meta-color`).
    pub user_meta: Vec<(String, String)>,
    /// Metadata bound to this data version, which a later
    /// [`ObjectBackend::post`] keeps (e.g. `x-object-sysmeta-*`).
    pub system_meta: Vec<(String, String)>,
}

impl NewObject {
    /// A version with no metadata beyond its name, timestamp and type.
    pub fn new(
        name: impl Into<String>,
        timestamp: Timestamp,
        content_type: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            timestamp,
            content_type: content_type.into(),
            user_meta: Vec::new(),
            system_meta: Vec::new(),
        }
    }
}

/// Optional checks of [`ObjectBackend::put`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// The MD5 hex digest the body must have (case-insensitive).
    pub expected_etag: Option<String>,
    /// The exact number of bytes the body must have.
    pub expected_length: Option<u64>,
}

/// A metadata-only update (Swift's POST, a `.meta` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataUpdate {
    /// The update's timestamp; must be newer than the current state.
    pub timestamp: Timestamp,
    /// The new user metadata; replaces the old entirely.
    pub user_meta: Vec<(String, String)>,
}

/// The metadata of the current data version, merged with its newest
/// metadata update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMetadata {
    /// The object's full name, `/account/container/object`.
    pub name: String,
    /// Timestamp of the data version.
    pub timestamp: Timestamp,
    /// Timestamp of the metadata update in effect, if any (newer than
    /// `timestamp`).
    pub meta_timestamp: Option<Timestamp>,
    /// `Content-Type` of the data version.
    pub content_type: String,
    /// Lowercase MD5 hex digest of the body.
    pub etag: String,
    /// Body length in bytes.
    pub content_length: u64,
    /// User metadata: the data version's, or the newest update's.
    pub user_meta: Vec<(String, String)>,
    /// The data version's system metadata.
    pub system_meta: Vec<(String, String)>,
}

impl ObjectMetadata {
    /// The newest timestamp of the object: the metadata update's if any,
    /// else the data's (Swift's `X-Timestamp` of a merged object).
    pub fn effective_timestamp(&self) -> Timestamp {
        self.meta_timestamp.unwrap_or(self.timestamp)
    }
}

/// The current state of an object location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectState {
    /// No version at all.
    Missing,
    /// The newest version is a tombstone.
    Deleted {
        /// The tombstone's timestamp.
        timestamp: Timestamp,
    },
    /// The newest version is data.
    Present(ObjectMetadata),
}

impl ObjectState {
    /// The timestamp of the newest data version or tombstone.
    pub fn timestamp(&self) -> Option<Timestamp> {
        match self {
            ObjectState::Missing => None,
            ObjectState::Deleted { timestamp } => Some(*timestamp),
            ObjectState::Present(m) => Some(m.timestamp),
        }
    }
}

/// A byte range, `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// Optional arguments of [`ObjectBackend::read`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Read only these bytes; `None` reads the whole body.
    pub range: Option<ByteRange>,
    /// Read only if the current data version has this timestamp (for
    /// several reads of one version, e.g. multi-range responses).
    pub timestamp: Option<Timestamp>,
}

/// An open data version: its metadata and a stream of (part of) its body.
pub struct ObjectRead {
    /// Metadata of the version being read.
    pub metadata: ObjectMetadata,
    /// The requested bytes.
    pub body: ByteStream,
}

impl fmt::Debug for ObjectRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectRead")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// What a backend supports beyond the required contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendCapabilities {
    /// Unknown devices fail with `Error::InsufficientStorage`; when false,
    /// every device name is accepted.
    pub checks_devices: bool,
    /// Whole-body reads verify the stored ETag and end the stream with
    /// `Error::Corrupt` on mismatch.
    pub verifies_on_read: bool,
    /// Data survives a restart of the process.
    pub persistent: bool,
}

/// Stores object versions on a node's devices. Shared across tasks.
///
/// Common errors of every method: a device that does not exist (or a name
/// that cannot be a device, such as `..` or one containing `/`) fails with
/// `Error::InsufficientStorage` when [`BackendCapabilities::checks_devices`]
/// is set; a full device fails with `Error::InsufficientStorage`.
#[async_trait]
pub trait ObjectBackend: Send + Sync + fmt::Debug + 'static {
    /// What this backend supports.
    fn capabilities(&self) -> BackendCapabilities;

    /// Writes a new data version from `body` and returns the metadata now
    /// current. The ETag is the MD5 hex digest of the body and the length
    /// its byte count.
    ///
    /// Atomic: a partly written version is never visible, and on any error
    /// (including an error from `body`) the previous state is unchanged and
    /// no temporary data is left behind. Fails with `Error::Corrupt` when
    /// `opts.expected_etag` differs from the body's MD5, with
    /// `Error::InvalidInput` when `opts.expected_length` differs from the
    /// body's length, and with `Error::Conflict` when a data version or
    /// tombstone with an equal or newer timestamp exists. After success,
    /// older data versions, tombstones and metadata updates are removed;
    /// a metadata update newer than the new version stays in effect.
    async fn put(
        &self,
        loc: &ObjectLocation,
        obj: NewObject,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectMetadata>;

    /// Writes a tombstone at `timestamp`, so the object reads as deleted.
    /// Succeeds whether or not data existed. Fails with `Error::Conflict`
    /// when a data version or tombstone with an equal or newer timestamp
    /// exists. After success, older versions are removed.
    async fn delete(&self, loc: &ObjectLocation, timestamp: Timestamp) -> Result<()>;

    /// Writes a metadata-only update: the user metadata is replaced, while
    /// content type, ETag, length and system metadata of the data version
    /// are kept. Fails with `Error::NotFound` when the current state is not
    /// data, and with `Error::Conflict` when the update's timestamp is not
    /// newer than both the data version and the update in effect.
    async fn post(&self, loc: &ObjectLocation, update: MetadataUpdate) -> Result<()>;

    /// The current state: the newest data version or tombstone wins, merged
    /// with the newest metadata update newer than that data. A location with
    /// no versions is [`ObjectState::Missing`] (not an error).
    async fn open(&self, loc: &ObjectLocation) -> Result<ObjectState>;

    /// Opens the current data version for reading. Fails with
    /// `Error::NotFound` when the current state is not data, or is not the
    /// version `opts.timestamp` asks for; with `Error::InvalidInput` when
    /// `opts.range` is empty or ends past the body. The stream yields
    /// exactly the requested bytes; the read sees one version even if a
    /// newer one is written meanwhile.
    async fn read(&self, loc: &ObjectLocation, opts: ReadOptions) -> Result<ObjectRead>;

    /// Partitions on `device` that hold any object version, ascending. A
    /// partition whose versions were all removed may still be listed.
    async fn list_partitions(&self, device: &str) -> Result<Vec<u32>>;

    /// Suffixes (last three hex digits of the hash) in a partition that hold
    /// any version, ascending; an emptied suffix may still be listed.
    async fn list_suffixes(&self, device: &str, partition: u32) -> Result<Vec<String>>;

    /// Hashes in a suffix of a partition that hold any version, ascending.
    async fn list_hashes(
        &self,
        device: &str,
        partition: u32,
        suffix: &str,
    ) -> Result<Vec<PathHash>>;

    /// The hash of every non-empty suffix of a partition (see
    /// [`replication`]), ascending. Suffixes in `recalculate` are rehashed
    /// from what is stored; others may come from a cache that every write
    /// into the suffix invalidates, so the answer always reflects completed
    /// writes. A partition with no versions gives an empty map.
    async fn suffix_hashes(
        &self,
        device: &str,
        partition: u32,
        recalculate: &[String],
    ) -> Result<SuffixHashes>;

    /// Moves every version of an object out of the object tree (the
    /// filesystem backend keeps them under `<device>/quarantined/objects/`),
    /// so it reads as [`ObjectState::Missing`] and its suffix hash changes.
    /// Quarantining a missing object succeeds and does nothing.
    async fn quarantine(&self, loc: &ObjectLocation) -> Result<()>;

    /// Removes every object of a partition whose current version is a
    /// tombstone older than `before`; returns how many were removed.
    async fn reclaim_tombstones(
        &self,
        device: &str,
        partition: u32,
        before: Timestamp,
    ) -> Result<u64>;

    /// Removes a whole partition from a device (a handoff partition after
    /// its primaries took it). Removing a missing partition succeeds.
    async fn remove_partition(&self, device: &str, partition: u32) -> Result<()>;
}

/// Whether `device` can be a single directory name.
pub(crate) fn valid_device_name(device: &str) -> bool {
    !device.is_empty()
        && device != "."
        && device != ".."
        && !device.contains('/')
        && !device.contains('\\')
        && !device.contains('\0')
}

/// Applies a metadata update to the metadata of a data version (when the
/// update is newer).
pub(crate) fn merge_update(
    mut data: ObjectMetadata,
    update: Option<&MetadataUpdate>,
) -> ObjectMetadata {
    if let Some(u) = update {
        if u.timestamp > data.timestamp {
            data.meta_timestamp = Some(u.timestamp);
            data.user_meta = u.user_meta.clone();
        }
    }
    data
}

/// Checks a new data version or tombstone against the current one.
pub(crate) fn check_newer(
    loc: &ObjectLocation,
    current: Option<Timestamp>,
    new: Timestamp,
) -> Result<()> {
    match current {
        Some(cur) if cur >= new => Err(crate::error::Error::Conflict {
            reason: format!("{loc} has a version at {cur} not older than {new}"),
        }),
        _ => Ok(()),
    }
}

/// Validates a byte range against a body length.
pub(crate) fn check_range(range: Option<ByteRange>, len: u64) -> Result<ByteRange> {
    match range {
        None => Ok(ByteRange { start: 0, end: len }),
        Some(r) if r.start < r.end && r.end <= len => Ok(r),
        Some(r) => Err(crate::error::Error::invalid(format!(
            "range {}-{} outside body of {len} bytes",
            r.start, r.end
        ))),
    }
}
