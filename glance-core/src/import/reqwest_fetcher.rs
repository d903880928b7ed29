//! [`ReqwestWebFetcher`]: web-download over plain HTTP with reqwest.

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use super::{WebDownloadPolicy, WebFetcher, WebUri};
use crate::error::{Error, Result};
use crate::stream::ByteStream;

/// Fetches with reqwest, pinning the connection to the addresses that
/// passed the policy (so a second DNS answer cannot differ) and following
/// no redirects.
#[derive(Debug, Clone, Default)]
pub struct ReqwestWebFetcher {
    _private: (),
}

impl ReqwestWebFetcher {
    /// A fetcher.
    pub fn new() -> Self {
        Self::default()
    }
}

fn unavailable(uri: &WebUri, why: impl std::fmt::Display) -> Error {
    Error::Unavailable {
        reason: format!("web-download of {} failed: {why}", uri.host()),
    }
}

#[async_trait]
impl WebFetcher for ReqwestWebFetcher {
    async fn fetch(&self, uri: &WebUri, policy: &WebDownloadPolicy) -> Result<ByteStream> {
        let host = uri.host().to_owned();
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), uri.port()))
            .await
            .map_err(|e| unavailable(uri, e))?
            .collect();
        if addrs.is_empty() {
            return Err(unavailable(uri, "host has no address"));
        }
        for a in &addrs {
            policy.check_address(uri, a.ip())?;
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| Error::backend("web-download", e))?;
        let resp = client
            .get(uri.as_str())
            .send()
            .await
            .map_err(|e| unavailable(uri, e))?;
        if !resp.status().is_success() {
            return Err(unavailable(uri, format!("status {}", resp.status())));
        }
        let uri = uri.clone();
        Ok(resp
            .bytes_stream()
            .map_err(move |e| unavailable(&uri, e))
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves one fixed HTTP answer per connection.
    async fn server(answer: &'static str) -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = l.accept().await {
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf).await;
                let _ = c.write_all(answer.as_bytes()).await;
            }
        });
        port
    }

    #[tokio::test]
    async fn fetches_over_http_and_refuses_local_addresses_by_default() {
        let port =
            server("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello").await;
        let open = WebDownloadPolicy {
            allowed_ports: vec![],
            allow_local_addresses: true,
            ..Default::default()
        };
        let uri = open
            .check_uri(&format!("http://localhost:{port}/i.img"))
            .unwrap();
        let f = ReqwestWebFetcher::new();
        let body = crate::stream::collect(f.fetch(&uri, &open).await.unwrap(), 100)
            .await
            .unwrap();
        assert_eq!(&body[..], b"hello");
        // The name resolves to loopback: refused by a strict policy even
        // though it is not an address literal.
        let strict = WebDownloadPolicy {
            allowed_ports: vec![],
            ..Default::default()
        };
        assert!(matches!(
            f.fetch(&uri, &strict).await,
            Err(Error::InvalidInput { .. })
        ));
        let port = server(
            "HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let uri = open
            .check_uri(&format!("http://127.0.0.1:{port}/r"))
            .unwrap();
        assert!(matches!(
            f.fetch(&uri, &open).await,
            Err(Error::Unavailable { .. })
        ));
    }
}
