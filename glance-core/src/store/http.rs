//! The read-only HTTP store: image data that lives at an `http(s)://` URL
//! (images added by location, glance_store's `http` driver).
//!
//! The store cannot derive a URL from an image id, so the service
//! registers each image's location with [`HttpImageStore::register`];
//! [`ImageStore::get`] then resolves the id through that map, and
//! [`HttpImageStore::get_url`] reads any URL directly. Ranged reads send a
//! `Range` header after a `HEAD` for the size; a server that ignores
//! ranges is handled by skipping and truncating its full answer. Redirects
//! are followed up to 5 times.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use reqwest::{header, StatusCode};

use super::{remote, GetOptions, ImageStore, PutOptions, StoreCapabilities, StoredImage};
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::stream::ByteStream;

const BACKEND: &str = "http";
const MAX_REDIRECTS: usize = 5;

/// Reads image data from HTTP URLs; never writes.
#[derive(Debug)]
pub struct HttpImageStore {
    client: reqwest::Client,
    locations: RwLock<HashMap<ImageId, String>>,
}

impl HttpImageStore {
    /// A store with no registered locations.
    pub fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()
            .map_err(|e| Error::backend(BACKEND, e))?;
        Ok(Self {
            client,
            locations: RwLock::new(HashMap::new()),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<ImageId, String>> {
        // Entries are inserted or removed whole: a poisoned map is intact.
        self.locations.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<ImageId, String>> {
        self.locations.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that image `id`'s data is at `url` (replacing any earlier
    /// URL). `InvalidInput` unless it is an `http(s)://` URL.
    pub fn register(&self, id: &ImageId, url: &str) -> Result<()> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| Error::invalid(format!("image location {url:?} is not a URL")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::invalid(format!(
                "image location {url:?} is not an http(s) URL"
            )));
        }
        self.write().insert(*id, url.to_string());
        Ok(())
    }

    /// Forgets image `id`'s URL; whether there was one.
    pub fn unregister(&self, id: &ImageId) -> bool {
        self.write().remove(id).is_some()
    }

    /// The URL registered for `id`.
    pub fn location(&self, id: &ImageId) -> Option<String> {
        self.read().get(id).cloned()
    }

    fn resolve(&self, id: &ImageId) -> Result<String> {
        self.location(id)
            .ok_or_else(|| Error::not_found(format!("image data {id}")))
    }

    /// The size of the data at `url` (the `Content-Length` of a HEAD).
    /// `NotFound` on 404; `Unsupported` when the server sends no length.
    pub async fn size_of_url(&self, url: &str) -> Result<u64> {
        let resp = self.send(self.client.head(url)).await?;
        check_status(&resp, url)?;
        remote::header_length(&resp).ok_or(Error::Unsupported {
            operation: "sizing data without Content-Length",
            backend: BACKEND,
        })
    }

    /// Streams the data at `url` (or the range of `opts`). `NotFound` on
    /// 404; `RangeNotSatisfiable` for a range outside the data.
    pub async fn get_url(&self, url: &str, opts: GetOptions) -> Result<ByteStream> {
        let Some(range) = opts.range else {
            let resp = self.send(self.client.get(url)).await?;
            check_status(&resp, url)?;
            return Ok(remote::response_stream(BACKEND, resp));
        };
        let (offset, len) = range.resolve(self.size_of_url(url).await?)?;
        let resp = self
            .send(
                self.client
                    .get(url)
                    .header(header::RANGE, remote::range_header(offset, len)),
            )
            .await?;
        check_status(&resp, url)?;
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        let body = remote::response_stream(BACKEND, resp);
        Ok(if partial {
            body
        } else {
            slice_stream(body, offset, len)
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        req.send().await.map_err(|e| remote::transport(BACKEND, e))
    }
}

fn check_status(resp: &reqwest::Response, url: &str) -> Result<()> {
    match resp.status() {
        s if s.is_success() => Ok(()),
        StatusCode::RANGE_NOT_SATISFIABLE => Err(Error::RangeNotSatisfiable {
            size: remote::content_range_size(resp).unwrap_or(0),
        }),
        s => Err(remote::status_error(
            BACKEND,
            &format!("image data at {url}"),
            s,
        )),
    }
}

/// Skips `skip` bytes of `body` and yields the next `len` (for servers
/// that answer a ranged GET with the whole data).
fn slice_stream(body: ByteStream, skip: u64, len: u64) -> ByteStream {
    futures::stream::unfold(
        (body, skip, len),
        |(mut body, mut skip, mut left)| async move {
            loop {
                if left == 0 {
                    return None;
                }
                let chunk: Bytes = match body.next().await? {
                    Ok(c) => c,
                    Err(e) => return Some((Err(e), (body, 0, 0))),
                };
                let n = chunk.len() as u64;
                if n <= skip {
                    skip -= n;
                    continue;
                }
                // Both bounded by chunk.len(), so they fit in usize.
                let from = skip as usize;
                let to = (skip + left).min(n) as usize;
                left -= (to - from) as u64;
                return Some((Ok(chunk.slice(from..to)), (body, 0, left)));
            }
        },
    )
    .boxed()
}

#[async_trait]
impl ImageStore for HttpImageStore {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities {
            write: false,
            ranged_get: true,
        }
    }

    async fn put(&self, _: &ImageId, _: ByteStream, _: PutOptions) -> Result<StoredImage> {
        Err(Error::Unsupported {
            operation: "put",
            backend: BACKEND,
        })
    }

    async fn get(&self, id: &ImageId, opts: GetOptions) -> Result<ByteStream> {
        let url = self.resolve(id)?;
        self.get_url(&url, opts).await
    }

    async fn delete(&self, _: &ImageId) -> Result<()> {
        Err(Error::Unsupported {
            operation: "delete",
            backend: BACKEND,
        })
    }

    async fn exists(&self, id: &ImageId) -> Result<bool> {
        let Some(url) = self.location(id) else {
            return Ok(false);
        };
        match self.size_of_url(&url).await {
            Ok(_) | Err(Error::Unsupported { .. }) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
