//! [`HttpNodeClient`]: the backend protocol over pooled keep-alive HTTP.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::node::{NodeClient, NodeRequest, NodeResponse};

/// Idle connections kept per storage node: enough for 32 concurrent
/// clients each holding a request to every replica.
const POOL_IDLE_PER_HOST: usize = 128;

/// Most response headers accepted from a storage node: Swift allows 90
/// metadata items plus system headers, past hyper's default of 100.
const MAX_RESPONSE_HEADERS: usize = 1024;

type ReqBody = http_body_util::combinators::UnsyncBoxBody<Bytes, Error>;

/// A [`NodeClient`] speaking HTTP/1.1 to storage nodes, with a keep-alive
/// pool, streaming request and response bodies.
#[derive(Debug, Clone)]
pub struct HttpNodeClient {
    http: Client<HttpConnector, ReqBody>,
    node_timeout: Duration,
}

impl HttpNodeClient {
    /// A client that gives up connecting after `connect_timeout` and waits
    /// at most `node_timeout` for response headers. Fails with
    /// [`Error::InvalidConfig`] if the HTTP stack cannot be set up.
    pub fn new(connect_timeout: Duration, node_timeout: Duration) -> Result<Self> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
            .pool_idle_timeout(Duration::from_secs(60))
            .http1_max_headers(MAX_RESPONSE_HEADERS)
            .build(connector);
        Ok(Self { http, node_timeout })
    }
}

fn unavailable(host: &str, what: &str) -> Error {
    Error::Unavailable {
        reason: format!("node {host} {what}"),
    }
}

fn client_error(host: &str, e: &hyper_util::client::legacy::Error) -> Error {
    unavailable(
        host,
        if e.is_connect() {
            "refused connection"
        } else {
            "failed"
        },
    )
}

/// Headers hyper sets itself from the body framing.
fn skip_header(name: &str) -> bool {
    matches!(
        name,
        "transfer-encoding" | "connection" | "keep-alive" | "host" | "te" | "upgrade"
    )
}

#[async_trait]
impl NodeClient for HttpNodeClient {
    async fn send(&self, host: &str, req: NodeRequest) -> Result<NodeResponse> {
        let uri: http::Uri = format!("http://{host}{}", req.uri())
            .parse()
            .map_err(|_| Error::invalid("bad node request uri"))?;
        let method = http::Method::from_bytes(req.method.as_str().as_bytes())
            .map_err(|_| Error::invalid("bad method"))?;
        let has_body = matches!(method.as_str(), "PUT" | "POST" | "REPLICATE");
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in req.headers.iter() {
            if skip_header(name) || (name == "content-length" && !has_body) {
                continue;
            }
            builder = builder.header(name, value.as_bytes());
        }
        let body: ReqBody = if has_body {
            StreamBody::new(req.body.map_ok(Frame::data)).boxed_unsync()
        } else {
            http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed_unsync()
        };
        let request = builder
            .body(body)
            .map_err(|_| Error::invalid("bad node request header"))?;
        let resp = tokio::time::timeout(self.node_timeout, self.http.request(request))
            .await
            .map_err(|_| unavailable(host, "timed out"))?
            .map_err(|e| client_error(host, &e))?;
        let status = resp.status().as_u16();
        let headers: Headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let host_s = host.to_string();
        let body = resp
            .into_body()
            .into_data_stream()
            .map_err(move |_| unavailable(&host_s, "failed"))
            .boxed();
        Ok(NodeResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    use super::*;
    use crate::node::NodeMethod;
    use crate::stream;

    /// Echo server: answers with the parsed request in headers and the
    /// request body (or a fixed body for GET). `/sda/0/slow` never answers.
    async fn handler(
        req: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
        let method = NodeMethod::parse(req.method().as_str());
        let parsed = NodeRequest::from_uri(method, req.uri().path(), req.uri().query()).unwrap();
        if parsed.path == "slow" {
            std::future::pending::<()>().await;
        }
        if parsed.path == "many" {
            let mut b = hyper::Response::builder().status(204);
            for i in 0..150 {
                b = b.header(format!("x-container-meta-{i}"), "v");
            }
            return Ok(b.body(Full::new(Bytes::new())).unwrap());
        }
        let meta = req
            .headers()
            .get("x-object-meta-k")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let out = if body.is_empty() {
            Bytes::from_static(b"hello")
        } else {
            body
        };
        Ok(hyper::Response::builder()
            .status(201)
            .header("x-path", parsed.path.as_str())
            .header("x-query", parsed.query_param("prefix").unwrap_or(""))
            .header("x-meta", meta)
            .body(Full::new(out))
            .unwrap())
    }

    async fn server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), hyper::service::service_fn(handler))
                        .await;
                });
            }
        });
        addr
    }

    fn client(node_timeout: Duration) -> HttpNodeClient {
        HttpNodeClient::new(Duration::from_secs(1), node_timeout).unwrap()
    }

    #[tokio::test]
    async fn streams_request_and_response_bodies() {
        let addr = server().await;
        let c = client(Duration::from_secs(5));
        let mut req = NodeRequest::new(NodeMethod::Put, "sda", 3, "AUTH_a/c/o ü?x");
        req.headers.set("x-object-meta-k", "v");
        req.headers.set("transfer-encoding", "chunked");
        req.query.push(("prefix".into(), "a b&c".into()));
        let chunks: Vec<Result<Bytes>> =
            (0..50).map(|_| Ok(Bytes::from(vec![b'z'; 1000]))).collect();
        req.body = futures::stream::iter(chunks).boxed();
        let resp = c.send(&addr, req).await.unwrap();
        assert_eq!(resp.status, 201);
        assert_eq!(resp.headers.get("x-path"), Some("AUTH_a/c/o ü?x"));
        assert_eq!(resp.headers.get("x-query"), Some("a b&c"));
        assert_eq!(resp.headers.get("x-meta"), Some("v"));
        let body = stream::collect(resp.body, 1 << 20).await.unwrap();
        assert_eq!(body.len(), 50_000);
        // Keep-alive: a second request on the pool works.
        let resp = c
            .send(&addr, NodeRequest::new(NodeMethod::Get, "sda", 3, "AUTH_a"))
            .await
            .unwrap();
        assert_eq!(
            &stream::collect(resp.body, 100).await.unwrap()[..],
            b"hello"
        );
    }

    #[tokio::test]
    async fn unreachable_and_slow_nodes_are_unavailable() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = listener.local_addr().unwrap().to_string();
        drop(listener);
        let c = client(Duration::from_millis(200));
        let err = c
            .send(&dead, NodeRequest::new(NodeMethod::Get, "sda", 0, "a"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        let addr = server().await;
        let err = c
            .send(&addr, NodeRequest::new(NodeMethod::Get, "sda", 0, "slow"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn accepts_more_than_a_hundred_response_headers() {
        // 90 metadata items plus system headers: Swift's limits exceed
        // hyper's default of 100 headers.
        let addr = server().await;
        let resp = client(Duration::from_secs(5))
            .send(&addr, NodeRequest::new(NodeMethod::Head, "sda", 0, "many"))
            .await
            .unwrap();
        assert_eq!(resp.status, 204);
        assert_eq!(resp.headers.get("x-container-meta-149"), Some("v"));
    }
}
