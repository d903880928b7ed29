//! Multipart uploads: create, upload parts one at a time (one part
//! buffered), complete, and abort on any failure.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest, Md5};
use reqwest::{Method, StatusCode};

use super::config::MAX_PARTS;
use super::{s3_error, sigv4, xml_value, S3ImageStore, S3Request, BACKEND};
use crate::error::{Error, Result};
use crate::store::remote;
use crate::store::{ImageHasher, ImageHashes};
use crate::stream::ByteStream;

impl S3ImageStore {
    /// Uploads `first` and the rest of `data` in parts of `part_size`
    /// bytes, then completes the upload; aborts it on any error.
    pub(super) async fn put_multipart(
        &self,
        key: &str,
        first: BytesMut,
        data: ByteStream,
        hasher: ImageHasher,
        part_size: u64,
    ) -> Result<ImageHashes> {
        let upload = self.create_upload(key).await?;
        let res = async {
            let (hashes, etags) = self
                .upload_parts(key, &upload, first, data, hasher, part_size)
                .await?;
            self.complete(key, &upload, &etags).await?;
            Ok(hashes)
        }
        .await;
        if res.is_err() {
            // Best effort: an upload left open only costs storage until
            // the bucket's lifecycle rules remove it.
            let _ = self
                .send_small(
                    Method::DELETE,
                    Some(key),
                    &[("uploadId", &upload)],
                    &[],
                    Bytes::new(),
                )
                .await;
        }
        res
    }

    async fn create_upload(&self, key: &str) -> Result<String> {
        let resp = self
            .send_small(
                Method::POST,
                Some(key),
                &[("uploads", "")],
                &[],
                Bytes::new(),
            )
            .await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(s3_error(resp, status, key).await);
        }
        let body = remote::small_body(BACKEND, resp, 64 << 10).await?;
        xml_value(&body, "UploadId")
            .ok_or_else(|| Error::backend(BACKEND, "no UploadId in the multipart answer"))
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload: &str,
        mut buf: BytesMut,
        mut data: ByteStream,
        mut hasher: ImageHasher,
        part_size: u64,
    ) -> Result<(ImageHashes, Vec<String>)> {
        let part = usize::try_from(part_size).unwrap_or(usize::MAX);
        let mut etags = Vec::new();
        loop {
            let ended = loop {
                if buf.len() >= part {
                    break false;
                }
                match data.next().await {
                    Some(chunk) => {
                        let chunk = chunk?;
                        hasher.update(&chunk)?;
                        buf.extend_from_slice(&chunk);
                    }
                    None => break true,
                }
            };
            // An empty image still needs one (empty) part.
            while buf.len() >= part || (ended && (!buf.is_empty() || etags.is_empty())) {
                if etags.len() as u64 >= MAX_PARTS {
                    return Err(Error::quota(format!(
                        "image data exceeds {MAX_PARTS} parts of {part_size} bytes"
                    )));
                }
                let take = buf.len().min(part);
                let body = buf.split_to(take).freeze();
                etags.push(self.upload_part(key, upload, etags.len() + 1, body).await?);
            }
            if ended {
                return Ok((hasher.finish()?, etags));
            }
        }
    }

    async fn upload_part(&self, key: &str, upload: &str, n: usize, body: Bytes) -> Result<String> {
        let md5 = hex::encode(Md5::digest(&body));
        let number = n.to_string();
        let r = S3Request {
            method: Method::PUT,
            key: Some(key),
            query: &[("partNumber", &number), ("uploadId", upload)],
            headers: &[],
            payload_hash: sigv4::UNSIGNED_PAYLOAD,
        };
        let resp = self.send(self.request(&r).body(body)).await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(s3_error(resp, status, key).await);
        }
        let etag = remote::header(&resp, "etag")
            .map(|e| e.trim_matches('"').to_string())
            .unwrap_or_default();
        if !etag.eq_ignore_ascii_case(&md5) {
            return Err(Error::backend(
                BACKEND,
                format!("etag of part {n} of {key} does not match the md5 of the data sent"),
            ));
        }
        Ok(etag)
    }

    async fn complete(&self, key: &str, upload: &str, etags: &[String]) -> Result<()> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, etag) in etags.iter().enumerate() {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>\"{etag}\"</ETag></Part>",
                i + 1
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let resp = self
            .send_small(
                Method::POST,
                Some(key),
                &[("uploadId", upload)],
                &[("if-none-match", "*")],
                Bytes::from(xml),
            )
            .await?;
        let status = resp.status();
        if status == StatusCode::PRECONDITION_FAILED {
            return Err(Error::already_exists(format!("image data {key}")));
        }
        if !status.is_success() {
            return Err(s3_error(resp, status, key).await);
        }
        // S3 may answer 200 and report the failure in the body.
        let body = remote::small_body(BACKEND, resp, 64 << 10).await?;
        if let Some(code) = xml_value(&body, "Code") {
            return Err(Error::backend(
                BACKEND,
                format!("completing the upload of {key} failed: {code}"),
            ));
        }
        Ok(())
    }
}
