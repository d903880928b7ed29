//! Replies in Swift's shapes: swob's status texts and default bodies.

use bytes::Bytes;

use crate::headers::Headers;
use crate::stream::{self, ByteStream, SwiftBody};

/// A reply before it becomes an HTTP response.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pub(crate) body: ByteStream,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// swob's title and explanation of a status.
pub(crate) fn reason(status: u16) -> (&'static str, &'static str) {
    match status {
        200 => ("OK", ""),
        201 => ("Created", ""),
        202 => ("Accepted", "The request is accepted for processing."),
        204 => ("No Content", ""),
        206 => ("Partial Content", ""),
        304 => ("Not Modified", ""),
        400 => (
            "Bad Request",
            "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        ),
        401 => (
            "Unauthorized",
            "This server requires authentication. Please provide the proper credentials.",
        ),
        403 => ("Forbidden", "Access was denied to this resource."),
        404 => ("Not Found", "The resource could not be found."),
        405 => ("Method Not Allowed", "The method is not allowed for this resource."),
        408 => (
            "Request Timeout",
            "The server has waited too long for the request to be sent by the client.",
        ),
        409 => ("Conflict", "There was a conflict when trying to complete your request."),
        410 => ("Gone", "This resource is no longer available."),
        411 => ("Length Required", "Content-Length header required."),
        412 => ("Precondition Failed", "A precondition for this request was not met."),
        413 => (
            "Request Entity Too Large",
            "The body of your request was too large for this server.",
        ),
        416 => ("Requested Range Not Satisfiable", "The Range requested is not available."),
        422 => ("Unprocessable Entity", "Unable to process the contained instructions"),
        499 => ("Client Disconnect", "The client was disconnected during request."),
        500 => (
            "Internal Error",
            "The server has either erred or is incapable of performing the requested operation.",
        ),
        501 => ("Not Implemented", "The requested method is not implemented by this server."),
        503 => (
            "Service Unavailable",
            "The server is currently unavailable. Please try again at a later time.",
        ),
        504 => ("Gateway Timeout", "A timeout has occurred speaking to a backend server."),
        507 => (
            "Insufficient Storage",
            "There was not enough space to save the resource.",
        ),
        _ => ("Unknown", ""),
    }
}

const HTML: &str = "text/html; charset=UTF-8";

impl Reply {
    /// A reply with swob's default body for `status` (an HTML snippet for
    /// statuses that have an explanation, else empty).
    pub(crate) fn status(status: u16) -> Self {
        let (title, explanation) = reason(status);
        if explanation.is_empty() {
            return Self::body(status, Bytes::new());
        }
        Self::body(
            status,
            format!("<html><h1>{title}</h1><p>{explanation}</p></html>"),
        )
    }

    /// A reply with a short text body, typed `text/html` as swob does.
    pub(crate) fn body(status: u16, body: impl Into<Bytes>) -> Self {
        let body: Bytes = body.into();
        let headers = Headers::new()
            .with("content-type", HTML)
            .with("content-length", body.len().to_string());
        Self {
            status,
            headers,
            body: stream::once(body),
        }
    }

    /// A reply carrying a body with its own content type.
    pub(crate) fn typed(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        let mut r = Self::body(status, body);
        r.headers.set("content-type", content_type);
        r
    }

    /// Builder: sets a header.
    pub(crate) fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.set(name, value);
        self
    }

    /// Converts to an HTTP response; HEAD replies lose their body but keep
    /// their headers.
    pub(crate) fn into_http(self, head: bool) -> http::Response<SwiftBody> {
        let mut builder = http::Response::builder().status(self.status);
        let mut has_len = false;
        for (name, value) in self.headers.iter() {
            if is_hop_by_hop(name) {
                continue;
            }
            has_len |= name == "content-length";
            let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value.as_bytes()),
            ) else {
                continue;
            };
            builder = builder.header(n, v);
        }
        if !has_len && (head || self.status == 204 || self.status == 304) {
            builder = builder.header(http::header::CONTENT_LENGTH, "0");
        }
        let body = if head || self.status == 204 || self.status == 304 {
            stream::full_body(Bytes::new())
        } else {
            stream::stream_to_body(self.body)
        };
        builder.body(body).unwrap_or_else(|_| {
            let mut r = http::Response::new(stream::full_body(Bytes::new()));
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }
}

/// Headers that belong to one connection and are never forwarded.
pub(crate) fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "trailers"
            | "transfer-encoding"
            | "upgrade"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn swob_default_bodies() {
        let r = Reply::status(404);
        let body = stream::collect(r.body, 1024).await.unwrap();
        assert_eq!(
            &body[..],
            b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
        );
        assert_eq!(r.headers.get("content-type"), Some(HTML));
        let r = Reply::status(201);
        assert_eq!(r.headers.get("content-length"), Some("0"));
    }
}
