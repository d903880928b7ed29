//! End to end in one process: three storage nodes on the filesystem, the
//! in-process node client and the proxy, driven through `Proxy::handle`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use swift_core::hash::HashConfig;
use swift_core::node::{
    AccountServer, ContainerServer, InProcessNodeClient, NodeClient, NodeConfig, ObjectServer,
    StorageNode,
};
use swift_core::object::FsObjectBackend;
use swift_core::proxy::{Proxy, ProxyConfig, TempAuthUser};
use swift_core::ring::{DeviceSpec, RebalanceOptions, RingBuilder, Rings};
use swift_core::stream::{full_body, SwiftBody};

struct Cluster {
    _dir: tempfile::TempDir,
    client: Arc<InProcessNodeClient>,
    proxy: Proxy,
    containers: Vec<Arc<ContainerServer>>,
    hosts: Vec<String>,
}

fn ring(hosts: &[String]) -> swift_core::ring::Ring {
    let mut b = RingBuilder::create(6, 3, 0).unwrap();
    for (i, h) in hosts.iter().enumerate() {
        let (ip, port) = h.split_once(':').unwrap();
        b.add(DeviceSpec::new(
            1,
            i as u8 + 1,
            ip,
            port.parse().unwrap(),
            "d1",
            1.0,
        ))
        .unwrap();
    }
    b.rebalance(&RebalanceOptions::at(1_700_000_000, 7))
        .unwrap();
    b.build()
}

fn cluster(nodes: usize) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let hash = HashConfig::new("pre", "suf");
    let hosts: Vec<String> = (0..nodes)
        .map(|i| format!("127.0.0.1:{}", 6201 + i))
        .collect();
    let rings = Arc::new(Rings::new(ring(&hosts), ring(&hosts), ring(&hosts)));
    let client = Arc::new(InProcessNodeClient::new());
    let dyn_client: Arc<dyn NodeClient> = client.clone();
    let mut containers = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        let devices = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(devices.join("d1")).unwrap();
        let cfg = NodeConfig {
            devices,
            mount_check: true,
            hash: hash.clone(),
            fsync: false,
        };
        let backend = Arc::new(FsObjectBackend::new(cfg.clone()));
        let object = Arc::new(ObjectServer::new(
            cfg.clone(),
            rings.clone(),
            backend,
            dyn_client.clone(),
        ));
        let container = Arc::new(ContainerServer::new(
            cfg.clone(),
            rings.clone(),
            dyn_client.clone(),
        ));
        let account = Arc::new(AccountServer::new(cfg));
        containers.push(container.clone());
        client.register(host.clone(), StorageNode::new(object, container, account));
    }
    let mut config = ProxyConfig {
        hash,
        ..ProxyConfig::default()
    };
    config.tempauth.users = vec![
        TempAuthUser {
            account: "test".into(),
            user: "tester".into(),
            key: "testing".into(),
            groups: vec![".admin".into()],
        },
        TempAuthUser {
            account: "other".into(),
            user: "o".into(),
            key: "okey".into(),
            groups: vec![".admin".into()],
        },
    ];
    let proxy = Proxy::new(config, rings, dyn_client).unwrap();
    Cluster {
        _dir: dir,
        client,
        proxy,
        containers,
        hosts,
    }
}

struct Resp {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Cluster {
    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", "127.0.0.1:8080");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if method == Method::PUT || method == Method::POST {
            b = b.header("content-length", body.len());
        }
        let req: Request<SwiftBody> = b.body(full_body(body)).unwrap();
        let resp = self.proxy.handle(req).await;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    async fn token(&self, user: &str, key: &str) -> (String, String) {
        let r = self
            .call(
                Method::GET,
                "/auth/v1.0",
                &[("x-auth-user", user), ("x-auth-key", key)],
                Bytes::new(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let tok = r.headers["x-auth-token"].to_str().unwrap().to_string();
        let url = r.headers["x-storage-url"].to_str().unwrap().to_string();
        let path = url.trim_start_matches("http://127.0.0.1:8080").to_string();
        (tok, path)
    }
}

#[tokio::test]
async fn object_life_through_the_proxy() {
    let c = cluster(3);
    let (tok, acct) = c.token("test:tester", "testing").await;
    assert_eq!(acct, "/v1/AUTH_test");
    let h = [("x-auth-token", tok.as_str())];

    let r = c
        .call(Method::PUT, &format!("{acct}/photos"), &h, Bytes::new())
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    let data = Bytes::from(vec![7u8; 100_000]);
    let etag = hex::encode(Md5::digest(&data));
    let r = c
        .call(
            Method::PUT,
            &format!("{acct}/photos/a/b.jpg"),
            &[
                ("x-auth-token", tok.as_str()),
                ("x-object-meta-color", "red"),
            ],
            data.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.headers["etag"].to_str().unwrap().trim_matches('"'), etag);

    let r = c
        .call(
            Method::GET,
            &format!("{acct}/photos/a/b.jpg"),
            &h,
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, data);
    assert_eq!(r.headers["x-object-meta-color"], "red");
    assert_eq!(r.headers["content-type"], "image/jpeg");

    let r = c
        .call(
            Method::GET,
            &format!("{acct}/photos/a/b.jpg"),
            &[("x-auth-token", tok.as_str()), ("range", "bytes=10-19")],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.body.len(), 10);

    let r = c
        .call(
            Method::GET,
            &format!("{acct}/photos?format=json&delimiter=/"),
            &h,
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let listing: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(listing, serde_json::json!([{"subdir": "a/"}]));
    let r = c
        .call(
            Method::GET,
            &format!("{acct}/photos?prefix=a/"),
            &h,
            Bytes::new(),
        )
        .await;
    assert_eq!(std::str::from_utf8(&r.body).unwrap(), "a/b.jpg\n");

    // Container stats reach the account through the container updater.
    for cs in &c.containers {
        cs.update_accounts_once().await.unwrap();
    }
    let r = c.call(Method::HEAD, &acct, &h, Bytes::new()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.headers["x-account-object-count"], "1");
    assert_eq!(r.headers["x-account-bytes-used"], "100000");
    assert_eq!(r.headers["x-account-container-count"], "1");

    // Another account's token is refused; no token is unauthorized.
    let (otok, _) = c.token("other:o", "okey").await;
    let r = c
        .call(
            Method::GET,
            &format!("{acct}/photos/a/b.jpg"),
            &[("x-auth-token", otok.as_str())],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .call(
            Method::GET,
            &format!("{acct}/photos/a/b.jpg"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Non-empty container cannot be deleted; after the object goes it can.
    let r = c
        .call(Method::DELETE, &format!("{acct}/photos"), &h, Bytes::new())
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c
        .call(
            Method::DELETE,
            &format!("{acct}/photos/a/b.jpg"),
            &h,
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = c
        .call(
            Method::GET,
            &format!("{acct}/photos/a/b.jpg"),
            &h,
            Bytes::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .call(Method::DELETE, &format!("{acct}/photos"), &h, Bytes::new())
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_down_node_does_not_break_put_or_get() {
    let c = cluster(4);
    let (tok, acct) = c.token("test:tester", "testing").await;
    let h = [("x-auth-token", tok.as_str())];
    assert_eq!(
        c.call(Method::PUT, &format!("{acct}/c"), &h, Bytes::new())
            .await
            .status,
        StatusCode::CREATED
    );

    c.client.set_up(&c.hosts[0], false);
    let mut names = Vec::new();
    for i in 0..20 {
        let name = format!("{acct}/c/o{i}");
        let r = c
            .call(Method::PUT, &name, &h, Bytes::from(format!("body {i}")))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}");
        names.push(name);
    }
    for (i, name) in names.iter().enumerate() {
        let r = c.call(Method::GET, name, &h, Bytes::new()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, format!("body {i}"));
    }
    // Two of four nodes down: some objects have two primaries down, and
    // their PUT cannot reach the 2 of 3 quorum on primaries, but handoffs
    // take the writes.
    c.client.set_up(&c.hosts[1], false);
    let r = c
        .call(
            Method::PUT,
            &format!("{acct}/c/late"),
            &h,
            Bytes::from("late"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    c.client.set_up(&c.hosts[0], true);
    c.client.set_up(&c.hosts[1], true);
    for (i, name) in names.iter().enumerate() {
        let r = c.call(Method::GET, name, &h, Bytes::new()).await;
        assert_eq!(r.body, format!("body {i}"));
    }
    let r = c
        .call(Method::GET, &format!("{acct}/c/late"), &h, Bytes::new())
        .await;
    assert_eq!(r.body, "late");
}
