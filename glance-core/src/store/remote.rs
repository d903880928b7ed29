//! Plumbing shared by the stores that speak HTTP (Swift, S3, HTTP): the
//! redacting [`Secret`], status and transport error mapping, response
//! bodies as [`ByteStream`]s, hashing request bodies and per-id put locks.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::StatusCode;
use serde::Deserialize;

use super::{ImageHasher, ImageHashes};
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::stream::ByteStream;

/// A password, key or token: deserializes from a plain string and never
/// shows in `Debug` output.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for putting on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The HTTP client of a remote store. No overall timeout (images are
/// large); a connect timeout so a dead endpoint fails fast.
pub(crate) fn client(backend: &'static str) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::backend(backend, e))
}

/// A transport error: connection problems are retryable.
pub(crate) fn transport(backend: &'static str, e: reqwest::Error) -> Error {
    if e.is_connect() || e.is_timeout() {
        Error::Unavailable {
            reason: format!("{backend} store unreachable: {e}"),
        }
    } else {
        Error::backend(backend, e)
    }
}

/// An unexpected HTTP status `status` answering an operation on `what`.
pub(crate) fn status_error(backend: &'static str, what: &str, status: StatusCode) -> Error {
    match status {
        StatusCode::NOT_FOUND => Error::not_found(what.to_string()),
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => {
            Error::already_exists(what.to_string())
        }
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::INSUFFICIENT_STORAGE => {
            Error::quota(format!("{backend} store refused {what}: {status}"))
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Error::Unavailable {
            reason: format!("{backend} store answered {status} for {what}"),
        },
        s if s.is_server_error() => Error::Unavailable {
            reason: format!("{backend} store answered {status} for {what}"),
        },
        _ => Error::backend(backend, format!("unexpected status {status} for {what}")),
    }
}

/// The body of `resp` as a [`ByteStream`].
pub(crate) fn response_stream(backend: &'static str, resp: reqwest::Response) -> ByteStream {
    resp.bytes_stream()
        .map(move |r| r.map_err(|e| transport(backend, e)))
        .boxed()
}

/// Reads a small response body (a manifest, an XML answer), refusing more
/// than `limit` bytes.
pub(crate) async fn small_body(
    backend: &'static str,
    resp: reqwest::Response,
    limit: usize,
) -> Result<Bytes> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Error::backend(backend, "response body too large"));
    }
    crate::stream::collect(response_stream(backend, resp), limit).await
}

/// The `Range` header value for `len` bytes from `offset` (`len > 0`).
pub(crate) fn range_header(offset: u64, len: u64) -> String {
    format!("bytes={offset}-{}", offset + len.saturating_sub(1))
}

/// The total size in a `Content-Range: bytes a-b/size` header.
pub(crate) fn content_range_size(resp: &reqwest::Response) -> Option<u64> {
    let v = resp.headers().get(reqwest::header::CONTENT_RANGE)?;
    v.to_str().ok()?.rsplit_once('/')?.1.trim().parse().ok()
}

/// The `Content-Length` header (also on HEAD answers, whose body is empty).
pub(crate) fn header_length(resp: &reqwest::Response) -> Option<u64> {
    header(resp, "content-length")?.trim().parse().ok()
}

/// A header value as a string, if present and ASCII.
pub(crate) fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

struct TapState {
    hasher: Option<ImageHasher>,
    error: Option<Error>,
}

/// The far side of [`hashed_body`]: after the request, yields the hashes
/// or the error that cut the body (the stream's own, or a size limit).
#[derive(Clone)]
pub(crate) struct BodyTap(Arc<Mutex<TapState>>);

impl BodyTap {
    fn state(&self) -> MutexGuard<'_, TapState> {
        // The state is only ever replaced whole; a poisoned lock is still valid.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The error that cut the body, if any.
    pub(crate) fn take_error(&self) -> Option<Error> {
        self.state().error.take()
    }

    /// The hashes of the whole body; call after the request succeeded.
    pub(crate) fn finish(&self, backend: &'static str) -> Result<ImageHashes> {
        let mut st = self.state();
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        st.hasher
            .take()
            .ok_or_else(|| Error::backend(backend, "request body hashed twice"))?
            .finish()
    }
}

/// Turns `data` into a request body that feeds each chunk through `hasher`
/// before sending it. A stream error, a size limit, or fewer bytes than
/// `expected` cut the body (the request then fails) and are kept in the
/// returned [`BodyTap`], so the caller reports them instead of the
/// transport error they cause.
pub(crate) fn hashed_body(
    data: ByteStream,
    hasher: ImageHasher,
    expected: Option<u64>,
) -> (reqwest::Body, BodyTap) {
    let tap = BodyTap(Arc::new(Mutex::new(TapState {
        hasher: Some(hasher),
        error: None,
    })));
    let t = tap.clone();
    let stream = futures::stream::unfold(Some(data), move |data| {
        let t = t.clone();
        async move {
            let mut data = data?;
            let cut = |e: Error| {
                t.state().error = Some(e);
                Some((Err(std::io::Error::other("request body cut")), None))
            };
            match data.next().await {
                Some(Ok(chunk)) => {
                    let res = match t.state().hasher.as_mut() {
                        Some(h) => h.update(&chunk),
                        None => Ok(()),
                    };
                    match res {
                        Ok(()) => Some((Ok(chunk), Some(data))),
                        Err(e) => cut(e),
                    }
                }
                Some(Err(e)) => cut(e),
                None => {
                    let size = t.state().hasher.as_ref().map_or(0, |h| h.size());
                    match expected {
                        Some(n) if n != size => cut(Error::invalid(format!(
                            "image data has {size} bytes, declared {n}"
                        ))),
                        _ => None,
                    }
                }
            }
        }
    });
    (reqwest::Body::wrap_stream(stream), tap)
}

/// Serialises puts on the same image id within one store, so that the
/// check-then-write of stores without conditional writes lets exactly one
/// of two concurrent puts win.
#[derive(Debug, Default)]
pub(crate) struct PutLocks(Mutex<HashMap<ImageId, Arc<tokio::sync::Mutex<()>>>>);

/// Holds the put lock of one id; releases (and forgets) it on drop.
pub(crate) struct PutGuard<'a> {
    locks: &'a PutLocks,
    id: ImageId,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl PutLocks {
    fn map(&self) -> MutexGuard<'_, HashMap<ImageId, Arc<tokio::sync::Mutex<()>>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until no other put on `id` runs in this store.
    pub(crate) async fn lock(&self, id: &ImageId) -> PutGuard<'_> {
        let m = self.map().entry(*id).or_default().clone();
        PutGuard {
            locks: self,
            id: *id,
            guard: Some(m.lock_owned().await),
        }
    }
}

impl Drop for PutGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.map();
        // Only the map holds it now: nobody waits, forget the entry.
        if map.get(&self.id).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&self.id);
        }
    }
}
