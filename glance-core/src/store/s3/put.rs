//! Writing one object: the streaming PUT of a known size, the buffered
//! PUT of a small image, and the ETag check after each.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::Method;

use super::{s3_error, sigv4, S3ImageStore, S3Request, BACKEND};
use crate::error::{Error, Result};
use crate::store::remote;
use crate::store::{ImageHasher, ImageHashes};
use crate::stream::ByteStream;

impl S3ImageStore {
    /// One streaming PUT of exactly `size` bytes.
    pub(super) async fn put_streaming(
        &self,
        key: &str,
        data: ByteStream,
        hasher: ImageHasher,
        size: u64,
    ) -> Result<ImageHashes> {
        let (body, tap) = remote::hashed_body(data, hasher, Some(size));
        let len = size.to_string();
        let r = S3Request {
            method: Method::PUT,
            key: Some(key),
            query: &[],
            headers: &[("content-length", &len), ("if-none-match", "*")],
            payload_hash: sigv4::UNSIGNED_PAYLOAD,
        };
        let sent = self.send(self.request(&r).body(body)).await;
        if let Some(e) = tap.take_error() {
            if matches!(&sent, Ok(r) if r.status().is_success()) {
                // The service took a body we then found bad: take it back.
                let _ = self.delete_key(key).await;
            }
            return Err(e);
        }
        let hashes = tap.finish(BACKEND)?;
        self.check_put(sent?, key, &hashes.md5).await?;
        Ok(hashes)
    }

    /// A PUT of a buffered object.
    pub(super) async fn put_bytes(&self, key: &str, body: Bytes, md5: &str) -> Result<()> {
        let r = S3Request {
            method: Method::PUT,
            key: Some(key),
            query: &[],
            headers: &[("if-none-match", "*")],
            payload_hash: sigv4::UNSIGNED_PAYLOAD,
        };
        let resp = self.send(self.request(&r).body(body)).await?;
        self.check_put(resp, key, md5).await
    }

    /// Maps a PUT's status and checks its ETag against `md5`.
    async fn check_put(&self, resp: reqwest::Response, key: &str, md5: &str) -> Result<()> {
        let status = resp.status();
        if !status.is_success() {
            return Err(s3_error(resp, status, key).await);
        }
        let etag = remote::header(&resp, "etag").map(|e| e.trim_matches('"'));
        if etag.is_some_and(|e| !e.eq_ignore_ascii_case(md5)) {
            let _ = self.delete_key(key).await;
            return Err(Error::backend(
                BACKEND,
                format!("etag of {key} does not match the md5 of the data sent"),
            ));
        }
        Ok(())
    }

    /// Buffers up to one part: small data is one PUT, the rest multipart.
    pub(super) async fn put_buffered(
        &self,
        key: &str,
        mut data: ByteStream,
        mut hasher: ImageHasher,
    ) -> Result<ImageHashes> {
        let part = usize::try_from(self.config.part_size).unwrap_or(usize::MAX);
        let mut buf = BytesMut::new();
        while buf.len() < part {
            match data.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    hasher.update(&chunk)?;
                    buf.extend_from_slice(&chunk);
                }
                None if (buf.len() as u64) < self.config.large_object_size => {
                    let hashes = hasher.finish()?;
                    self.put_bytes(key, buf.freeze(), &hashes.md5).await?;
                    return Ok(hashes);
                }
                None => break,
            }
        }
        self.put_multipart(key, buf, data, hasher, self.config.part_size)
            .await
    }
}
