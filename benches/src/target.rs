//! Where a load run may send traffic: loopback only.

use std::net::IpAddr;

use anyhow::{bail, Context};

/// Fails unless `url` is plain HTTP to a loopback address (`127.0.0.0/8`,
/// `::1` or `localhost`). Load is never sent anywhere else.
pub fn check_loopback(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("invalid url {url:?}"))?;
    if parsed.scheme() != "http" {
        bail!("{url}: only http:// targets are supported");
    }
    let host = parsed.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ok = host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!("{url}: refusing a non-loopback target (load tests stay on this machine)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_is_allowed() {
        for ok in [
            "http://127.0.0.1:8080/auth/v1.0",
            "http://127.9.8.7/v1/AUTH_a",
            "http://localhost:8080/",
            "http://[::1]:8080/",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:8080/",
            "http://192.168.1.1/",
            "http://example.com/",
            "https://127.0.0.1/",
            "not a url",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }
}
