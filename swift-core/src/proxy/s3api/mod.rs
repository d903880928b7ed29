//! S3 on the proxy port, like Swift's s3api middleware: requests signed
//! with AWS Signature Version 4 (an `Authorization: AWS4-HMAC-SHA256 ...`
//! header or a presigned URL) are verified against a secret looked up
//! through [`S3Credentials`] and translated to Swift requests on account
//! `<reseller_prefix><project_id>`, run as an identity that owns exactly
//! that account.
//!
//! Buckets are containers and keys objects. Multipart uploads keep their
//! parts as objects `<key>/<upload id>/<part:05>` (and a marker object
//! `<key>/<upload id>`) in the container `<bucket>+segments`; completing
//! an upload copies the parts in order into the final object and then
//! deletes them. Errors are S3's XML documents.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use percent_encoding::percent_decode_str;

use super::response::Reply;
use super::{Identity, Inner};
use crate::headers::Headers;
use crate::stream::{self, ByteStream, SwiftBody};

mod bucket;
mod credentials;
mod error;
mod multipart;
mod object;
mod sigv4;
mod verify;
mod xml;

#[cfg(test)]
mod tests;

pub use credentials::{S3Credential, S3Credentials, S3Secret, StaticS3Credentials};
use error::S3Error;

/// The proxy's S3 settings.
#[derive(Debug)]
pub(crate) struct S3Api {
    pub(crate) credentials: Arc<dyn S3Credentials>,
    pub(crate) reseller_prefix: String,
}

/// Whether `req` is an S3 request (SigV4-signed).
pub(crate) fn is_s3_request(req: &http::Request<SwiftBody>) -> bool {
    sigv4::is_signed(req.headers(), req.uri().query())
}

/// One S3 request on its way to Swift.
pub(crate) struct S3Req {
    swift_as: SwiftAs,
    method: http::Method,
    bucket: Option<String>,
    key: Option<String>,
    query: Vec<(String, String)>,
    headers: http::HeaderMap,
    body: Mutex<Option<ByteStream>>,
}

/// Query parameters of S3 features we do not offer.
const UNSUPPORTED: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "encryption",
    "lifecycle",
    "logging",
    "notification",
    "policy",
    "replication",
    "restore",
    "select",
    "tagging",
    "torrent",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Runs Swift requests on one account as one identity; cheap to clone
/// into the streams that outlive a request's borrows.
#[derive(Clone)]
pub(crate) struct SwiftAs {
    inner: Arc<Inner>,
    trans_id: String,
    identity: Identity,
    account: String,
}

/// Serves one S3 request.
pub(crate) async fn handle(
    inner: &Arc<Inner>,
    api: &S3Api,
    req: http::Request<SwiftBody>,
    trans_id: &str,
) -> Reply {
    let (parts, body) = req.into_parts();
    let resource = percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let mismatch = Arc::new(AtomicBool::new(false));
    let result = match authenticate(inner, api, &parts).await {
        Ok((identity, account, payload_hash)) => {
            let body = verify::body(
                stream::body_to_stream(body),
                &payload_hash,
                mismatch.clone(),
            );
            let (bucket, key) = match resource.strip_prefix('/').unwrap_or("").split_once('/') {
                Some((b, k)) => (b.to_string(), Some(k.to_string()).filter(|k| !k.is_empty())),
                None => (resource.trim_start_matches('/').to_string(), None),
            };
            let r = S3Req {
                swift_as: SwiftAs {
                    inner: inner.clone(),
                    trans_id: trans_id.to_string(),
                    identity,
                    account,
                },
                method: parts.method.clone(),
                bucket: Some(bucket).filter(|b| !b.is_empty()),
                key,
                query: sigv4::query_pairs(parts.uri.query()),
                headers: parts.headers.clone(),
                body: Mutex::new(Some(body)),
            };
            r.dispatch().await
        }
        Err(e) => Err(e),
    };
    let result = if mismatch.load(Ordering::Acquire) {
        Err(S3Error::new(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ))
    } else {
        result
    };
    match result {
        Ok(reply) => reply,
        Err(e) => e.into_reply(&resource, trans_id),
    }
    .with("x-amz-request-id", trans_id.to_string())
}

/// Verifies the signature; the identity, its account and the payload hash.
async fn authenticate(
    inner: &Inner,
    api: &S3Api,
    parts: &http::request::Parts,
) -> std::result::Result<(Identity, String, String), S3Error> {
    let query = sigv4::query_pairs(parts.uri.query());
    let auth = sigv4::parse(&parts.headers, &query)?;
    let now = inner
        .clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    sigv4::check_time(&auth, now)?;
    let credential = match api.credentials.lookup(&auth.access).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Err(S3Error::new(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, "s3 credential lookup failed");
            return Err(S3Error::new(
                503,
                "ServiceUnavailable",
                "Please try again later.",
            ));
        }
    };
    let payload_hash = if auth.expires.is_some() {
        sigv4::UNSIGNED_PAYLOAD.to_string()
    } else {
        let h = parts
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                S3Error::new(
                    400,
                    "InvalidRequest",
                    "Missing required header for this request: x-amz-content-sha256",
                )
            })?;
        if h != sigv4::UNSIGNED_PAYLOAD && !verify::is_sha256_hex(h) {
            return Err(if h.starts_with("STREAMING-") {
                S3Error::not_implemented()
            } else {
                S3Error::new(
                    400,
                    "InvalidArgument",
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hash",
                )
            });
        }
        h.to_string()
    };
    let received = sigv4::Received {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        query: &query,
        headers: &parts.headers,
        payload_hash: &payload_hash,
    };
    sigv4::verify(&auth, &received, credential.secret.expose())?;
    let account = format!("{}{}", api.reseller_prefix, credential.project_id);
    let identity = Identity {
        user: format!("{account}:s3:{}", auth.access),
        groups: vec![account.clone()],
        read_only: Vec::new(),
    };
    Ok((identity, account, payload_hash))
}

impl S3Req {
    fn has_query(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn take_body(&self) -> ByteStream {
        self.body
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(stream::empty)
    }

    /// The whole (small) body, at most `limit` bytes.
    async fn small_body(&self, limit: usize) -> std::result::Result<Bytes, S3Error> {
        stream::collect(self.take_body(), limit)
            .await
            .map_err(|_| S3Error::new(400, "MaxMessageLengthExceeded", "Your request was too big."))
    }

    async fn dispatch(&self) -> std::result::Result<Reply, S3Error> {
        use http::Method;
        if let Some((k, _)) = self
            .query
            .iter()
            .find(|(k, _)| UNSUPPORTED.contains(&k.as_str()))
        {
            tracing::debug!(param = %k, "unsupported s3 subresource");
            return Err(S3Error::not_implemented());
        }
        let Some(bucket) = self.bucket.as_deref() else {
            return match self.method {
                Method::GET => self.list_buckets().await,
                _ => Err(method_not_allowed()),
            };
        };
        let Some(key) = self.key.as_deref() else {
            return match self.method {
                Method::PUT => self.create_bucket(bucket).await,
                Method::HEAD => self.head_bucket(bucket).await,
                Method::DELETE => self.delete_bucket(bucket).await,
                Method::GET if self.has_query("uploads") => self.list_uploads(bucket).await,
                Method::GET if self.has_query("location") => Ok(xml_reply(
                    200,
                    "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
                        .to_string(),
                )),
                Method::GET => self.list_objects(bucket).await,
                _ => Err(method_not_allowed()),
            };
        };
        let upload = self.query("uploadId").map(str::to_string);
        match (&self.method, upload) {
            (&Method::POST, None) if self.has_query("uploads") => {
                self.create_upload(bucket, key).await
            }
            (&Method::POST, Some(u)) => self.complete_upload(bucket, key, &u).await,
            (&Method::PUT, Some(u)) => self.upload_part(bucket, key, &u).await,
            (&Method::DELETE, Some(u)) => self.abort_upload(bucket, key, &u).await,
            (&Method::GET, Some(_)) => Err(S3Error::not_implemented()),
            (&Method::PUT, None) if self.headers.contains_key("x-amz-copy-source") => {
                Err(S3Error::not_implemented())
            }
            (&Method::PUT, None) => self.put_object(bucket, key).await,
            (&Method::GET | &Method::HEAD, None) => self.get_object(bucket, key).await,
            (&Method::DELETE, None) => self.delete_object(bucket, key).await,
            _ => Err(method_not_allowed()),
        }
    }

    /// Runs a Swift request on the S3 account as the S3 identity.
    async fn swift(
        &self,
        method: http::Method,
        container: Option<&str>,
        object: Option<&str>,
        query: &[(&str, &str)],
        headers: Headers,
        body: Option<ByteStream>,
    ) -> Reply {
        self.swift_as
            .call(method, container, object, query, headers, body)
            .await
    }
}

impl SwiftAs {
    /// Runs one Swift request.
    async fn call(
        &self,
        method: http::Method,
        container: Option<&str>,
        object: Option<&str>,
        query: &[(&str, &str)],
        headers: Headers,
        body: Option<ByteStream>,
    ) -> Reply {
        let mut uri = format!("/v1/{}", sigv4::uri_encode(&self.account, false));
        if let Some(c) = container {
            uri.push('/');
            uri.push_str(&sigv4::uri_encode(c, false));
            if let Some(o) = object {
                uri.push('/');
                uri.push_str(&sigv4::uri_encode(o, true));
            }
        }
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        sigv4::uri_encode(k, false),
                        sigv4::uri_encode(v, false)
                    )
                })
                .collect();
            uri.push('?');
            uri.push_str(&q.join("&"));
        }
        let mut req = http::Request::builder().method(method).uri(uri);
        for (n, v) in headers.iter() {
            req = req.header(n, v);
        }
        let body = stream::stream_to_body(body.unwrap_or_else(stream::empty));
        match req.body(body) {
            Ok(req) => {
                self.inner
                    .route_with(req, &self.trans_id, Some(self.identity.clone()))
                    .await
            }
            Err(_) => Reply::status(400),
        }
    }
}

fn method_not_allowed() -> S3Error {
    S3Error::new(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
    )
}

/// An XML answer.
fn xml_reply(status: u16, body: String) -> Reply {
    Reply::typed(
        status,
        "application/xml",
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    )
}

/// Swift's `2024-01-02T03:04:05.123456` as S3's `2024-01-02T03:04:05.123Z`.
fn s3_time(swift: &str) -> String {
    let base = swift.get(..19).unwrap_or(swift);
    let frac = swift.get(20..23).unwrap_or("000");
    format!("{base}.{frac}Z")
}
