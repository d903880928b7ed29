//! Writes of the filesystem backend: stream to a temp file, fsync, rename
//! into the hash directory under its lock, fsync the directory, clean up.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use super::format::{self, Kind};
use super::hashes::{self, PartLocks};
use super::layout::{self, Scan};
use super::{blocking, io_err, FsObjectBackend};
use crate::error::{Error, Result};
use crate::object::{
    check_newer, merge_update, NewObject, ObjectLocation, ObjectMetadata, PutOptions,
};
use crate::stream::ByteStream;
use crate::timestamp::Timestamp;

/// Removes a temp file when dropped unless disarmed: covers cancelled
/// uploads (the request future dropped mid-stream).
#[derive(Debug)]
struct TmpGuard(Option<PathBuf>);

impl TmpGuard {
    fn disarm(&mut self) -> Option<PathBuf> {
        self.0.take()
    }
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            // Only reached on cancellation (rare). One unlink is short, and
            // doing it here means no litter once the future is gone.
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A fresh temp path under `<device>/tmp/`, creating that directory.
async fn tmp_path(dev_dir: &Path, device: &str) -> Result<PathBuf> {
    let tmp_dir = dev_dir.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir)
        .await
        .map_err(|e| io_err(device, "tmp dir", e))?;
    Ok(tmp_dir.join(format!("{}.tmp", uuid::Uuid::new_v4().simple())))
}

/// Streams `body` into `file`, returning the MD5 hex digest and length.
async fn copy_body(
    file: &mut tokio::fs::File,
    mut body: ByteStream,
    device: &str,
) -> Result<(String, u64)> {
    let mut hasher = Md5::new();
    let mut len = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        len += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| io_err(device, "tmp file", e))?;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

fn check_opts(opts: &PutOptions, etag: &str, len: u64) -> Result<()> {
    if let Some(want) = &opts.expected_etag {
        if !want.eq_ignore_ascii_case(etag) {
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
    Ok(())
}

/// The write half of [`crate::object::ObjectBackend::put`].
pub(super) async fn put(
    backend: &FsObjectBackend,
    dev_dir: PathBuf,
    loc: &ObjectLocation,
    obj: NewObject,
    body: ByteStream,
    opts: PutOptions,
) -> Result<ObjectMetadata> {
    let device = loc.device.as_str();
    let tmp = tmp_path(&dev_dir, device).await?;
    let mut guard = TmpGuard(Some(tmp.clone()));
    let result = async {
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io_err(device, "tmp file", e))?;
        let (etag, len) = copy_body(&mut file, body, device).await?;
        check_opts(&opts, &etag, len)?;
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
        file.write_all(&format::encode_trailer(&meta)?)
            .await
            .map_err(|e| io_err(device, "tmp file", e))?;
        file.flush()
            .await
            .map_err(|e| io_err(device, "tmp file", e))?;
        if backend.config.fsync {
            file.sync_all()
                .await
                .map_err(|e| io_err(device, "tmp file", e))?;
        }
        drop(file);
        commit(backend, &dev_dir, loc, tmp.clone(), meta).await
    }
    .await;
    if let Some(p) = guard.disarm() {
        if result.is_err() {
            // Remove now, so no litter is left once the call returns.
            let _ = tokio::fs::remove_file(&p).await;
        }
    }
    result
}

/// Renames the finished temp file into place if it is newer than the
/// current version, then cleans up; returns the merged metadata.
async fn commit(
    backend: &FsObjectBackend,
    dev_dir: &Path,
    loc: &ObjectLocation,
    tmp: PathBuf,
    meta: ObjectMetadata,
) -> Result<ObjectMetadata> {
    let dir = FsObjectBackend::hash_dir(dev_dir, loc);
    let loc2 = loc.clone();
    let fsync = backend.config.fsync;
    let lock_idx = usize::from(loc.hash.0[15]) % backend.locks.len().max(1);
    let locks = backend_locks(backend);
    let part_locks = backend.part_locks.clone();
    blocking(move || {
        let _g = lock_stripe(&locks, lock_idx);
        let device = loc2.device.as_str();
        let scan = layout::scan(&dir).map_err(|e| io_err(device, "object dir", e))?;
        check_newer(&loc2, scan.current_ts(), meta.timestamp)?;
        let created = !dir.exists();
        std::fs::create_dir_all(&dir).map_err(|e| io_err(device, "object dir", e))?;
        let target = layout::version_path(&dir, meta.timestamp, Kind::Data);
        std::fs::rename(&tmp, &target).map_err(|e| io_err(device, "object file", e))?;
        if fsync {
            sync_dirs(&dir, created).map_err(|e| io_err(device, "object dir", e))?;
        }
        invalidate_suffix(&part_locks, &dir, device)?;
        let after = layout::scan(&dir).map_err(|e| io_err(device, "object dir", e))?;
        layout::cleanup(&dir, &after);
        let update = read_update(&dir, &after, device)?;
        Ok(merge_update(meta, update.as_ref()))
    })
    .await
}

/// Writes a tombstone or a metadata update (small files) under the lock.
pub(super) async fn write_marker(
    backend: &FsObjectBackend,
    dev_dir: PathBuf,
    loc: &ObjectLocation,
    ts: Timestamp,
    kind: Kind,
    contents: Vec<u8>,
) -> Result<()> {
    let tmp = tmp_path(&dev_dir, &loc.device).await?;
    let dir = FsObjectBackend::hash_dir(&dev_dir, loc);
    let loc2 = loc.clone();
    let fsync = backend.config.fsync;
    let lock_idx = usize::from(loc.hash.0[15]) % backend.locks.len().max(1);
    let locks = backend_locks(backend);
    let part_locks = backend.part_locks.clone();
    blocking(move || {
        let _g = lock_stripe(&locks, lock_idx);
        let device = loc2.device.as_str();
        let res = (|| {
            let scan = layout::scan(&dir).map_err(|e| io_err(device, "object dir", e))?;
            if kind == Kind::Meta {
                let not_found = || Error::not_found(format!("object {loc2}"));
                let data_ts = match scan.current {
                    Some((t, Kind::Data)) => t,
                    _ => return Err(not_found()),
                };
                check_newer(
                    &loc2,
                    Some(scan.meta.map_or(data_ts, |m| m.max(data_ts))),
                    ts,
                )?;
            } else {
                check_newer(&loc2, scan.current_ts(), ts)?;
            }
            write_file(&tmp, &contents, fsync).map_err(|e| io_err(device, "tmp file", e))?;
            let created = !dir.exists();
            std::fs::create_dir_all(&dir).map_err(|e| io_err(device, "object dir", e))?;
            std::fs::rename(&tmp, layout::version_path(&dir, ts, kind))
                .map_err(|e| io_err(device, "object file", e))?;
            if fsync {
                sync_dirs(&dir, created).map_err(|e| io_err(device, "object dir", e))?;
            }
            invalidate_suffix(&part_locks, &dir, device)?;
            let after = layout::scan(&dir).map_err(|e| io_err(device, "object dir", e))?;
            layout::cleanup(&dir, &after);
            Ok(())
        })();
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res
    })
    .await
}

fn write_file(path: &Path, contents: &[u8], fsync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(contents)?;
    if fsync {
        f.sync_all()?;
    }
    Ok(())
}

/// Invalidates the cached hash of the suffix holding the hash directory
/// `dir` (`<part>/<suffix>/<hash>`).
fn invalidate_suffix(part_locks: &PartLocks, dir: &Path, device: &str) -> Result<()> {
    let suffix_dir = dir.parent();
    let suffix = suffix_dir
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str());
    match (suffix_dir.and_then(Path::parent), suffix) {
        (Some(part_dir), Some(suffix)) => hashes::invalidate(part_locks, part_dir, suffix)
            .map_err(|e| io_err(device, "hashes.invalid", e)),
        _ => Ok(()),
    }
}

/// fsyncs the hash directory, and its parents when it was just created.
fn sync_dirs(dir: &Path, created: bool) -> std::io::Result<()> {
    layout::fsync_dir(dir)?;
    if created {
        let mut p = dir.parent();
        for _ in 0..3 {
            if let Some(parent) = p {
                layout::fsync_dir(parent)?;
                p = parent.parent();
            }
        }
    }
    Ok(())
}

/// The metadata update kept by `scan`, if any.
pub(super) fn read_update(
    dir: &Path,
    scan: &Scan,
    device: &str,
) -> Result<Option<crate::object::MetadataUpdate>> {
    let Some(ts) = scan.meta else {
        return Ok(None);
    };
    let path = layout::version_path(dir, ts, Kind::Meta);
    let bytes = std::fs::read(&path).map_err(|e| io_err(device, "meta file", e))?;
    format::decode_meta(&bytes, &path.display().to_string()).map(Some)
}

pub(super) type Locks = std::sync::Arc<Vec<std::sync::Mutex<()>>>;

fn backend_locks(backend: &FsObjectBackend) -> Locks {
    backend.locks.clone()
}

pub(super) fn lock_stripe(locks: &Locks, i: usize) -> Option<std::sync::MutexGuard<'_, ()>> {
    // A poisoned stripe only means another writer panicked; the files are
    // still consistent because every change is one rename.
    locks.get(i).map(|m| match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    })
}
