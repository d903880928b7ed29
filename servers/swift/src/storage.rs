//! The storage node over HTTP: each request becomes a [`NodeRequest`], the
//! node's answer goes back 1:1 (status, headers, streamed body).

use std::future::Future;

use axum::Router;
use swift_core::node::{NodeMethod, NodeRequest, NodeResponse, StorageNode};
use swift_core::stream::{body_to_stream, full_body, stream_to_body};
use swift_core::SwiftBody;

use crate::body::{headers_from_http, headers_to_http};
use crate::http::swift_router;

/// The router of a storage node. Every verb (`REPLICATE` included) and
/// every path reaches the node; a path without device and partition gets
/// 400, as Swift's servers answer.
pub fn storage_router(node: StorageNode) -> Router {
    node_router(move |req| {
        let node = node.clone();
        async move { node.handle(req).await }
    })
}

/// [`storage_router`] plus the node's recon endpoint (`GET /recon`,
/// `GET /recon/<daemon-name>`).
pub fn storage_router_with_recon(
    node: StorageNode,
    recon: std::sync::Arc<swift_core::daemon::ReconStore>,
) -> Router {
    let devices = node.container_server().config().devices.clone();
    crate::daemons::recon_router(recon, devices).merge(storage_router(node))
}

/// The same HTTP mapping over any backend-protocol handler (a single
/// server, a fake in tests).
pub fn node_router<F, Fut>(handler: F) -> Router
where
    F: Fn(NodeRequest) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = NodeResponse> + Send + 'static,
{
    swift_router(move |req| {
        let handler = handler.clone();
        async move { handle(handler, req).await }
    })
}

async fn handle<F, Fut>(handler: F, req: http::Request<SwiftBody>) -> http::Response<SwiftBody>
where
    F: Fn(NodeRequest) -> Fut,
    Fut: Future<Output = NodeResponse>,
{
    let (parts, body) = req.into_parts();
    let method = NodeMethod::parse(parts.method.as_str());
    let mut node_req = match NodeRequest::from_uri(method, parts.uri.path(), parts.uri.query()) {
        Ok(r) => r,
        Err(e) => return plain(400, &e.to_string()),
    };
    node_req.headers = headers_from_http(&parts.headers);
    node_req.body = body_to_stream(body);
    into_http(handler(node_req).await)
}

/// Maps a node response to HTTP 1:1.
pub(crate) fn into_http(resp: NodeResponse) -> http::Response<SwiftBody> {
    let status =
        http::StatusCode::from_u16(resp.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = http::Response::new(stream_to_body(resp.body));
    *out.status_mut() = status;
    headers_to_http(&resp.headers, out.headers_mut());
    out
}

fn plain(status: u16, msg: &str) -> http::Response<SwiftBody> {
    let mut out = http::Response::new(full_body(msg.to_string()));
    *out.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    out.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use swift_core::stream::collect;
    use tower::ServiceExt;

    /// Echoes what the node saw: method, device, partition, path, query,
    /// one header and the body.
    fn echo_node() -> Router {
        node_router(|req: NodeRequest| async move {
            let body = collect(req.body, 1 << 20).await.unwrap();
            let text = format!(
                "{} {} {} {} {:?} {} {}",
                req.method.as_str(),
                req.device,
                req.partition,
                req.path,
                req.query,
                req.headers.get("x-timestamp").unwrap_or("-"),
                String::from_utf8_lossy(&body)
            );
            let mut resp = NodeResponse::with_body(207, text);
            resp.headers.set("X-Backend-Thing", "1");
            resp.headers.set("ETag", "abc");
            resp
        })
    }

    async fn send(
        router: Router,
        method: &str,
        uri: &str,
        body: &'static str,
    ) -> (u16, http::HeaderMap, String) {
        let req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("X-Timestamp", "1700000000.00000")
            .body(Body::from(body))
            .unwrap();
        let resp = router.oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn request_maps_to_node_request() {
        let (status, headers, body) = send(
            echo_node(),
            "PUT",
            "/d1/17/AUTH_a/c/o%20b/%C3%BC?multipart-manifest=put&x=a%26b",
            "payload",
        )
        .await;
        assert_eq!(status, 207);
        assert_eq!(headers.get("x-backend-thing").unwrap(), "1");
        assert_eq!(headers.get("etag").unwrap(), "abc");
        assert_eq!(
            body,
            "PUT d1 17 AUTH_a/c/o b/\u{fc} [(\"multipart-manifest\", \"put\"), (\"x\", \"a&b\")] 1700000000.00000 payload"
        );
    }

    #[tokio::test]
    async fn replicate_and_unknown_verbs_reach_the_node() {
        let (status, _, body) = send(echo_node(), "REPLICATE", "/d1/3/abc", "").await;
        assert_eq!(status, 207);
        assert!(body.starts_with("REPLICATE d1 3 abc"), "{body}");
        let (status, _, body) = send(echo_node(), "FROB", "/d1/3/a", "").await;
        assert_eq!(status, 207);
        assert!(body.starts_with("FROB d1 3 a"), "{body}");
    }

    #[tokio::test]
    async fn bad_paths_get_400_without_reaching_the_node() {
        for uri in ["/", "/d1", "/d1/notanumber/a", "/d1/1/%FF"] {
            let (status, _, _) = send(echo_node(), "GET", uri, "").await;
            assert_eq!(status, 400, "{uri}");
        }
    }

    #[tokio::test]
    async fn head_keeps_the_nodes_content_length_over_a_socket() {
        use crate::runtime::{bind, RunningServer};
        use tokio_util::sync::CancellationToken;

        let router = node_router(|_req: NodeRequest| async move {
            let mut resp = NodeResponse::status(200);
            resp.headers.set("Content-Length", "12345");
            resp.headers.set("X-Object-Meta-A", "b");
            resp
        });
        let token = CancellationToken::new();
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let server = RunningServer::spawn("t", listener, router, token.clone()).unwrap();
        let url = format!("http://{}/d1/0/a/c/o", server.local_addr());
        let resp = reqwest::Client::new().head(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers().get("content-length").unwrap(), "12345");
        assert_eq!(resp.headers().get("x-object-meta-a").unwrap(), "b");
        token.cancel();
        server
            .wait(std::time::Duration::from_secs(5))
            .await
            .unwrap();
    }
}
