//! Objects: PutObject (streamed), GetObject and HeadObject (ranges and
//! conditions), DeleteObject (idempotent).

use base64::Engine;
use http::Method;

use super::error::S3Error;
use super::S3Req;
use crate::headers::Headers;
use crate::proxy::response::Reply;

/// Where a multipart object keeps its S3 ETag (`"<md5 of md5s>-<n>"`).
pub(super) const ETAG_SYSMETA: &str = "x-object-sysmeta-s3api-etag";

/// Request headers passed to Swift unchanged on writes.
const PUT_HEADERS: &[&str] = &[
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
];

/// Response headers passed back unchanged on reads.
const GET_HEADERS: &[&str] = &[
    "content-length",
    "content-type",
    "content-range",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    "last-modified",
];

type S3Result = Result<Reply, S3Error>;

/// `"etag"`, quoted once.
pub(super) fn quoted(etag: &str) -> String {
    format!("\"{}\"", etag.trim_matches('"'))
}

impl S3Req {
    /// Whether container `bucket` exists.
    pub(super) async fn bucket_exists(&self, bucket: &str) -> Result<bool, S3Error> {
        let r = self
            .swift(Method::HEAD, Some(bucket), None, &[], Headers::new(), None)
            .await;
        match r.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            s => Err(S3Error::from_swift(s)),
        }
    }

    /// The error for a Swift 404 on an object of `bucket`.
    pub(super) async fn missing(&self, bucket: &str, what: S3Error) -> S3Error {
        match self.bucket_exists(bucket).await {
            Ok(true) => what,
            Ok(false) => S3Error::no_such_bucket(),
            Err(e) => e,
        }
    }

    /// Headers of a streamed write: the body's length or chunked coding.
    pub(super) fn length_headers(&self) -> Headers {
        let mut h = Headers::new();
        match self.header("content-length") {
            Some(n) => h.set("content-length", n),
            None => h.set("transfer-encoding", "chunked"),
        }
        h
    }

    pub(super) async fn put_object(&self, bucket: &str, key: &str) -> S3Result {
        let mut h = self.length_headers();
        for name in PUT_HEADERS {
            if let Some(v) = self.header(name) {
                h.set(*name, v);
            }
        }
        for (name, value) in self.headers.iter() {
            if let (Some(meta), Ok(v)) = (name.as_str().strip_prefix("x-amz-meta-"), value.to_str())
            {
                h.set(format!("x-object-meta-{meta}"), v);
            }
        }
        match self.header("if-none-match") {
            Some("*") => h.set("if-none-match", "*"),
            Some(_) => return Err(S3Error::not_implemented()),
            None => {}
        }
        if let Some(md5) = self.header("content-md5") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(md5.trim())
                .ok()
                .filter(|d| d.len() == 16)
                .ok_or_else(|| {
                    S3Error::new(
                        400,
                        "InvalidDigest",
                        "The Content-MD5 you specified is not valid.",
                    )
                })?;
            h.set("etag", hex::encode(raw));
        }
        let r = self
            .swift(
                Method::PUT,
                Some(bucket),
                Some(key),
                &[],
                h,
                Some(self.take_body()),
            )
            .await;
        match r.status {
            200..=299 => {
                let etag = r.headers.get("etag").unwrap_or_default().to_string();
                Ok(Reply::status(200).with("etag", quoted(&etag)))
            }
            404 => Err(S3Error::no_such_bucket()),
            411 => Err(S3Error::new(
                411,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
            )),
            422 => Err(S3Error::new(
                400,
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
            )),
            s => Err(S3Error::from_swift(s)),
        }
    }

    /// GetObject, or HeadObject for HEAD.
    pub(super) async fn get_object(&self, bucket: &str, key: &str) -> S3Result {
        // ETag conditions are ours to judge: a multipart object's S3 ETag
        // is not the MD5 the object servers compare against.
        if let Some(status) = self.etag_conditions(bucket, key).await? {
            return match status {
                412 => Err(S3Error::precondition_failed()),
                _ => Ok(Reply::status(304)),
            };
        }
        let mut h = Headers::new();
        for name in ["range", "if-modified-since", "if-unmodified-since"] {
            if let Some(v) = self.header(name) {
                h.set(name, v);
            }
        }
        let r = self
            .swift(self.method.clone(), Some(bucket), Some(key), &[], h, None)
            .await;
        match r.status {
            200 | 206 | 304 => {}
            404 => return Err(self.missing(bucket, S3Error::no_such_key()).await),
            s => return Err(S3Error::from_swift(s)),
        }
        let mut headers = Headers::new();
        for name in GET_HEADERS {
            if let Some(v) = r.headers.get(name) {
                headers.set(*name, v);
            }
        }
        for (name, value) in r.headers.with_prefix("x-object-meta-") {
            headers.set(
                format!("x-amz-meta-{}", &name["x-object-meta-".len()..]),
                value,
            );
        }
        let etag = r
            .headers
            .get(ETAG_SYSMETA)
            .or_else(|| r.headers.get("etag"))
            .unwrap_or_default();
        headers.set("etag", quoted(etag));
        headers.set("accept-ranges", "bytes");
        Ok(Reply {
            status: r.status,
            headers,
            body: r.body,
        })
    }

    /// Judges `If-Match` / `If-None-Match` against the object's S3 ETag:
    /// `Some(412)` or `Some(304)` when a condition fails.
    async fn etag_conditions(&self, bucket: &str, key: &str) -> Result<Option<u16>, S3Error> {
        let (if_match, if_none) = (self.header("if-match"), self.header("if-none-match"));
        if if_match.is_none() && if_none.is_none() {
            return Ok(None);
        }
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
        let current = match r.status {
            200..=299 => r
                .headers
                .get(ETAG_SYSMETA)
                .or_else(|| r.headers.get("etag"))
                .map(|e| e.trim_matches('"').to_string()),
            404 => None,
            s => return Err(S3Error::from_swift(s)),
        };
        let matches = |list: &str| {
            list.split(',')
                .map(|e| e.trim().trim_matches('"'))
                .any(|e| e == "*" && current.is_some() || current.as_deref() == Some(e))
        };
        if let Some(m) = if_match {
            if current.is_none() {
                return Err(self.missing(bucket, S3Error::no_such_key()).await);
            }
            if !matches(m) {
                return Ok(Some(412));
            }
        }
        if if_none.is_some_and(matches) {
            return Ok(Some(304));
        }
        Ok(None)
    }

    pub(super) async fn delete_object(&self, bucket: &str, key: &str) -> S3Result {
        let r = self
            .swift(
                Method::DELETE,
                Some(bucket),
                Some(key),
                &[],
                Headers::new(),
                None,
            )
            .await;
        match r.status {
            200..=299 => Ok(Reply::status(204)),
            404 => match self.bucket_exists(bucket).await? {
                true => Ok(Reply::status(204)),
                false => Err(S3Error::no_such_bucket()),
            },
            s => Err(S3Error::from_swift(s)),
        }
    }
}
