//! Reads of the filesystem backend: pick the current version, parse its
//! trailer, stream the body in 64 KiB chunks.

use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use super::format::{self, Kind};
use super::layout;
use super::write::read_update;
use super::{blocking, io_err};
use crate::error::{Error, Result};
use crate::object::{
    check_range, merge_update, verify::verify_md5, ObjectLocation, ObjectMetadata, ObjectRead,
    ObjectState, ReadOptions,
};

/// Read chunk size.
const CHUNK: usize = 64 * 1024;
/// Attempts when a concurrent write removes the file we chose.
const ATTEMPTS: usize = 3;

/// Opens the current state; with the open `.data` file when it is data.
fn open_current(dir: &Path, device: &str) -> Result<(ObjectState, Option<std::fs::File>)> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let scan = layout::scan(dir).map_err(|e| io_err(device, "object dir", e))?;
        match scan.current {
            None => return Ok((ObjectState::Missing, None)),
            Some((timestamp, Kind::Tombstone)) => {
                return Ok((ObjectState::Deleted { timestamp }, None))
            }
            Some((ts, _)) => {
                let path = layout::version_path(dir, ts, Kind::Data);
                let mut f = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    // Replaced meanwhile by a newer version: look again.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        last = Some(e);
                        continue;
                    }
                    Err(e) => return Err(io_err(device, "object file", e)),
                };
                let meta = format::read_trailer(&mut f, &path.display().to_string())?;
                let update = match read_update(dir, &scan, device) {
                    Ok(u) => u,
                    Err(Error::NotFound { .. }) => continue,
                    Err(e) => return Err(e),
                };
                return Ok((
                    ObjectState::Present(merge_update(meta, update.as_ref())),
                    Some(f),
                ));
            }
        }
    }
    Err(match last {
        Some(e) => io_err(device, "object file", e),
        None => Error::Unavailable {
            reason: "object changing too fast".into(),
        },
    })
}

/// [`crate::object::ObjectBackend::open`].
pub(super) fn open_state(dir: &Path, device: &str) -> Result<ObjectState> {
    open_current(dir, device).map(|(s, _)| s)
}

/// [`crate::object::ObjectBackend::read`].
pub(super) async fn read(
    dir: PathBuf,
    loc: ObjectLocation,
    opts: ReadOptions,
) -> Result<ObjectRead> {
    let device = loc.device.clone();
    let (metadata, file, start, len) = blocking(move || {
        let (state, file) = open_current(&dir, &loc.device)?;
        let (ObjectState::Present(meta), Some(mut file)) = (state, file) else {
            return Err(Error::not_found(format!("object {loc}")));
        };
        if opts.timestamp.is_some_and(|t| t != meta.timestamp) {
            return Err(Error::not_found(format!("object {loc} version")));
        }
        let r = check_range(opts.range, meta.content_length)?;
        file.seek(SeekFrom::Start(r.start))
            .map_err(|e| io_err(&loc.device, "object file", e))?;
        Ok::<(ObjectMetadata, std::fs::File, u64, u64), Error>((
            meta,
            file,
            r.start,
            r.end - r.start,
        ))
    })
    .await?;
    let whole = start == 0 && len == metadata.content_length;
    let reader = tokio::fs::File::from_std(file).take(len);
    let body = ReaderStream::with_capacity(reader, CHUNK)
        .map(move |r| r.map_err(|e| io_err(&device, "object file", e)))
        .boxed();
    let body = if whole {
        verify_md5(body, metadata.etag.clone(), metadata.name.clone())
    } else {
        body
    };
    Ok(ObjectRead { metadata, body })
}
