//! Image data stores: the [`ImageStore`] trait, its filesystem and
//! in-memory backends, the remote Swift, S3 and HTTP backends (feature
//! `remote-stores`, on by default), and its conformance suite.

use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::image::ImageId;
use crate::stream::ByteStream;

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod fs;
mod hashing;
#[cfg(feature = "remote-stores")]
pub mod http;
pub mod memory;
#[cfg(feature = "remote-stores")]
pub(crate) mod remote;
#[cfg(feature = "remote-stores")]
pub mod s3;
mod stores;
#[cfg(feature = "remote-stores")]
pub mod swift;

pub use fs::{FsImageStore, FsImageStoreConfig};
pub use hashing::{ImageHasher, ImageHashes};
#[cfg(feature = "remote-stores")]
pub use http::HttpImageStore;
pub use memory::MemoryImageStore;
#[cfg(feature = "remote-stores")]
pub use remote::Secret;
#[cfg(feature = "remote-stores")]
pub use s3::{S3Addressing, S3ImageStore, S3StoreConfig};
pub use stores::Stores;
#[cfg(feature = "remote-stores")]
pub use swift::{SwiftAuthConfig, SwiftImageStore, SwiftStoreConfig};

/// Optional features of a store, reported up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StoreCapabilities {
    /// `put` and `delete` work (false for read-only stores such as HTTP).
    pub write: bool,
    /// `get` honours [`GetOptions::range`] without reading from the start.
    pub ranged_get: bool,
}

impl StoreCapabilities {
    /// Read-write with ranged reads.
    pub fn full() -> Self {
        Self {
            write: true,
            ranged_get: true,
        }
    }
}

/// Optional inputs of [`ImageStore::put`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOptions {
    /// The size the caller declared; more or fewer bytes fail the put with
    /// [`crate::Error::InvalidInput`].
    pub expected_size: Option<u64>,
    /// The most bytes accepted (`image_size_cap`, store space); more fail
    /// the put with [`crate::Error::QuotaExceeded`].
    pub max_size: Option<u64>,
}

impl PutOptions {
    /// Declares the expected size.
    pub fn expected_size(mut self, size: u64) -> Self {
        self.expected_size = Some(size);
        self
    }

    /// Sets the size limit.
    pub fn max_size(mut self, size: u64) -> Self {
        self.max_size = Some(size);
        self
    }
}

/// A byte range `start..end` of image data; `end: None` reads to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte, from 0.
    pub start: u64,
    /// One past the last byte, or to the end of the data.
    pub end: Option<u64>,
}

impl ByteRange {
    /// Resolves against data of `size` bytes to `(offset, len)`;
    /// [`crate::Error::RangeNotSatisfiable`] if it starts at or past the end
    /// (an empty image has no satisfiable range) or is reversed. An `end`
    /// past the data is clamped, as HTTP does.
    pub fn resolve(&self, size: u64) -> Result<(u64, u64)> {
        let end = self.end.unwrap_or(size).min(size);
        if self.start >= size || end <= self.start {
            return Err(crate::Error::RangeNotSatisfiable { size });
        }
        Ok((self.start, end - self.start))
    }
}

/// Optional inputs of [`ImageStore::get`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetOptions {
    /// Read only this range (needs [`StoreCapabilities::ranged_get`]).
    pub range: Option<ByteRange>,
}

impl GetOptions {
    /// Reads only `range`.
    pub fn range(range: ByteRange) -> Self {
        Self { range: Some(range) }
    }
}

/// What a successful put stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// Bytes written.
    pub size: u64,
    /// MD5 of the data, lowercase hex (Glance's `checksum`).
    pub md5: String,
    /// SHA-512 of the data, lowercase hex (Glance's `os_hash_value`).
    pub sha512: String,
    /// The store-specific URL of the data, e.g. `file:///images/<id>`.
    pub location: String,
}

/// Persists Glance image data. Shared across tasks.
#[async_trait]
pub trait ImageStore: Send + Sync + fmt::Debug + 'static {
    /// The backend name used in errors, e.g. `fs`.
    fn name(&self) -> &'static str;

    /// Optional features this backend supports.
    fn capabilities(&self) -> StoreCapabilities;

    /// Stores the whole stream atomically, computing size, MD5 and SHA-512
    /// in the same pass. On any error (from the stream, a size limit or the
    /// backend) nothing is readable at `id` and no partial data is left.
    ///
    /// Errors: `AlreadyExists` if `id` already has data (the existing data
    /// is unchanged; of two concurrent puts exactly one wins);
    /// `QuotaExceeded` past [`PutOptions::max_size`]; `InvalidInput` when
    /// the size differs from [`PutOptions::expected_size`]; the stream's own
    /// error; `Unsupported` for read-only stores.
    async fn put(&self, id: &ImageId, data: ByteStream, opts: PutOptions) -> Result<StoredImage>;

    /// Streams the data (or the requested range) back.
    ///
    /// Errors: `NotFound` if `id` has no data; `RangeNotSatisfiable` for a
    /// range outside the data; `Unsupported` for a range when
    /// `capabilities().ranged_get` is false.
    async fn get(&self, id: &ImageId, opts: GetOptions) -> Result<ByteStream>;

    /// Removes the data. Not idempotent: `NotFound` if there was none.
    /// Readers that already opened the data may finish.
    async fn delete(&self, id: &ImageId) -> Result<()>;

    /// Whether `id` has data.
    async fn exists(&self, id: &ImageId) -> Result<bool>;
}
