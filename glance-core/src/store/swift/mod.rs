//! The Swift image store: image data as objects in one container of a
//! Swift account, reached over Swift's public HTTP API (glance_store's
//! single-tenant `swift` driver).
//!
//! Auth is tempauth v1 or Keystone v3 ([`SwiftAuthConfig`]); the token is
//! cached and fetched again once when a request gets a 401.
//!
//! A put of a known size below `large_object_size` is one streaming `PUT`
//! with `Content-Length`. Otherwise the store buffers up to one segment:
//! if the data ends within it (and is small), that is one `PUT` too; else
//! the data goes out as segments `<id>-<upload>-00001…` in the segment
//! container, one at a time, followed by a manifest at `<id>`: an SLO if
//! `/info` lists `slo`, else a DLO (`X-Object-Manifest`) if it lists
//! `dlo`, else a small JSON manifest of our own (marked with
//! `X-Object-Meta-Ferrostack-Manifest`) whose segments `get` concatenates.
//! Nothing is visible at `<id>` before the final write; failed puts delete
//! the segments they wrote. Every `PUT` checks Swift's ETag against our
//! own MD5 and sends `If-None-Match: *`; puts on one id are also
//! serialised within the store, so of two concurrent puts one wins even
//! when the proxy ignores `If-None-Match`.

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use reqwest::{header, Method, StatusCode};

use super::remote::{self, PutLocks};
use super::{GetOptions, ImageHasher, ImageStore, PutOptions, StoreCapabilities, StoredImage};
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::stream::ByteStream;

mod auth;
mod config;
mod large;
mod put;
#[cfg(test)]
pub(crate) mod tests;

use auth::{Authenticator, Session};
pub use config::{SwiftAuthConfig, SwiftStoreConfig};

pub(crate) const BACKEND: &str = "swift";

/// Stores images in a Swift container over HTTP.
#[derive(Debug)]
pub struct SwiftImageStore {
    config: SwiftStoreConfig,
    client: reqwest::Client,
    auth: Authenticator,
    locks: PutLocks,
    containers_ready: AtomicBool,
    manifest_kind: tokio::sync::OnceCell<large::ManifestKind>,
}

/// What a HEAD of an image object found.
struct Head {
    /// Image size (for our own manifests, the size they describe).
    size: u64,
    kind: ObjectKind,
}

enum ObjectKind {
    Plain,
    Slo,
    /// `X-Object-Manifest`: `<container>/<prefix>`.
    Dlo(String),
    Store,
}

impl SwiftImageStore {
    /// A store for `config`; validates it but does no I/O (auth happens on
    /// first use).
    pub fn new(config: SwiftStoreConfig) -> Result<Self> {
        config.validate()?;
        let client = remote::client(BACKEND)?;
        Ok(Self {
            auth: Authenticator::new(client.clone(), config.auth.clone()),
            config,
            client,
            locks: PutLocks::default(),
            containers_ready: AtomicBool::new(false),
            manifest_kind: tokio::sync::OnceCell::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SwiftStoreConfig {
        &self.config
    }

    /// The account URL auth yielded (authenticating if needed).
    pub async fn storage_url(&self) -> Result<String> {
        Ok(self.auth.session().await?.storage_url)
    }

    fn url(session: &Session, container: &str, name: &str) -> String {
        format!("{}/{container}/{name}", session.storage_url)
    }

    fn object_url(&self, session: &Session, id: &ImageId) -> String {
        Self::url(session, &self.config.container, &id.to_string())
    }

    /// Sends the request `build` makes for a session; on a 401 it
    /// authenticates again and resends once.
    async fn send<F>(&self, build: F) -> Result<reqwest::Response>
    where
        F: Fn(&Session) -> reqwest::RequestBuilder,
    {
        let session = self.auth.session().await?;
        let resp = send_with(&session, build(&session)).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        self.auth.invalidate(&session).await;
        let session = self.auth.session().await?;
        send_with(&session, build(&session)).await
    }

    async fn head(&self, id: &ImageId) -> Result<Option<Head>> {
        let resp = self
            .send(|s| self.client.head(self.object_url(s, id)))
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            s if s.is_success() => {}
            s => return Err(remote::status_error(BACKEND, &what(id), s)),
        }
        let h = |name| remote::header(&resp, name);
        // Not `resp.content_length()`: that is the (empty) body of a HEAD.
        let length = remote::header_length(&resp).unwrap_or(0);
        let head = if h("x-object-meta-ferrostack-manifest").is_some() {
            let size = h("x-object-meta-image-size")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::backend(BACKEND, "manifest without image size"))?;
            Head {
                size,
                kind: ObjectKind::Store,
            }
        } else if h("x-static-large-object").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            Head {
                size: length,
                kind: ObjectKind::Slo,
            }
        } else if let Some(m) = h("x-object-manifest") {
            Head {
                size: length,
                kind: ObjectKind::Dlo(m.to_string()),
            }
        } else {
            Head {
                size: length,
                kind: ObjectKind::Plain,
            }
        };
        Ok(Some(head))
    }

    /// Creates the image and segment containers once per store.
    async fn ensure_containers(&self) -> Result<()> {
        if !self.config.create_container || self.containers_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut names = vec![self.config.container.clone()];
        let segments = self.config.segment_container();
        if segments != self.config.container {
            names.push(segments);
        }
        for name in names {
            let resp = self
                .send(|s| {
                    self.client
                        .put(format!("{}/{name}", s.storage_url))
                        .header(header::CONTENT_LENGTH, 0)
                })
                .await?;
            if !resp.status().is_success() {
                return Err(remote::status_error(
                    BACKEND,
                    &format!("container {name}"),
                    resp.status(),
                ));
            }
        }
        self.containers_ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn delete_object(&self, container: &str, name: &str) -> Result<()> {
        let resp = self
            .send(|s| self.client.delete(Self::url(s, container, name)))
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            s => Err(remote::status_error(BACKEND, name, s)),
        }
    }

    fn location(&self, session: &Session, id: &ImageId) -> String {
        let (scheme, rest) = session
            .storage_url
            .split_once("://")
            .unwrap_or(("http", session.storage_url.as_str()));
        let host = rest.split('/').next().unwrap_or(rest);
        format!("swift+{scheme}://{host}/{}/{id}", self.config.container)
    }
}

async fn send_with(session: &Session, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
    req.header("x-auth-token", session.token.expose())
        .send()
        .await
        .map_err(|e| remote::transport(BACKEND, e))
}

fn what(id: &ImageId) -> String {
    format!("image data {id}")
}

#[async_trait]
impl ImageStore for SwiftImageStore {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::full()
    }

    async fn put(&self, id: &ImageId, data: ByteStream, opts: PutOptions) -> Result<StoredImage> {
        let _guard = self.locks.lock(id).await;
        if self.head(id).await?.is_some() {
            return Err(Error::already_exists(what(id)));
        }
        self.ensure_containers().await?;
        let hasher = ImageHasher::new(&opts);
        let hashes = match opts.expected_size {
            Some(n) if n < self.config.large_object_size => {
                self.put_streaming(id, data, hasher, n).await?
            }
            _ => self.put_buffered(id, data, hasher).await?,
        };
        let session = self.auth.session().await?;
        Ok(StoredImage {
            size: hashes.size,
            md5: hashes.md5,
            sha512: hashes.sha512,
            location: self.location(&session, id),
        })
    }

    async fn get(&self, id: &ImageId, opts: GetOptions) -> Result<ByteStream> {
        let Some(range) = opts.range else {
            let resp = self
                .send(|s| self.client.get(self.object_url(s, id)))
                .await?;
            let status = resp.status();
            if !status.is_success() {
                return Err(remote::status_error(BACKEND, &what(id), status));
            }
            if remote::header(&resp, "x-object-meta-ferrostack-manifest").is_some() {
                let manifest = large::StoreManifest::parse(resp).await?;
                let size = manifest.size;
                return self.segments_stream(manifest, 0, size).await;
            }
            return Ok(remote::response_stream(BACKEND, resp));
        };
        let head = self
            .head(id)
            .await?
            .ok_or_else(|| Error::not_found(what(id)))?;
        let (offset, len) = range.resolve(head.size)?;
        if let ObjectKind::Store = head.kind {
            let manifest = self.read_manifest(id).await?;
            return self.segments_stream(manifest, offset, len).await;
        }
        let resp = self
            .send(|s| {
                self.client
                    .request(Method::GET, self.object_url(s, id))
                    .header(header::RANGE, remote::range_header(offset, len))
            })
            .await?;
        large::ranged_body(resp, &what(id), offset, len)
    }

    async fn delete(&self, id: &ImageId) -> Result<()> {
        let head = self
            .head(id)
            .await?
            .ok_or_else(|| Error::not_found(what(id)))?;
        let name = id.to_string();
        match head.kind {
            ObjectKind::Plain => self.delete_object(&self.config.container, &name).await,
            ObjectKind::Slo => {
                let resp = self
                    .send(|s| {
                        self.client.delete(format!(
                            "{}?multipart-manifest=delete",
                            self.object_url(s, id)
                        ))
                    })
                    .await?;
                match resp.status() {
                    s if s.is_success() => Ok(()),
                    s => Err(remote::status_error(BACKEND, &what(id), s)),
                }
            }
            ObjectKind::Dlo(prefix) => {
                self.delete_object(&self.config.container, &name).await?;
                self.delete_dlo_segments(&prefix).await
            }
            ObjectKind::Store => {
                let manifest = self.read_manifest(id).await?;
                self.delete_object(&self.config.container, &name).await?;
                let names: Vec<String> = manifest.segments.into_iter().map(|s| s.name).collect();
                self.delete_segments(&manifest.container, &names).await;
                Ok(())
            }
        }
    }

    async fn exists(&self, id: &ImageId) -> Result<bool> {
        Ok(self.head(id).await?.is_some())
    }
}
