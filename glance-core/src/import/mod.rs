//! Web-download import: which URIs Glance may fetch
//! ([`WebDownloadPolicy`], Glance's `import_filtering_opts`) and the
//! [`WebFetcher`] seam that fetches them.
//!
//! Loopback and link-local addresses are refused unless the policy
//! explicitly allows local addresses (tests only): a server-side fetch of
//! a user-given URI must not reach the host's own services.

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::stream::ByteStream;

#[cfg(feature = "web-download")]
mod reqwest_fetcher;
#[cfg(feature = "web-download")]
pub use reqwest_fetcher::ReqwestWebFetcher;

/// Which URIs web-download may fetch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebDownloadPolicy {
    /// Allowed schemes; only `http` and `https` are ever fetched.
    #[serde(default = "default_schemes")]
    pub allowed_schemes: Vec<String>,
    /// If not empty, only these hosts.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Never these hosts.
    #[serde(default)]
    pub disallowed_hosts: Vec<String>,
    /// If not empty, only these ports (Glance's default: 80 and 443).
    #[serde(default = "default_ports")]
    pub allowed_ports: Vec<u16>,
    /// Allow loopback and link-local addresses. For tests only.
    #[serde(default)]
    pub allow_local_addresses: bool,
}

fn default_schemes() -> Vec<String> {
    vec!["http".into(), "https".into()]
}

fn default_ports() -> Vec<u16> {
    vec![80, 443]
}

impl Default for WebDownloadPolicy {
    fn default() -> Self {
        Self {
            allowed_schemes: default_schemes(),
            allowed_hosts: Vec::new(),
            disallowed_hosts: Vec::new(),
            allowed_ports: default_ports(),
            allow_local_addresses: false,
        }
    }
}

/// A URI that passed [`WebDownloadPolicy::check_uri`].
#[derive(Clone, PartialEq, Eq)]
pub struct WebUri {
    url: url::Url,
}

impl fmt::Debug for WebUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Userinfo may hold a password: show only scheme, host and port.
        f.debug_struct("WebUri")
            .field("scheme", &self.url.scheme())
            .field("host", &self.host())
            .field("port", &self.port())
            .finish_non_exhaustive()
    }
}

impl WebUri {
    /// The host name or address literal (IPv6 without brackets).
    pub fn host(&self) -> &str {
        let h = self.url.host_str().unwrap_or("");
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(h)
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }

    /// The whole URI.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

fn refused(uri: &str, why: &str) -> Error {
    Error::invalid(format!("URI {uri:?} does not pass filtering: {why}"))
}

/// Whether `ip` is loopback, link-local or unspecified (IPv4-mapped
/// IPv6 addresses included).
pub fn is_local_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local_address(IpAddr::V4(v4));
            }
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

impl WebDownloadPolicy {
    /// Parses and filters `uri`: scheme, host and port lists, and no
    /// loopback or link-local address literal or `localhost`.
    /// `InvalidInput` ("does not pass filtering") otherwise.
    pub fn check_uri(&self, uri: &str) -> Result<WebUri> {
        let url = url::Url::parse(uri).map_err(|_| refused(uri, "not a valid URI"))?;
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https") || !self.allowed_schemes.iter().any(|s| s == scheme)
        {
            return Err(refused(uri, "scheme not allowed"));
        }
        let web = WebUri { url };
        let host = web.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(refused(uri, "no host"));
        }
        if self
            .disallowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
            || (!self.allowed_hosts.is_empty()
                && !self
                    .allowed_hosts
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&host)))
        {
            return Err(refused(uri, "host not allowed"));
        }
        if !self.allowed_ports.is_empty() && !self.allowed_ports.contains(&web.port()) {
            return Err(refused(uri, "port not allowed"));
        }
        if !self.allow_local_addresses {
            let local_name = host == "localhost" || host.ends_with(".localhost");
            let local_ip = host.parse::<IpAddr>().is_ok_and(is_local_address);
            if local_name || local_ip {
                return Err(refused(uri, "local address"));
            }
        }
        Ok(web)
    }

    /// Checks a resolved address of an allowed URI's host.
    pub fn check_address(&self, uri: &WebUri, ip: IpAddr) -> Result<()> {
        if !self.allow_local_addresses && is_local_address(ip) {
            return Err(refused(uri.host(), "resolves to a local address"));
        }
        Ok(())
    }
}

/// Fetches web-download URIs. Shared across tasks.
#[async_trait]
pub trait WebFetcher: Send + Sync + fmt::Debug + 'static {
    /// Opens `uri` (already checked by `policy`) and streams its body.
    /// Every address the host resolves to must pass
    /// [`WebDownloadPolicy::check_address`] (`InvalidInput` otherwise).
    /// Redirects are not followed. A non-2xx answer or a transport error
    /// is `Unavailable`.
    async fn fetch(&self, uri: &WebUri, policy: &WebDownloadPolicy) -> Result<ByteStream>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_schemes_hosts_ports_and_local_addresses() {
        let p = WebDownloadPolicy::default();
        assert_eq!(p.check_uri("http://example.com/a.img").unwrap().port(), 80);
        assert!(p.check_uri("https://example.com/a.img").is_ok());
        for bad in [
            "ftp://example.com/x",
            "file:///etc/passwd",
            "http://example.com:8080/x",
            "http://127.0.0.1/x",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost/x",
            "http://0.0.0.0/x",
            "http://[::ffff:127.0.0.1]/x",
            "not a uri",
        ] {
            match p.check_uri(bad) {
                Err(Error::InvalidInput { reason }) => {
                    assert!(reason.contains("does not pass filtering"), "{bad}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let p = WebDownloadPolicy {
            disallowed_hosts: vec!["evil.example".into()],
            ..Default::default()
        };
        assert!(p.check_uri("http://EVIL.example/x").is_err());
        let p = WebDownloadPolicy {
            allowed_ports: vec![],
            allow_local_addresses: true,
            ..Default::default()
        };
        let u = p.check_uri("http://127.0.0.1:9999/x").unwrap();
        assert!(p.check_address(&u, "127.0.0.1".parse().unwrap()).is_ok());
        let strict = WebDownloadPolicy::default();
        assert!(strict
            .check_address(&u, "fe80::1".parse().unwrap())
            .is_err());
        assert!(strict
            .check_address(&u, "93.184.216.34".parse().unwrap())
            .is_ok());
        assert!(
            !format!("{:?}", p.check_uri("http://u:secret@h.example/").unwrap()).contains("secret")
        );
    }
}
