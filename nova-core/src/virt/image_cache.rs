//! The per-host cache of Glance images that instance disks are backed by.
//!
//! [`ImageCache::fetch`] downloads an image once per host through the
//! [`ImageService`] into `<cache_dir>/<image_id>`: the bytes go to a
//! temporary file that is fsynced, checked against the image's MD5
//! `checksum` and only then renamed into place, so the cache never holds a
//! partial or corrupt image. Concurrent requests for one image wait for a
//! single download. [`ImageCache::remove_unused`] drops images no instance
//! uses that were not used for a while.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex as AsyncMutex;

use crate::api::RequestContext;
use crate::error::{Error, Result};
use crate::image::{ImageInfo, ImageService};

/// Prefix of in-progress downloads (hidden, never a valid image id).
const PART_PREFIX: &str = ".part-";

/// Downloaded image data did not match its Glance checksum.
#[derive(Debug, thiserror::Error)]
#[error("image {image}: data has md5 {actual}, glance says {expected}")]
pub struct ChecksumMismatch {
    /// The image id.
    pub image: String,
    /// Glance's checksum.
    pub expected: String,
    /// What the bytes hash to.
    pub actual: String,
}

/// Glance images cached on this host. Shared as `Arc<ImageCache>`.
#[derive(Debug)]
pub struct ImageCache {
    dir: PathBuf,
    images: Arc<dyn ImageService>,
    downloads: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

fn io(e: std::io::Error) -> Error {
    Error::backend("image-cache", e)
}

fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("bad image id {id:?}")))
    }
}

impl ImageCache {
    /// A cache in `dir` (created) fed by `images`; leftovers of downloads
    /// interrupted by a crash are removed.
    pub async fn new(dir: impl Into<PathBuf>, images: Arc<dyn ImageService>) -> Result<Self> {
        let dir = dir.into();
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let mut rd = tokio::fs::read_dir(&dir).await.map_err(io)?;
        while let Some(e) = rd.next_entry().await.map_err(io)? {
            if e.file_name().to_string_lossy().starts_with(PART_PREFIX) {
                let _ = tokio::fs::remove_file(e.path()).await;
            }
        }
        Ok(Self {
            dir,
            images,
            downloads: Mutex::new(HashMap::new()),
        })
    }

    /// Where image `id` is (or would be) cached.
    pub fn path(&self, id: &str) -> Result<PathBuf> {
        check_id(id)?;
        Ok(self.dir.join(id))
    }

    /// Looks the image up with the caller's rights and fetches it.
    pub async fn fetch_by_id(&self, ctx: &RequestContext, id: &str) -> Result<PathBuf> {
        let info = self.images.show(ctx, id).await?;
        self.fetch(ctx, &info).await
    }

    /// The cached file of `image`, downloading it first if needed.
    /// [`Error::Conflict`] unless the image is `active`; a checksum
    /// mismatch is an [`Error::Backend`] with a [`ChecksumMismatch`]
    /// source and leaves nothing in the cache. Marks the image used now.
    pub async fn fetch(&self, ctx: &RequestContext, image: &ImageInfo) -> Result<PathBuf> {
        let path = self.path(&image.id)?;
        if image.status != "active" {
            return Err(Error::conflict(format!(
                "image {} is {}, not active",
                image.id, image.status
            )));
        }
        let lock = {
            let mut d = self
                .downloads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            d.entry(image.id.clone()).or_default().clone()
        };
        let result = {
            let _one_download = lock.lock().await;
            if tokio::fs::try_exists(&path).await.map_err(io)? {
                touch(&path).await;
                Ok(path.clone())
            } else {
                self.download(ctx, image, &path)
                    .await
                    .map(|()| path.clone())
            }
        };
        let mut d = self
            .downloads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if Arc::strong_count(&lock) <= 2 {
            d.remove(&image.id);
        }
        result
    }

    async fn download(&self, ctx: &RequestContext, image: &ImageInfo, path: &Path) -> Result<()> {
        let tmp = self.dir.join(format!(
            "{PART_PREFIX}{}-{}",
            image.id,
            uuid::Uuid::new_v4().simple()
        ));
        tracing::info!(image = %image.id, path = %path.display(), "downloading image");
        let written = self.write_verified(ctx, image, &tmp).await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, path).await.map_err(io)?;
        // Make the rename durable too.
        if let Ok(d) = tokio::fs::File::open(&self.dir).await {
            let _ = d.sync_all().await;
        }
        Ok(())
    }

    async fn write_verified(
        &self,
        ctx: &RequestContext,
        image: &ImageInfo,
        tmp: &Path,
    ) -> Result<()> {
        let mut stream = self.images.download(ctx, &image.id).await?;
        let mut file = tokio::fs::File::create(tmp).await.map_err(io)?;
        let mut md5 = Md5::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            md5.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.sync_all().await.map_err(io)?;
        let actual = format!("{:x}", md5.finalize());
        if let Some(expected) = &image.checksum {
            if !expected.eq_ignore_ascii_case(&actual) {
                return Err(Error::backend(
                    "image-cache",
                    ChecksumMismatch {
                        image: image.id.clone(),
                        expected: expected.clone(),
                        actual,
                    },
                ));
            }
        }
        if let Some(want) = image.size.filter(|s| *s != size) {
            return Err(Error::backend(
                "image-cache",
                format!("image {}: got {size} bytes, glance says {want}", image.id),
            ));
        }
        Ok(())
    }

    /// Removes cached images not in `in_use` whose last use is older than
    /// `unused_for`; returns their ids.
    pub async fn remove_unused(
        &self,
        in_use: &[String],
        unused_for: Duration,
    ) -> Result<Vec<String>> {
        let now = SystemTime::now();
        let mut removed = Vec::new();
        let mut rd = tokio::fs::read_dir(&self.dir).await.map_err(io)?;
        while let Some(e) = rd.next_entry().await.map_err(io)? {
            let id = e.file_name().to_string_lossy().into_owned();
            if check_id(&id).is_err() || in_use.contains(&id) {
                continue;
            }
            let modified = e.metadata().await.and_then(|m| m.modified()).map_err(io)?;
            if now.duration_since(modified).unwrap_or_default() >= unused_for {
                tokio::fs::remove_file(e.path()).await.map_err(io)?;
                tracing::info!(image = %id, "removed unused cached image");
                removed.push(id);
            }
        }
        removed.sort();
        Ok(removed)
    }
}

/// Marks a cached image used now (its mtime is its last use).
async fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = tokio::task::spawn_blocking(move || f.set_modified(SystemTime::now())).await;
    }
}

#[cfg(test)]
mod tests;
