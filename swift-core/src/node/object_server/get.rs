//! GET and HEAD: metadata headers, preconditions, ranges.

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt};

use super::conditional::{self, Precondition};
use super::range::{parse_range, RangeRequest};
use super::{error_response, is_expired, text, with_backend_ts, ObjectServer};
use crate::error::Error;
use crate::headers::Headers;
use crate::node::NodeResponse;
use crate::object::{
    ByteRange, ObjectBackend, ObjectLocation, ObjectMetadata, ObjectState, ReadOptions,
};
use crate::stream::ByteStream;

/// The response headers of an object, as Swift sends them.
fn object_headers(m: &ObjectMetadata) -> Headers {
    let ts = m.effective_timestamp();
    let mut h = Headers::new();
    h.set("content-type", m.content_type.clone());
    h.set("etag", m.etag.clone());
    h.set("content-length", m.content_length.to_string());
    h.set("last-modified", ts.http_date());
    h.set("x-timestamp", ts.normal());
    h.set("x-backend-timestamp", ts.internal());
    h.set("x-backend-data-timestamp", m.timestamp.internal());
    h.set("accept-ranges", "bytes");
    for (n, v) in m.user_meta.iter().chain(&m.system_meta) {
        h.set(n.clone(), v.clone());
    }
    h
}

/// The ETag preconditions compare: the object's, or the metadata value
/// `X-Backend-Etag-Is-At` names (e.g. an SLO's manifest ETag).
fn conditional_etag<'a>(req: &Headers, m: &'a ObjectMetadata) -> &'a str {
    req.get("x-backend-etag-is-at")
        .and_then(|names| {
            names.split(',').map(str::trim).find_map(|name| {
                m.user_meta
                    .iter()
                    .chain(&m.system_meta)
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str())
            })
        })
        .unwrap_or(&m.etag)
}

impl ObjectServer {
    pub(super) async fn get_or_head(
        &self,
        req: &Headers,
        loc: &ObjectLocation,
        head: bool,
    ) -> NodeResponse {
        let meta = match self.backend.open(loc).await {
            Ok(ObjectState::Present(m)) if !is_expired(&m) => m,
            Ok(ObjectState::Present(m)) => return not_found(req, Some(m.effective_timestamp())),
            Ok(ObjectState::Deleted { timestamp }) => return not_found(req, Some(timestamp)),
            Ok(ObjectState::Missing) | Err(Error::NotFound { .. }) => return not_found(req, None),
            Err(Error::Corrupt { what }) => {
                self.quarantine(loc, &what).await;
                return not_found(req, None);
            }
            Err(e) => return error_response(&e),
        };
        let mut headers = object_headers(&meta);
        let last_modified = meta.effective_timestamp().secs()
            + u64::from(meta.effective_timestamp().ticks() % 100_000 != 0);
        match conditional::evaluate(req, conditional_etag(req, &meta), last_modified, true) {
            Precondition::Proceed => {}
            Precondition::NotModified => {
                headers.set("content-length", "0");
                return NodeResponse {
                    status: 304,
                    headers,
                    body: crate::stream::empty(),
                };
            }
            Precondition::Failed => {
                let mut r = text(412, "Precondition Failed");
                r.headers
                    .set("x-backend-timestamp", meta.effective_timestamp().internal());
                return r;
            }
        }
        if head {
            return NodeResponse {
                status: 200,
                headers,
                body: crate::stream::empty(),
            };
        }
        let len = meta.content_length;
        let ranges = match req.get("range") {
            Some(h) => parse_range(h, len),
            None => RangeRequest::Whole,
        };
        let pinned = |range| ReadOptions {
            range,
            timestamp: Some(meta.timestamp),
        };
        match ranges {
            RangeRequest::Whole => match self.backend.read(loc, pinned(None)).await {
                // A whole-body read is verified against the ETag as it
                // streams (the backend withholds the last chunk of a corrupt
                // body); on mismatch the object is quarantined.
                Ok(r) => NodeResponse {
                    status: 200,
                    headers,
                    body: quarantine_on_corrupt(r.body, self.backend.clone(), loc.clone()),
                },
                Err(Error::Corrupt { what }) => {
                    self.quarantine(loc, &what).await;
                    not_found(req, None)
                }
                Err(e) => read_error(req, &e),
            },
            RangeRequest::Unsatisfiable => {
                let mut r = text(416, "Requested Range Not Satisfiable");
                r.headers.set("content-range", format!("bytes */{len}"));
                r.headers.set("accept-ranges", "bytes");
                r
            }
            RangeRequest::Ranges(rs) if rs.len() == 1 => {
                let r = rs[0];
                match self.backend.read(loc, pinned(Some(r))).await {
                    Ok(read) => {
                        headers.set("content-length", (r.end - r.start).to_string());
                        headers.set(
                            "content-range",
                            format!("bytes {}-{}/{len}", r.start, r.end - 1),
                        );
                        NodeResponse {
                            status: 206,
                            headers,
                            body: read.body,
                        }
                    }
                    Err(e) => read_error(req, &e),
                }
            }
            RangeRequest::Ranges(rs) => {
                let boundary = uuid::Uuid::new_v4().simple().to_string();
                let (body, total) = multipart(
                    self.backend.clone(),
                    loc.clone(),
                    meta.clone(),
                    rs,
                    boundary.clone(),
                );
                headers.set("content-length", total.to_string());
                headers.set(
                    "content-type",
                    format!("multipart/byteranges;boundary={boundary}"),
                );
                NodeResponse {
                    status: 206,
                    headers,
                    body,
                }
            }
        }
    }
}

/// 404, or 412 for `If-Match: *` on a missing object, as Swift answers.
fn not_found(req: &Headers, ts: Option<crate::timestamp::Timestamp>) -> NodeResponse {
    let star = req
        .get("if-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "*"));
    if star {
        return with_backend_ts(text(412, "Precondition Failed"), ts);
    }
    with_backend_ts(text(404, "Not Found"), ts)
}

fn read_error(req: &Headers, e: &Error) -> NodeResponse {
    match e {
        // Replaced or removed between open and read.
        Error::NotFound { .. } | Error::Corrupt { .. } => not_found(req, None),
        other => error_response(other),
    }
}

/// Passes `body` through; when it ends with `Error::Corrupt`, quarantines
/// the object before passing the error on.
fn quarantine_on_corrupt(
    body: ByteStream,
    backend: Arc<dyn ObjectBackend>,
    loc: ObjectLocation,
) -> ByteStream {
    body.then(move |item| {
        let (backend, loc) = (backend.clone(), loc.clone());
        async move {
            if let Err(Error::Corrupt { what }) = &item {
                match backend.quarantine(&loc).await {
                    Ok(()) => {
                        tracing::warn!(object = %loc, reason = %what, "quarantined corrupt object")
                    }
                    Err(e) => tracing::error!(object = %loc, error = %e, "quarantine failed"),
                }
            }
            item
        }
    })
    .boxed()
}

fn part_header(boundary: &str, content_type: &str, r: ByteRange, len: u64) -> String {
    format!(
        "--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
        r.start,
        r.end - 1
    )
}

/// A `multipart/byteranges` body and its exact length; each part is read
/// lazily from the same data version.
fn multipart(
    backend: Arc<dyn ObjectBackend>,
    loc: ObjectLocation,
    meta: ObjectMetadata,
    ranges: Vec<ByteRange>,
    boundary: String,
) -> (ByteStream, u64) {
    let len = meta.content_length;
    let terminator = format!("--{boundary}--");
    let total = ranges
        .iter()
        .map(|r| {
            part_header(&boundary, &meta.content_type, *r, len).len() as u64 + (r.end - r.start) + 2
        })
        .sum::<u64>()
        + terminator.len() as u64;
    let parts = stream::iter(ranges).then(move |r| {
        let (backend, loc, boundary) = (backend.clone(), loc.clone(), boundary.clone());
        let (ct, ts) = (meta.content_type.clone(), meta.timestamp);
        async move {
            let head = Bytes::from(part_header(&boundary, &ct, r, len));
            let opts = ReadOptions {
                range: Some(r),
                timestamp: Some(ts),
            };
            let body: ByteStream = match backend.read(&loc, opts).await {
                Ok(read) => read.body,
                Err(e) => stream::once(async move { Err(e) }).boxed(),
            };
            stream::once(async move { Ok(head) })
                .chain(body)
                .chain(stream::once(async { Ok(Bytes::from_static(b"\r\n")) }))
        }
    });
    let body = parts
        .flatten()
        .chain(stream::once(async move { Ok(Bytes::from(terminator)) }))
        .boxed();
    (body, total)
}
