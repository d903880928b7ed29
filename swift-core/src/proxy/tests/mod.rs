//! Proxy tests against an in-memory fake cluster.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::StreamExt;

use super::*;
use crate::hash::HashConfig;
use crate::ring::{RingKind, Rings};
use crate::stream;

mod acl_tests;
mod auth_tests;
mod cache_tests;
mod fake;
mod keystone_tests;
mod misc_tests;
mod object_tests;

use fake::FakeCluster;

#[derive(Debug)]
pub(crate) struct TestClock(Mutex<SystemTime>);

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    pub(crate) fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

pub(crate) struct Harness {
    pub(crate) proxy: Proxy,
    pub(crate) cluster: Arc<FakeCluster>,
    pub(crate) clock: Arc<TestClock>,
    pub(crate) rings: Arc<Rings>,
    pub(crate) hash: HashConfig,
}

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) fn user(account: &str, user: &str, key: &str, groups: &[&str]) -> TempAuthUser {
    TempAuthUser {
        account: account.into(),
        user: user.into(),
        key: key.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

pub(crate) fn config() -> ProxyConfig {
    let mut c = ProxyConfig::default();
    c.tempauth.users = vec![
        user("test", "tester", "testing", &[".admin"]),
        user("test2", "tester2", "testing2", &[".admin"]),
        user("test", "tester3", "testing3", &[]),
        user("admin", "admin", "admin", &[".reseller_admin"]),
    ];
    c.tempauth.token_life_secs = 3600;
    c.hash = HashConfig::new("pre", "suf");
    c.node_timeout_secs = 2.0;
    c.conn_timeout_secs = 1.0;
    c
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_config(config())
    }

    pub(crate) fn with_config(config: ProxyConfig) -> Self {
        let clock = Arc::new(TestClock(Mutex::new(SystemTime::now())));
        let cache = Arc::new(MemoryCache::new(clock.clone()));
        Self::with_cache(config, cache, clock)
    }

    /// A harness whose proxy keeps tokens and info in `cache`.
    pub(crate) fn with_cache(
        config: ProxyConfig,
        cache: Arc<dyn Cache>,
        clock: Arc<TestClock>,
    ) -> Self {
        let cluster = Arc::new(FakeCluster::default());
        let rings = Arc::new(Rings::new(fake::ring(), fake::ring(), fake::ring()));
        let hash = config.hash.clone();
        let proxy = Proxy::with_parts(config, rings.clone(), cluster.clone(), cache, clock.clone())
            .unwrap();
        Self {
            proxy,
            cluster,
            clock,
            rings,
            hash,
        }
    }

    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: SwiftBody,
    ) -> Resp {
        let mut b = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "proxy.test:8080");
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let resp = self.proxy.handle(b.body(body).unwrap()).await;
        let (parts, body) = resp.into_parts();
        let body = stream::collect(stream::body_to_stream(body), 1 << 30)
            .await
            .unwrap();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    pub(crate) async fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let mut hs: Vec<(&str, &str)> = headers.to_vec();
        let len = body.len().to_string();
        if method == "PUT"
            && !hs
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            hs.push(("content-length", &len));
        }
        self.send(
            method,
            path,
            &hs,
            stream::full_body(Bytes::copy_from_slice(body)),
        )
        .await
    }

    pub(crate) async fn token(&self, user: &str, key: &str) -> String {
        let r = self
            .req(
                "GET",
                "/auth/v1.0",
                &[("x-auth-user", user), ("x-auth-key", key)],
                b"",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.header("x-auth-token").unwrap().to_string()
    }

    /// An admin token of account `AUTH_test` with container `c` created.
    pub(crate) async fn setup(&self) -> String {
        let tok = self.token("test:tester", "testing").await;
        let r = self
            .req("PUT", "/v1/AUTH_test/c", &[("x-auth-token", &tok)], b"")
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        tok
    }

    /// Hosts of the primaries and handoffs of an object.
    pub(crate) fn object_nodes(&self, a: &str, c: &str, o: &str) -> (Vec<String>, Vec<String>) {
        let ring = self.rings.get(RingKind::Object);
        let part = ring.partition_for(&self.hash, a, Some(c), Some(o));
        (
            ring.primary_nodes(part)
                .iter()
                .map(|n| n.device.host())
                .collect(),
            ring.handoff_nodes(part)
                .iter()
                .map(|n| n.device.host())
                .collect(),
        )
    }
}

/// A body that arrives in `n` chunks of `size` bytes.
pub(crate) fn chunked_body(n: usize, size: usize) -> SwiftBody {
    let chunks = (0..n).map(move |i| Ok(Bytes::from(vec![b'a' + (i % 26) as u8; size])));
    stream::stream_to_body(futures::stream::iter(chunks).boxed())
}

pub(crate) fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(data))
}
