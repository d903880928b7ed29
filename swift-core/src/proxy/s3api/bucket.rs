//! Buckets: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
//! ListObjects (v1 and v2), ListMultipartUploads.

use std::fmt::Write;

use http::Method;

use super::error::S3Error;
use super::multipart::{segments, UPLOAD_MARKER_TYPE};
use super::object::quoted;
use super::sigv4::uri_encode;
use super::xml::escape;
use super::{s3_time, xml_reply, S3Req};
use crate::headers::Headers;
use crate::proxy::response::Reply;
use crate::stream;

type S3Result = Result<Reply, S3Error>;

const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// The most keys of one listing.
const MAX_KEYS: usize = 1000;
/// The biggest Swift listing we read.
const LISTING_LIMIT: usize = 16 << 20;

/// S3's bucket naming rules (the DNS-compatible ones).
pub(super) fn valid_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && !b.starts_with(['-', '.'])
        && !b.ends_with(['-', '.'])
        && !b.contains("..")
}

impl S3Req {
    /// A Swift JSON listing (`format=json`), or `None` on 404.
    pub(super) async fn listing(
        &self,
        container: Option<&str>,
        query: &[(&str, &str)],
    ) -> Result<Option<Vec<serde_json::Value>>, S3Error> {
        let mut q = vec![("format", "json")];
        q.extend_from_slice(query);
        let r = self
            .swift(Method::GET, container, None, &q, Headers::new(), None)
            .await;
        match r.status {
            200 => {}
            204 => return Ok(Some(Vec::new())),
            404 => return Ok(None),
            s => return Err(S3Error::from_swift(s)),
        }
        let body = stream::collect(r.body, LISTING_LIMIT)
            .await
            .map_err(|_| S3Error::internal())?;
        serde_json::from_slice(&body)
            .map_err(|_| S3Error::internal())
            .map(Some)
    }

    fn encode_key(&self, key: &str) -> String {
        if self.query("encoding-type") == Some("url") {
            uri_encode(key, true)
        } else {
            key.to_string()
        }
    }

    pub(super) async fn list_buckets(&self) -> S3Result {
        let list = self.listing(None, &[]).await?.unwrap_or_default();
        let mut xml = format!(
            "<ListAllMyBucketsResult xmlns=\"{NS}\"><Owner><ID>{0}</ID><DisplayName>{0}</DisplayName>\
             </Owner><Buckets>",
            escape(&self.swift_as.account)
        );
        for c in &list {
            let Some(name) = c["name"].as_str() else {
                continue;
            };
            if name.ends_with("+segments") {
                continue;
            }
            let created = c["last_modified"]
                .as_str()
                .map_or_else(|| "2009-02-03T16:45:09.000Z".to_string(), s3_time);
            let _ = write!(
                xml,
                "<Bucket><Name>{}</Name><CreationDate>{created}</CreationDate></Bucket>",
                escape(name)
            );
        }
        xml.push_str("</Buckets></ListAllMyBucketsResult>");
        Ok(xml_reply(200, xml))
    }

    pub(super) async fn create_bucket(&self, bucket: &str) -> S3Result {
        if !valid_bucket_name(bucket) {
            return Err(S3Error::new(
                400,
                "InvalidBucketName",
                "The specified bucket is not valid.",
            ));
        }
        // The body is at most a LocationConstraint; any region is ours.
        self.small_body(64 << 10).await?;
        let r = self
            .swift(Method::PUT, Some(bucket), None, &[], Headers::new(), None)
            .await;
        match r.status {
            201 => Ok(Reply::status(200).with("location", format!("/{bucket}"))),
            202 => Err(S3Error::new(
                409,
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
            )),
            s => Err(S3Error::from_swift(s)),
        }
    }

    pub(super) async fn head_bucket(&self, bucket: &str) -> S3Result {
        match self.bucket_exists(bucket).await? {
            true => Ok(Reply::status(200)),
            false => Err(S3Error::no_such_bucket()),
        }
    }

    pub(super) async fn delete_bucket(&self, bucket: &str) -> S3Result {
        let r = self
            .swift(
                Method::DELETE,
                Some(bucket),
                None,
                &[],
                Headers::new(),
                None,
            )
            .await;
        match r.status {
            200..=299 => {
                // Best effort: an empty segments container goes too.
                let seg = segments(bucket);
                let _ = self
                    .swift(Method::DELETE, Some(&seg), None, &[], Headers::new(), None)
                    .await;
                Ok(Reply::status(204))
            }
            404 => Err(S3Error::no_such_bucket()),
            409 => Err(S3Error::new(
                409,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty.",
            )),
            s => Err(S3Error::from_swift(s)),
        }
    }

    pub(super) async fn list_objects(&self, bucket: &str) -> S3Result {
        let v2 = self.query("list-type") == Some("2");
        let max_keys = match self.query("max-keys") {
            Some(m) => m
                .parse::<usize>()
                .map_err(|_| {
                    S3Error::invalid_argument(
                        "Provided max-keys not an integer or within integer range",
                    )
                })?
                .min(MAX_KEYS),
            None => MAX_KEYS,
        };
        let prefix = self.query("prefix").unwrap_or("");
        let delimiter = self.query("delimiter").unwrap_or("");
        let marker = if v2 {
            self.query("continuation-token")
                .or_else(|| self.query("start-after"))
                .unwrap_or("")
        } else {
            self.query("marker").unwrap_or("")
        };
        let limit = (max_keys + 1).to_string();
        let mut q = vec![("limit", limit.as_str())];
        for (k, v) in [
            ("prefix", prefix),
            ("delimiter", delimiter),
            ("marker", marker),
        ] {
            if !v.is_empty() {
                q.push((k, v));
            }
        }
        let mut items = self
            .listing(Some(bucket), &q)
            .await?
            .ok_or_else(S3Error::no_such_bucket)?;
        let truncated = items.len() > max_keys;
        items.truncate(max_keys);
        let last = items
            .last()
            .and_then(|i| i["name"].as_str().or_else(|| i["subdir"].as_str()))
            .unwrap_or("")
            .to_string();
        let mut xml = format!(
            "<ListBucketResult xmlns=\"{NS}\"><Name>{}</Name><Prefix>{}</Prefix>",
            escape(bucket),
            escape(&self.encode_key(prefix))
        );
        if v2 {
            if let Some(t) = self.query("continuation-token") {
                let _ = write!(xml, "<ContinuationToken>{}</ContinuationToken>", escape(t));
            }
            if let Some(s) = self.query("start-after") {
                let _ = write!(
                    xml,
                    "<StartAfter>{}</StartAfter>",
                    escape(&self.encode_key(s))
                );
            }
            let _ = write!(xml, "<KeyCount>{}</KeyCount>", items.len());
        } else {
            let _ = write!(xml, "<Marker>{}</Marker>", escape(&self.encode_key(marker)));
        }
        let _ = write!(xml, "<MaxKeys>{max_keys}</MaxKeys>");
        if !delimiter.is_empty() {
            let _ = write!(xml, "<Delimiter>{}</Delimiter>", escape(delimiter));
        }
        if self.query("encoding-type") == Some("url") {
            xml.push_str("<EncodingType>url</EncodingType>");
        }
        let _ = write!(xml, "<IsTruncated>{truncated}</IsTruncated>");
        if truncated && v2 {
            let _ = write!(
                xml,
                "<NextContinuationToken>{}</NextContinuationToken>",
                escape(&last)
            );
        } else if truncated && !delimiter.is_empty() {
            let _ = write!(
                xml,
                "<NextMarker>{}</NextMarker>",
                escape(&self.encode_key(&last))
            );
        }
        for item in &items {
            if let Some(name) = item["name"].as_str() {
                let _ = write!(
                    xml,
                    "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag>\
                     <Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                    escape(&self.encode_key(name)),
                    s3_time(item["last_modified"].as_str().unwrap_or("")),
                    escape(&quoted(item["hash"].as_str().unwrap_or(""))),
                    item["bytes"].as_u64().unwrap_or(0)
                );
            }
        }
        for item in &items {
            if let Some(p) = item["subdir"].as_str() {
                let _ = write!(
                    xml,
                    "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                    escape(&self.encode_key(p))
                );
            }
        }
        xml.push_str("</ListBucketResult>");
        Ok(xml_reply(200, xml))
    }

    /// ListMultipartUploads: the open uploads' markers (first 1000).
    pub(super) async fn list_uploads(&self, bucket: &str) -> S3Result {
        if !self.bucket_exists(bucket).await? {
            return Err(S3Error::no_such_bucket());
        }
        let prefix = self.query("prefix").unwrap_or("");
        let q: Vec<(&str, &str)> = if prefix.is_empty() {
            vec![]
        } else {
            vec![("prefix", prefix)]
        };
        let items = self
            .listing(Some(&segments(bucket)), &q)
            .await?
            .unwrap_or_default();
        let mut xml = format!(
            "<ListMultipartUploadsResult xmlns=\"{NS}\"><Bucket>{}</Bucket><KeyMarker/>\
             <UploadIdMarker/><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>",
            escape(bucket)
        );
        for item in &items {
            if item["content_type"].as_str() != Some(UPLOAD_MARKER_TYPE) {
                continue;
            }
            let Some((key, upload)) = item["name"].as_str().and_then(|n| n.rsplit_once('/')) else {
                continue;
            };
            let _ = write!(
                xml,
                "<Upload><Key>{}</Key><UploadId>{}</UploadId><Initiated>{}</Initiated>\
                 <StorageClass>STANDARD</StorageClass></Upload>",
                escape(key),
                escape(upload),
                s3_time(item["last_modified"].as_str().unwrap_or(""))
            );
        }
        xml.push_str("</ListMultipartUploadsResult>");
        Ok(xml_reply(200, xml))
    }
}
