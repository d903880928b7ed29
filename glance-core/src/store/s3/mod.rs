//! The S3 image store: image data as objects `<bucket>/<id>` of an S3
//! service (AWS, Ceph RGW, Swift's s3api, moto), signed with SigV4
//! ([`sigv4`], by hand) and with `UNSIGNED-PAYLOAD` for data, so that no
//! image is buffered to hash it.
//!
//! A put of a known size below `large_object_size` is one streaming `PUT`
//! with `Content-Length`. Otherwise the store buffers up to one part: if
//! the data ends within it (and is small) that is one `PUT` too, else the
//! data goes up as a multipart upload, one part at a time (parts of
//! `max(part_size, size / 10000)`, or `part_size` when the size is
//! unknown), aborted on any failure. Writes send `If-None-Match: *` and
//! are preceded by a HEAD; puts on one id are also serialised within the
//! store, so of two concurrent puts one wins even where the service
//! ignores `If-None-Match`. Every ETag of a plain object or part is checked
//! against our own MD5.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use reqwest::{header, Method, StatusCode};

use super::remote::{self, PutLocks};
use super::{GetOptions, ImageHasher, ImageStore, PutOptions, StoreCapabilities, StoredImage};
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::stream::ByteStream;

mod config;
mod multipart;
mod put;
pub(crate) mod sigv4;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod through_swift_tests;

pub use config::{S3Addressing, S3StoreConfig};

const BACKEND: &str = "s3";

/// Stores images in an S3 bucket.
#[derive(Debug)]
pub struct S3ImageStore {
    config: S3StoreConfig,
    client: reqwest::Client,
    endpoint: reqwest::Url,
    virtual_host: bool,
    locks: PutLocks,
    bucket_ready: AtomicBool,
}

/// One request to sign: the key (none for the bucket itself), query
/// parameters, extra headers to sign and send, and the payload hash.
struct S3Request<'a> {
    method: Method,
    key: Option<&'a str>,
    query: &'a [(&'a str, &'a str)],
    headers: &'a [(&'a str, &'a str)],
    payload_hash: &'a str,
}

impl S3ImageStore {
    /// A store for `config`; validates it but does no I/O.
    pub fn new(config: S3StoreConfig) -> Result<Self> {
        config.validate()?;
        let endpoint = reqwest::Url::parse(&config.endpoint)
            .map_err(|_| Error::config(format!("s3 endpoint {} is not a URL", config.endpoint)))?;
        Ok(Self {
            virtual_host: config.virtual_host(&endpoint),
            client: remote::client(BACKEND)?,
            config,
            endpoint,
            locks: PutLocks::default(),
            bucket_ready: AtomicBool::new(false),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &S3StoreConfig {
        &self.config
    }

    /// `host[:port]` of the endpoint, as reqwest sends it in `Host`.
    fn host(&self) -> String {
        let host = self.endpoint.host_str().unwrap_or_default();
        match self.endpoint.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    /// Builds and signs `r`; the caller adds the body.
    fn request(&self, r: &S3Request<'_>) -> reqwest::RequestBuilder {
        let bucket = &self.config.bucket;
        let key = r.key.unwrap_or_default();
        let (host, path) = if self.virtual_host {
            (format!("{bucket}.{}", self.host()), format!("/{key}"))
        } else if r.key.is_some() {
            (self.host(), format!("/{bucket}/{key}"))
        } else {
            (self.host(), format!("/{bucket}"))
        };
        let path = sigv4::uri_encode(&path, true);
        let query = sigv4::canonical_query(r.query);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let date = sigv4::amz_date(now);
        let mut headers = vec![
            ("host".to_string(), host.clone()),
            ("x-amz-date".to_string(), date.clone()),
            (
                "x-amz-content-sha256".to_string(),
                r.payload_hash.to_string(),
            ),
        ];
        headers.extend(
            r.headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let creds = sigv4::Credentials {
            access_key: &self.config.access_key,
            secret_key: self.config.secret_key.expose(),
            region: &self.config.region,
            service: "s3",
        };
        let signable = sigv4::Signable {
            method: r.method.as_str(),
            path: &path,
            query: &query,
            headers: &headers,
            payload_hash: r.payload_hash,
        };
        let auth = sigv4::authorization(&creds, &signable, &date);
        let sep = if query.is_empty() { "" } else { "?" };
        let url = format!("{}://{host}{path}{sep}{query}", self.endpoint.scheme());
        let mut req = self.client.request(r.method.clone(), url);
        // `host` is set by reqwest from the URL, identically.
        for (k, v) in headers.iter().skip(1) {
            req = req.header(k.as_str(), v.as_str());
        }
        req.header(header::AUTHORIZATION, auth)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        req.send().await.map_err(|e| remote::transport(BACKEND, e))
    }

    /// Sends a request with a small buffered body (signed with its hash).
    async fn send_small(
        &self,
        method: Method,
        key: Option<&str>,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<reqwest::Response> {
        let hash = sigv4::sha256_hex(&body);
        let r = S3Request {
            method,
            key,
            query,
            headers,
            payload_hash: &hash,
        };
        self.send(self.request(&r).body(body)).await
    }

    /// The size of object `key`, or `None` if it does not exist.
    async fn head(&self, key: &str) -> Result<Option<u64>> {
        let resp = self
            .send_small(Method::HEAD, Some(key), &[], &[], Bytes::new())
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(remote::header_length(&resp).unwrap_or(0))),
            s => Err(s3_error(resp, s, key).await),
        }
    }

    async fn ensure_bucket(&self) -> Result<()> {
        if !self.config.create_bucket || self.bucket_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let body = if self.config.region == "us-east-1" {
            Bytes::new()
        } else {
            Bytes::from(format!(
                "<CreateBucketConfiguration><LocationConstraint>{}</LocationConstraint>\
                 </CreateBucketConfiguration>",
                self.config.region
            ))
        };
        let resp = self.send_small(Method::PUT, None, &[], &[], body).await?;
        let status = resp.status();
        if !status.is_success() {
            let text = remote::small_body(BACKEND, resp, 64 << 10)
                .await
                .unwrap_or_default();
            if !(status == StatusCode::CONFLICT && contains(&text, "BucketAlreadyOwnedByYou")) {
                return Err(Error::config(format!(
                    "cannot create s3 bucket {}: {status} {}",
                    self.config.bucket,
                    xml_value(&text, "Code").unwrap_or_default()
                )));
            }
        }
        self.bucket_ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn delete_key(&self, key: &str) -> Result<()> {
        let resp = self
            .send_small(Method::DELETE, Some(key), &[], &[], Bytes::new())
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            s => Err(s3_error(resp, s, key).await),
        }
    }
}

fn what(id: &ImageId) -> String {
    format!("image data {id}")
}

fn contains(body: &[u8], needle: &str) -> bool {
    body.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The text of the first `<tag>` element of an XML answer.
fn xml_value(body: &[u8], tag: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&format!("</{tag}>"))?;
    Some(
        text[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Maps an S3 error answer, naming its `<Code>`.
async fn s3_error(resp: reqwest::Response, status: StatusCode, what: &str) -> Error {
    let body = remote::small_body(BACKEND, resp, 64 << 10)
        .await
        .unwrap_or_default();
    let code = xml_value(&body, "Code").unwrap_or_default();
    match (status, code.as_str()) {
        (_, "NoSuchBucket") => Error::config(format!("s3 bucket for {what} does not exist")),
        (StatusCode::FORBIDDEN, _) => Error::config(format!("s3 refused access to {what}: {code}")),
        (_, "EntityTooSmall" | "InvalidPart" | "InvalidPartOrder") => {
            Error::backend(BACKEND, format!("{code} for {what}"))
        }
        _ => remote::status_error(BACKEND, what, status),
    }
}

#[async_trait]
impl ImageStore for S3ImageStore {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities::full()
    }

    async fn put(&self, id: &ImageId, data: ByteStream, opts: PutOptions) -> Result<StoredImage> {
        let key = id.to_string();
        let _guard = self.locks.lock(id).await;
        if self.head(&key).await?.is_some() {
            return Err(Error::already_exists(what(id)));
        }
        self.ensure_bucket().await?;
        let hasher = ImageHasher::new(&opts);
        let hashes = match opts.expected_size {
            Some(n) if n < self.config.large_object_size => {
                self.put_streaming(&key, data, hasher, n).await?
            }
            Some(n) => {
                let part = self.config.part_size.max(n.div_ceil(config::MAX_PARTS));
                self.put_multipart(&key, BytesMut::new(), data, hasher, part)
                    .await?
            }
            None => self.put_buffered(&key, data, hasher).await?,
        };
        Ok(StoredImage {
            size: hashes.size,
            md5: hashes.md5,
            sha512: hashes.sha512,
            location: format!("s3://{}/{}/{id}", self.host(), self.config.bucket),
        })
    }

    async fn get(&self, id: &ImageId, opts: GetOptions) -> Result<ByteStream> {
        let key = id.to_string();
        let mut range = None;
        if let Some(r) = opts.range {
            let size = self
                .head(&key)
                .await?
                .ok_or_else(|| Error::not_found(what(id)))?;
            range = Some(r.resolve(size)?);
        }
        let value = range.map(|(offset, len)| remote::range_header(offset, len));
        let headers: Vec<(&str, &str)> = value.iter().map(|v| ("range", v.as_str())).collect();
        let r = S3Request {
            method: Method::GET,
            key: Some(&key),
            query: &[],
            headers: &headers,
            payload_hash: &sigv4::sha256_hex(b""),
        };
        let resp = self.send(self.request(&r)).await?;
        let status = resp.status();
        match range {
            _ if !status.is_success() => Err(s3_error(resp, status, &what(id)).await),
            Some((offset, len)) if status != StatusCode::PARTIAL_CONTENT => {
                if offset == 0 && remote::header_length(&resp) == Some(len) {
                    Ok(remote::response_stream(BACKEND, resp))
                } else {
                    Err(Error::backend(
                        BACKEND,
                        format!("range ignored for {}", what(id)),
                    ))
                }
            }
            _ => Ok(remote::response_stream(BACKEND, resp)),
        }
    }

    async fn delete(&self, id: &ImageId) -> Result<()> {
        let key = id.to_string();
        // S3's DELETE succeeds on missing keys: look first.
        if self.head(&key).await?.is_none() {
            return Err(Error::not_found(what(id)));
        }
        self.delete_key(&key).await
    }

    async fn exists(&self, id: &ImageId) -> Result<bool> {
        Ok(self.head(&id.to_string()).await?.is_some())
    }
}
