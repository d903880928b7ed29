//! The HTTP shell shared by the proxy and the storage node: one fallback
//! handler (every method and path reaches the core, `REPLICATE` included),
//! streaming bodies, and a tracing layer keyed by the request's trans id.

use std::future::Future;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use swift_core::SwiftBody;
use tracing::Instrument;

use crate::body::{from_swift_body, to_swift_body};

/// The header carrying Swift's request id.
pub const TRANS_ID: &str = "x-trans-id";

/// A router whose every request, whatever its method or path, goes to
/// `handler` with a streaming [`SwiftBody`]; the answer is sent as is.
/// There is no body size limit here: the core enforces Swift's constraints
/// while it streams.
pub fn swift_router<F, Fut>(handler: F) -> Router
where
    F: Fn(http::Request<SwiftBody>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = http::Response<SwiftBody>> + Send + 'static,
{
    let fallback = move |req: Request| {
        let handler = handler.clone();
        async move {
            let resp = handler(req.map(to_swift_body)).await;
            resp.map(from_swift_body)
        }
    };
    Router::new()
        .fallback(fallback)
        .layer(middleware::from_fn(trace_request))
}

/// Logs one line per request with method, path, status, duration and the
/// trans id (taken from the request when a proxy sent one, else from the
/// response the core made).
async fn trace_request(req: Request<Body>, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let req_id = req
        .headers()
        .get(TRANS_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let span = tracing::info_span!(
        "request",
        %method,
        path = %path,
        trans_id = tracing::field::Empty
    );
    if let Some(id) = &req_id {
        span.record("trans_id", id.as_str());
    }
    let resp = next.run(req).instrument(span.clone()).await;
    if req_id.is_none() {
        if let Some(id) = resp.headers().get(TRANS_ID).and_then(|v| v.to_str().ok()) {
            span.record("trans_id", id);
        }
    }
    let status = resp.status().as_u16();
    let elapsed_ms = format!("{:.3}", start.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, %elapsed_ms, "request done");
        } else {
            tracing::info!(status, %elapsed_ms, "request done");
        }
    });
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use swift_core::stream::{body_to_stream, collect, full_body};
    use tower::ServiceExt;

    fn echo() -> Router {
        swift_router(|req: http::Request<SwiftBody>| async move {
            let (parts, body) = req.into_parts();
            let data = collect(body_to_stream(body), 1 << 20).await.unwrap();
            let mut out = format!("{} {} ", parts.method, parts.uri).into_bytes();
            out.extend_from_slice(&data);
            http::Response::builder()
                .status(201)
                .header(TRANS_ID, "tx123")
                .body(full_body(out))
                .unwrap()
        })
    }

    #[tokio::test]
    async fn every_method_and_path_reaches_the_handler() {
        for method in ["GET", "PUT", "REPLICATE", "COPY"] {
            let req = http::Request::builder()
                .method(method)
                .uri("/v1/AUTH_a/c/o%20x?format=json")
                .body(Body::from("data"))
                .unwrap();
            let resp = echo().oneshot(req).await.unwrap();
            assert_eq!(resp.status(), 201);
            assert_eq!(resp.headers().get(TRANS_ID).unwrap(), "tx123");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                std::str::from_utf8(&body).unwrap(),
                format!("{method} /v1/AUTH_a/c/o%20x?format=json data")
            );
        }
    }

    #[tokio::test]
    async fn large_bodies_are_not_limited() {
        let big = vec![7u8; 3 << 20];
        let req = http::Request::builder()
            .method("PUT")
            .uri("/big")
            .body(Body::from(big.clone()))
            .unwrap();
        let router = swift_router(|req: http::Request<SwiftBody>| async move {
            let n = collect(body_to_stream(req.into_body()), 16 << 20)
                .await
                .map(|b| b.len())
                .unwrap_or(0);
            http::Response::new(full_body(n.to_string()))
        });
        let resp = router.oneshot(req).await.unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], big.len().to_string().as_bytes());
    }
}
