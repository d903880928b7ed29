//! Conversions between axum's body and swift-core's [`SwiftBody`], and
//! between HTTP header maps and the node protocol's [`Headers`].

use axum::body::Body;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use swift_core::headers::Headers;
use swift_core::{BoxError, SwiftBody};

/// Hop-by-hop headers that belong to one connection and are never copied
/// between the HTTP layer and the core.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// A request body as the core's streaming body; nothing is buffered.
pub fn to_swift_body(body: Body) -> SwiftBody {
    body.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()
}

/// A core body as axum's body; nothing is buffered.
pub fn from_swift_body(body: SwiftBody) -> Body {
    Body::new(body)
}

/// Copies request headers into the node protocol's header list. Values
/// that are not UTF-8 are kept with replacement characters (Swift's
/// metadata is UTF-8 on the wire). Hop-by-hop headers are dropped.
pub fn headers_from_http(map: &HeaderMap) -> Headers {
    map.iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Copies node-protocol headers into an HTTP header map. Framing headers
/// (`transfer-encoding`) are left to the HTTP server; a header that is not
/// a legal HTTP name or value is dropped with a warning.
pub fn headers_to_http(headers: &Headers, map: &mut HeaderMap) {
    for (name, value) in headers.iter() {
        if HOP_BY_HOP.contains(&name) || name == "transfer-encoding" {
            continue;
        }
        let parsed = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        );
        match parsed {
            (Ok(n), Ok(v)) => {
                map.append(n, v);
            }
            _ => tracing::warn!(header = name, "dropping header that is not valid http"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn bodies_round_trip_without_loss() {
        let body = Body::from(Bytes::from_static(b"hello world"));
        let swift = to_swift_body(body);
        let back = from_swift_body(swift);
        let bytes = back.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"hello world");
    }

    #[test]
    fn headers_copy_both_ways_and_skip_hop_by_hop() {
        let mut map = HeaderMap::new();
        map.insert("x-object-meta-color", HeaderValue::from_static("red"));
        map.insert("connection", HeaderValue::from_static("keep-alive"));
        map.insert(
            "x-object-meta-name",
            HeaderValue::from_bytes("zürich".as_bytes()).unwrap(),
        );
        let h = headers_from_http(&map);
        assert_eq!(h.get("X-Object-Meta-Color"), Some("red"));
        assert_eq!(h.get("x-object-meta-name"), Some("zürich"));
        assert!(!h.contains("connection"));

        let mut out = HeaderMap::new();
        let h = h
            .with("transfer-encoding", "chunked")
            .with("bad header", "x")
            .with("content-length", "5");
        headers_to_http(&h, &mut out);
        assert_eq!(out.get("x-object-meta-color").unwrap(), "red");
        assert_eq!(
            out.get("x-object-meta-name").unwrap().as_bytes(),
            "zürich".as_bytes()
        );
        assert_eq!(out.get("content-length").unwrap(), "5");
        assert!(out.get("transfer-encoding").is_none());
        assert_eq!(out.len(), 3);
    }
}
