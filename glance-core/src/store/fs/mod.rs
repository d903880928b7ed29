//! The filesystem image store: one file per image, `<dir>/<id>`.
//!
//! A put streams into a temp file in the same directory, fsyncs it,
//! hard-links it to its final name (which fails if the name exists, so
//! concurrent puts cannot overwrite each other), removes the temp name and
//! fsyncs the directory. Ranged reads seek to the offset.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{GetOptions, ImageHasher, ImageStore, PutOptions, StoreCapabilities, StoredImage};
use crate::error::{run_blocking, Error, Result};
use crate::image::ImageId;
use crate::stream::ByteStream;

const BACKEND: &str = "fs";
const TMP_PREFIX: &str = ".tmp-";
const READ_CHUNK: usize = 64 * 1024;

/// Configuration of [`FsImageStore`] (`filesystem_store_datadir`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsImageStoreConfig {
    /// The directory holding the image files; created if missing.
    pub dir: PathBuf,
    /// Whether to fsync data and directory (turn off only in tests).
    #[serde(default = "default_fsync")]
    pub fsync: bool,
}

fn default_fsync() -> bool {
    true
}

impl FsImageStoreConfig {
    /// A config for `dir` with fsync on.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fsync: default_fsync(),
        }
    }

    /// Checks that `dir` is a non-empty path.
    pub fn validate(&self) -> Result<()> {
        if self.dir.as_os_str().is_empty() {
            return Err(Error::config("fs store dir is empty"));
        }
        Ok(())
    }
}

/// Stores images as files in one directory.
#[derive(Debug)]
pub struct FsImageStore {
    config: FsImageStoreConfig,
}

impl FsImageStore {
    /// Opens the store, creating its directory and removing temp files
    /// left by a crash. Does blocking I/O: call it at startup.
    pub fn open(config: FsImageStoreConfig) -> Result<Self> {
        config.validate()?;
        let dir = &config.dir;
        std::fs::create_dir_all(dir).map_err(|e| io_err("fs store dir", e))?;
        for entry in std::fs::read_dir(dir).map_err(|e| io_err("fs store dir", e))? {
            let entry = entry.map_err(|e| io_err("fs store dir", e))?;
            if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                // Best effort: a leftover temp file is harmless, only wasted space.
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self { config })
    }

    /// The directory holding the images.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    fn path(&self, id: &ImageId) -> PathBuf {
        self.config.dir.join(id.to_string())
    }

    async fn write_tmp(
        &self,
        tmp: &Path,
        mut data: ByteStream,
        hasher: &mut ImageHasher,
    ) -> Result<()> {
        let mut file = tokio::fs::File::create(tmp)
            .await
            .map_err(|e| io_err("temp file", e))?;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            hasher.update(&chunk)?;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_err("temp file", e))?;
        }
        file.flush().await.map_err(|e| io_err("temp file", e))?;
        if self.config.fsync {
            file.sync_all().await.map_err(|e| io_err("temp file", e))?;
        }
        Ok(())
    }
}

/// Removes the temp file when dropped, so that errors and cancelled puts
/// leave no litter.
struct TmpFile(PathBuf);

impl Drop for TmpFile {
    fn drop(&mut self) {
        // Already gone after a successful link; nothing to report otherwise.
        let _ = std::fs::remove_file(&self.0);
    }
}

fn io_err(what: &str, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(what.to_string()),
        std::io::ErrorKind::AlreadyExists => Error::already_exists(what.to_string()),
        std::io::ErrorKind::StorageFull => Error::quota(format!("fs store full writing {what}")),
        _ => Error::backend(BACKEND, e),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("fs store dir", e))
}

#[async_trait]
impl ImageStore for FsImageStore {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::full()
    }

    async fn put(&self, id: &ImageId, data: ByteStream, opts: PutOptions) -> Result<StoredImage> {
        let target = self.path(id);
        let exists = tokio::fs::try_exists(&target)
            .await
            .map_err(|e| io_err("image file", e))?;
        if exists {
            return Err(Error::already_exists(format!("image data {id}")));
        }
        let tmp = TmpFile(self.config.dir.join(format!(
            "{TMP_PREFIX}{id}-{}",
            uuid::Uuid::new_v4().simple()
        )));
        let mut hasher = ImageHasher::new(&opts);
        self.write_tmp(&tmp.0, data, &mut hasher).await?;
        let hashes = hasher.finish()?;
        let (tmp_path, dir, fsync) = (tmp.0.clone(), self.config.dir.clone(), self.config.fsync);
        let link_target = target.clone();
        let id_for_err = *id;
        run_blocking(BACKEND, move || {
            std::fs::hard_link(&tmp_path, &link_target).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    Error::already_exists(format!("image data {id_for_err}"))
                }
                _ => io_err("image file", e),
            })?;
            std::fs::remove_file(&tmp_path).map_err(|e| io_err("temp file", e))?;
            if fsync {
                sync_dir(&dir)?;
            }
            Ok(())
        })
        .await?;
        drop(tmp);
        Ok(StoredImage {
            size: hashes.size,
            md5: hashes.md5,
            sha512: hashes.sha512,
            location: format!("file://{}", target.display()),
        })
    }

    async fn get(&self, id: &ImageId, opts: GetOptions) -> Result<ByteStream> {
        let not_found = || Error::not_found(format!("image data {id}"));
        let mut file = tokio::fs::File::open(self.path(id))
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => not_found(),
                _ => io_err("image file", e),
            })?;
        let stream = match opts.range {
            None => tokio_util::io::ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
            Some(range) => {
                let size = file
                    .metadata()
                    .await
                    .map_err(|e| io_err("image file", e))?
                    .len();
                let (offset, len) = range.resolve(size)?;
                file.seek(SeekFrom::Start(offset))
                    .await
                    .map_err(|e| io_err("image file", e))?;
                tokio_util::io::ReaderStream::with_capacity(file.take(len), READ_CHUNK).boxed()
            }
        };
        Ok(stream
            .map(|r| r.map_err(|e| io_err("image file", e)))
            .boxed())
    }

    async fn delete(&self, id: &ImageId) -> Result<()> {
        tokio::fs::remove_file(self.path(id))
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::not_found(format!("image data {id}")),
                _ => io_err("image file", e),
            })?;
        if self.config.fsync {
            let dir = self.config.dir.clone();
            run_blocking(BACKEND, move || sync_dir(&dir)).await?;
        }
        Ok(())
    }

    async fn exists(&self, id: &ImageId) -> Result<bool> {
        tokio::fs::try_exists(self.path(id))
            .await
            .map_err(|e| io_err("image file", e))
    }
}

#[cfg(test)]
mod tests;
