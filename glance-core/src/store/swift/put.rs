//! Writing one object: the streaming PUT of a known size, buffered PUTs
//! (small images, segments) and the ETag check after each.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::{header, StatusCode};

use super::{send_with, SwiftImageStore, BACKEND};
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::store::remote;
use crate::store::{ImageHasher, ImageHashes};
use crate::stream::ByteStream;

impl SwiftImageStore {
    /// One streaming PUT of exactly `size` bytes.
    pub(super) async fn put_streaming(
        &self,
        id: &ImageId,
        data: ByteStream,
        hasher: ImageHasher,
        size: u64,
    ) -> Result<ImageHashes> {
        // The HEAD before us refreshed the token: a streamed body cannot
        // be sent twice, so this request is not retried.
        let session = self.auth.session().await?;
        let (body, tap) = remote::hashed_body(data, hasher, Some(size));
        let req = self
            .client
            .put(self.object_url(&session, id))
            .header(header::CONTENT_LENGTH, size)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::IF_NONE_MATCH, "*")
            .body(body);
        let sent = send_with(&session, req).await;
        if let Some(e) = tap.take_error() {
            if matches!(&sent, Ok(r) if r.status().is_success()) {
                // The proxy took a body we then found bad: take it back.
                let _ = self
                    .delete_object(&self.config.container, &id.to_string())
                    .await;
            }
            return Err(e);
        }
        let resp = sent?;
        let hashes = tap.finish(BACKEND)?;
        self.check_put(&resp, &self.config.container, &id.to_string(), &hashes.md5)
            .await?;
        Ok(hashes)
    }

    /// PUTs a buffered body to `container/name` with `If-None-Match: *`
    /// (retried once on 401), checking the ETag against `md5`.
    pub(super) async fn put_bytes(
        &self,
        container: &str,
        name: &str,
        body: Bytes,
        md5: &str,
        extra: &[(&str, String)],
    ) -> Result<()> {
        let resp = self
            .send(|s| {
                let mut req = self
                    .client
                    .put(Self::url(s, container, name))
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::IF_NONE_MATCH, "*")
                    .body(body.clone());
                for (k, v) in extra {
                    req = req.header(*k, v.as_str());
                }
                req
            })
            .await?;
        self.check_put(&resp, container, name, md5).await
    }

    /// Maps a PUT's status; on success checks its ETag against `md5` (and
    /// removes the object if they differ).
    async fn check_put(
        &self,
        resp: &reqwest::Response,
        container: &str,
        name: &str,
        md5: &str,
    ) -> Result<()> {
        let status = resp.status();
        if status == StatusCode::PRECONDITION_FAILED {
            return Err(Error::already_exists(format!("image data {name}")));
        }
        if status == StatusCode::NOT_FOUND {
            return Err(Error::config(format!(
                "swift container {container} does not exist"
            )));
        }
        if !status.is_success() {
            return Err(remote::status_error(BACKEND, name, status));
        }
        let etag = remote::header(resp, "etag").map(|e| e.trim_matches('"'));
        if etag.is_some_and(|e| !e.eq_ignore_ascii_case(md5)) {
            let _ = self.delete_object(container, name).await;
            return Err(Error::backend(
                BACKEND,
                format!("etag of {name} does not match the md5 of the data sent"),
            ));
        }
        Ok(())
    }

    /// Reads up to one segment; if the data ends there and is small it
    /// is one PUT, else it is written as segments plus a manifest.
    pub(super) async fn put_buffered(
        &self,
        id: &ImageId,
        mut data: ByteStream,
        mut hasher: ImageHasher,
    ) -> Result<ImageHashes> {
        let segment = usize::try_from(self.config.segment_size).unwrap_or(usize::MAX);
        let mut buf = BytesMut::new();
        let mut ended = false;
        while buf.len() < segment {
            match data.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    hasher.update(&chunk)?;
                    buf.extend_from_slice(&chunk);
                }
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if ended && (buf.len() as u64) < self.config.large_object_size {
            let hashes = hasher.finish()?;
            let name = id.to_string();
            self.put_bytes(
                &self.config.container,
                &name,
                buf.freeze(),
                &hashes.md5,
                &[],
            )
            .await?;
            return Ok(hashes);
        }
        self.put_segmented(id, buf, data, hasher).await
    }
}
