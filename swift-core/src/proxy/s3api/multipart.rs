//! Multipart uploads. Parts are objects `<key>/<upload>/<part:05>` in the
//! container `<bucket>+segments`, beside a marker object `<key>/<upload>`
//! that says the upload is open and keeps the final object's type and
//! metadata. Completing streams the parts in order into the final object
//! (the proxy has no large-object manifests yet), then deletes them.

use std::fmt::Write;

use futures::StreamExt;
use http::Method;
use md5::{Digest, Md5};

use super::error::S3Error;
use super::object::{quoted, ETAG_SYSMETA};
use super::xml::{escape, parse_complete, MAX_PARTS};
use super::{xml_reply, S3Req};
use crate::error::Error;
use crate::headers::Headers;
use crate::proxy::response::Reply;
use crate::stream::ByteStream;

type S3Result = Result<Reply, S3Error>;

/// The content type of upload markers.
pub(super) const UPLOAD_MARKER_TYPE: &str = "application/x-s3api-upload";
/// Where the final object's content type waits on the marker.
const TYPE_SYSMETA: &str = "x-object-sysmeta-s3api-content-type";
/// S3's smallest part (all but the last).
pub(crate) const MIN_PART_SIZE: u64 = 5 << 20;
/// The biggest CompleteMultipartUpload body we read.
const COMPLETE_BODY_LIMIT: usize = 2 << 20;
/// Part deletions in flight at once.
const DELETE_CONCURRENCY: usize = 8;

/// The segments container of `bucket`.
pub(super) fn segments(bucket: &str) -> String {
    format!("{bucket}+segments")
}

fn invalid_part() -> S3Error {
    S3Error::new(
        400,
        "InvalidPart",
        "One or more of the specified parts could not be found. The part might not have been \
         uploaded, or the specified entity tag might not have matched the part's entity tag.",
    )
}

impl S3Req {
    /// The marker's headers, or `NoSuchUpload`.
    async fn upload_marker(
        &self,
        bucket: &str,
        key: &str,
        upload: &str,
    ) -> Result<Headers, S3Error> {
        let valid = upload.len() == 32 && upload.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(S3Error::no_such_upload());
        }
        let marker = format!("{key}/{upload}");
        let r = self
            .swift(
                Method::HEAD,
                Some(&segments(bucket)),
                Some(&marker),
                &[],
                Headers::new(),
                None,
            )
            .await;
        match r.status {
            200..=299 => Ok(r.headers),
            404 => Err(S3Error::no_such_upload()),
            s => Err(S3Error::from_swift(s)),
        }
    }

    pub(super) async fn create_upload(&self, bucket: &str, key: &str) -> S3Result {
        if !self.bucket_exists(bucket).await? {
            return Err(S3Error::no_such_bucket());
        }
        let seg = segments(bucket);
        let r = self
            .swift(Method::PUT, Some(&seg), None, &[], Headers::new(), None)
            .await;
        if !(200..=299).contains(&r.status) {
            return Err(S3Error::from_swift(r.status));
        }
        let upload = uuid::Uuid::new_v4().simple().to_string();
        let mut h = Headers::new()
            .with("content-length", "0")
            .with("content-type", UPLOAD_MARKER_TYPE);
        if let Some(t) = self.header("content-type") {
            h.set(TYPE_SYSMETA, t);
        }
        for (name, value) in self.headers.iter() {
            if let (Some(meta), Ok(v)) = (name.as_str().strip_prefix("x-amz-meta-"), value.to_str())
            {
                h.set(format!("x-object-meta-{meta}"), v);
            }
        }
        let marker = format!("{key}/{upload}");
        let r = self
            .swift(Method::PUT, Some(&seg), Some(&marker), &[], h, None)
            .await;
        if !(200..=299).contains(&r.status) {
            return Err(S3Error::from_swift(r.status));
        }
        Ok(xml_reply(
            200,
            format!(
                "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Bucket>{}</Bucket><Key>{}</Key><UploadId>{upload}</UploadId>\
                 </InitiateMultipartUploadResult>",
                escape(bucket),
                escape(key)
            ),
        ))
    }

    pub(super) async fn upload_part(&self, bucket: &str, key: &str, upload: &str) -> S3Result {
        let number: u32 = self
            .query("partNumber")
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=MAX_PARTS).contains(n))
            .ok_or_else(|| {
                S3Error::invalid_argument(
                    "Part number must be an integer between 1 and 10000, inclusive",
                )
            })?;
        self.upload_marker(bucket, key, upload).await?;
        let name = format!("{key}/{upload}/{number:05}");
        let r = self
            .swift(
                Method::PUT,
                Some(&segments(bucket)),
                Some(&name),
                &[],
                self.length_headers(),
                Some(self.take_body()),
            )
            .await;
        match r.status {
            200..=299 => {
                Ok(Reply::status(200)
                    .with("etag", quoted(r.headers.get("etag").unwrap_or_default())))
            }
            404 => Err(S3Error::no_such_upload()),
            s => Err(S3Error::from_swift(s)),
        }
    }

    /// The uploaded parts: `(number, name, bytes, md5 hex)`.
    async fn parts(
        &self,
        bucket: &str,
        key: &str,
        upload: &str,
    ) -> Result<Vec<(u32, String, u64, String)>, S3Error> {
        let prefix = format!("{key}/{upload}/");
        let items = self
            .listing(
                Some(&segments(bucket)),
                &[("prefix", prefix.as_str()), ("limit", "10000")],
            )
            .await?
            .unwrap_or_default();
        Ok(items
            .iter()
            .filter_map(|i| {
                let name = i["name"].as_str()?;
                let number = name.strip_prefix(&prefix)?.parse().ok()?;
                Some((
                    number,
                    name.to_string(),
                    i["bytes"].as_u64()?,
                    i["hash"].as_str()?.to_string(),
                ))
            })
            .collect())
    }

    /// Deletes the upload's parts and then its marker.
    async fn remove_upload(&self, bucket: &str, key: &str, upload: &str) -> Result<(), S3Error> {
        let seg = segments(bucket);
        let parts = self.parts(bucket, key, upload).await?;
        let seg_ref = &seg;
        futures::stream::iter(parts)
            .map(|(_, name, _, _)| async move {
                self.swift(
                    Method::DELETE,
                    Some(seg_ref),
                    Some(&name),
                    &[],
                    Headers::new(),
                    None,
                )
                .await
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .for_each(|_| async {})
            .await;
        let marker = format!("{key}/{upload}");
        self.swift(
            Method::DELETE,
            Some(&seg),
            Some(&marker),
            &[],
            Headers::new(),
            None,
        )
        .await;
        Ok(())
    }

    pub(super) async fn abort_upload(&self, bucket: &str, key: &str, upload: &str) -> S3Result {
        self.upload_marker(bucket, key, upload).await?;
        self.remove_upload(bucket, key, upload).await?;
        Ok(Reply::status(204))
    }

    pub(super) async fn complete_upload(&self, bucket: &str, key: &str, upload: &str) -> S3Result {
        let body = self.small_body(COMPLETE_BODY_LIMIT).await?;
        let wanted = parse_complete(&body)?;
        let marker = self.upload_marker(bucket, key, upload).await?;
        let if_none_match = match self.header("if-none-match") {
            Some("*") => true,
            Some(_) => return Err(S3Error::not_implemented()),
            None => false,
        };
        if if_none_match {
            let r = self
                .swift(
                    Method::HEAD,
                    Some(bucket),
                    Some(key),
                    &[],
                    Headers::new(),
                    None,
                )
                .await;
            if (200..=299).contains(&r.status) {
                return Err(S3Error::precondition_failed());
            }
        }
        let stored = self.parts(bucket, key, upload).await?;
        let mut names = Vec::with_capacity(wanted.len());
        let mut total = 0u64;
        let mut md5s = Md5::new();
        for (i, part) in wanted.iter().enumerate() {
            let (_, name, bytes, hash) = stored
                .iter()
                .find(|(n, ..)| *n == part.number)
                .filter(|(.., hash)| hash.eq_ignore_ascii_case(&part.etag))
                .ok_or_else(invalid_part)?;
            if i + 1 < wanted.len() && *bytes < MIN_PART_SIZE {
                return Err(S3Error::new(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                ));
            }
            md5s.update(hex::decode(hash).map_err(|_| S3Error::internal())?);
            total += bytes;
            names.push(name.clone());
        }
        let etag = format!("{}-{}", hex::encode(md5s.finalize()), wanted.len());
        let mut h = Headers::new()
            .with("content-length", total.to_string())
            .with(ETAG_SYSMETA, etag.clone())
            .with(
                "content-type",
                marker
                    .get(TYPE_SYSMETA)
                    .unwrap_or("application/octet-stream"),
            );
        for (name, value) in marker.with_prefix("x-object-meta-") {
            h.set(name, value);
        }
        if if_none_match {
            h.set("if-none-match", "*");
        }
        let r = self
            .swift(
                Method::PUT,
                Some(bucket),
                Some(key),
                &[],
                h,
                Some(self.concatenated(bucket, names)),
            )
            .await;
        match r.status {
            200..=299 => {}
            412 => return Err(S3Error::precondition_failed()),
            404 => return Err(S3Error::no_such_bucket()),
            s => return Err(S3Error::from_swift(s)),
        }
        if let Err(e) = self.remove_upload(bucket, key, upload).await {
            tracing::warn!(code = e.code, "leftover parts of a completed s3 upload");
        }
        let mut xml = String::from(
            "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
        );
        let _ = write!(
            xml,
            "<Location>/{0}/{1}</Location><Bucket>{0}</Bucket><Key>{1}</Key><ETag>{2}</ETag>\
             </CompleteMultipartUploadResult>",
            escape(bucket),
            escape(key),
            escape(&quoted(&etag))
        );
        Ok(xml_reply(200, xml))
    }

    /// The parts' data, one after another, read as they are needed.
    fn concatenated(&self, bucket: &str, names: Vec<String>) -> ByteStream {
        let swift = self.swift_as.clone();
        let seg = segments(bucket);
        futures::stream::iter(names)
            .then(move |name| {
                let (swift, seg) = (swift.clone(), seg.clone());
                async move {
                    let r = swift
                        .call(
                            Method::GET,
                            Some(&seg),
                            Some(&name),
                            &[],
                            Headers::new(),
                            None,
                        )
                        .await;
                    if r.status == 200 {
                        r.body
                    } else {
                        let e = Error::Unavailable {
                            reason: format!("part {name} answered {}", r.status),
                        };
                        futures::stream::once(async move { Err(e) }).boxed()
                    }
                }
            })
            .flatten()
            .boxed()
    }
}
