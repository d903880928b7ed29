//! An in-memory image store: a real backend for tests and embedding.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::{GetOptions, ImageHasher, ImageStore, PutOptions, StoreCapabilities, StoredImage};
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::stream::{self, ByteStream};

/// Keeps image data in a map; data is buffered until the stream ends, then
/// inserted at once.
#[derive(Debug, Default)]
pub struct MemoryImageStore {
    images: Mutex<HashMap<ImageId, Bytes>>,
}

impl MemoryImageStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn images(&self) -> MutexGuard<'_, HashMap<ImageId, Bytes>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.images.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lookup(&self, id: &ImageId) -> Result<Bytes> {
        self.images()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("image data {id}")))
    }
}

#[async_trait]
impl ImageStore for MemoryImageStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::full()
    }

    async fn put(
        &self,
        id: &ImageId,
        mut data: ByteStream,
        opts: PutOptions,
    ) -> Result<StoredImage> {
        if self.images().contains_key(id) {
            return Err(Error::already_exists(format!("image data {id}")));
        }
        let mut hasher = ImageHasher::new(&opts);
        let mut buf = BytesMut::new();
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            hasher.update(&chunk)?;
            buf.extend_from_slice(&chunk);
        }
        let hashes = hasher.finish()?;
        let mut images = self.images();
        if images.contains_key(id) {
            return Err(Error::already_exists(format!("image data {id}")));
        }
        images.insert(*id, buf.freeze());
        Ok(StoredImage {
            size: hashes.size,
            md5: hashes.md5,
            sha512: hashes.sha512,
            location: format!("memory://{id}"),
        })
    }

    async fn get(&self, id: &ImageId, opts: GetOptions) -> Result<ByteStream> {
        let data = self.lookup(id)?;
        match opts.range {
            None => Ok(stream::once(data)),
            Some(range) => {
                let (offset, len) = range.resolve(data.len() as u64)?;
                // Both fit in usize: they are bounded by data.len().
                let (offset, len) = (offset as usize, len as usize);
                Ok(stream::once(data.slice(offset..offset + len)))
            }
        }
    }

    async fn delete(&self, id: &ImageId) -> Result<()> {
        self.images()
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| Error::not_found(format!("image data {id}")))
    }

    async fn exists(&self, id: &ImageId) -> Result<bool> {
        Ok(self.images().contains_key(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_conforms() {
        super::super::conformance::run_all(&MemoryImageStore::new()).await;
    }
}
