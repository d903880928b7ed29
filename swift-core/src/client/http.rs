//! [`HttpNodeClient`]: the backend protocol over pooled keep-alive HTTP.

use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::node::{NodeClient, NodeRequest, NodeResponse};

/// Idle connections kept per storage node: enough for 32 concurrent
/// clients each holding a request to every replica.
const POOL_IDLE_PER_HOST: usize = 128;

/// A [`NodeClient`] speaking HTTP/1.1 to storage nodes, with a keep-alive
/// pool, streaming request and response bodies.
#[derive(Debug, Clone)]
pub struct HttpNodeClient {
    http: reqwest::Client,
    node_timeout: Duration,
}

impl HttpNodeClient {
    /// A client that gives up connecting after `connect_timeout` and waits
    /// at most `node_timeout` for response headers. Fails with
    /// [`Error::InvalidConfig`] if the HTTP stack cannot be set up.
    pub fn new(connect_timeout: Duration, node_timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .http1_only()
            .no_proxy()
            .build()
            .map_err(|e| Error::config(format!("http client: {e}")))?;
        Ok(Self { http, node_timeout })
    }
}

fn unavailable(host: &str, e: &reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "refused connection"
    } else {
        "failed"
    };
    Error::Unavailable {
        reason: format!("node {host} {what}"),
    }
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
        let url = format!("http://{host}{}", req.uri());
        let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes())
            .map_err(|_| Error::invalid("bad method"))?;
        let mut builder = self.http.request(method.clone(), &url);
        for (name, value) in req.headers.iter() {
            if skip_header(name) {
                continue;
            }
            builder = builder.header(name, value.as_bytes());
        }
        let has_body = matches!(method.as_str(), "PUT" | "POST" | "REPLICATE");
        if has_body {
            builder = builder.body(reqwest::Body::wrap_stream(req.body));
        }
        let resp = tokio::time::timeout(self.node_timeout, builder.send())
            .await
            .map_err(|_| Error::Unavailable {
                reason: format!("node {host} timed out"),
            })?
            .map_err(|e| unavailable(host, &e))?;
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
            .bytes_stream()
            .map_err(move |e| unavailable(&host_s, &e))
            .boxed();
        Ok(NodeResponse {
            status,
            headers,
            body,
        })
    }
}
