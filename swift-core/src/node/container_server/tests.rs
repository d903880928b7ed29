use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::hash::HashConfig;
use crate::node::{AccountServer, NodeRequest};
use crate::ring::{Device, Ring};

/// Forwards every request to one account server, unless marked down.
#[derive(Debug)]
struct ToAccount {
    account: Arc<AccountServer>,
    up: AtomicBool,
}

#[async_trait]
impl NodeClient for ToAccount {
    async fn send(&self, _host: &str, req: NodeRequest) -> crate::Result<NodeResponse> {
        if !self.up.load(Ordering::SeqCst) {
            return Err(crate::Error::Unavailable {
                reason: "down".into(),
            });
        }
        Ok(self.account.handle(req).await)
    }
}

fn rings() -> Arc<Rings> {
    let devices: Vec<Option<Device>> = ["sda", "sdb", "sdc"]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Some(Device {
                id: i as u16,
                region: 1,
                zone: i as u8,
                ip: "127.0.0.1".into(),
                port: 6200,
                device: d.to_string(),
                weight: 1.0,
                meta: String::new(),
            })
        })
        .collect();
    let ring = Ring {
        part_power: 0,
        devices,
        replica2part2dev: vec![vec![0], vec![1], vec![2]],
    };
    Arc::new(Rings::new(ring.clone(), ring.clone(), ring))
}

struct Setup {
    _dir: tempfile::TempDir,
    server: Arc<ContainerServer>,
    account: Arc<AccountServer>,
    client: Arc<ToAccount>,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    for d in ["sda", "sdb", "sdc"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let config = NodeConfig {
        devices: dir.path().to_path_buf(),
        mount_check: false,
        hash: HashConfig::new("pre", "suf"),
        fsync: false,
    };
    let account = Arc::new(AccountServer::new(config.clone()));
    let client = Arc::new(ToAccount {
        account: Arc::clone(&account),
        up: AtomicBool::new(true),
    });
    let server = Arc::new(ContainerServer::new(config, rings(), client.clone()));
    Setup {
        _dir: dir,
        server,
        account,
        client,
    }
}

fn req(method: NodeMethod, path: &str, headers: &[(&str, &str)]) -> NodeRequest {
    let mut r = NodeRequest::new(method, "sda", 0, path);
    for (k, v) in headers {
        r.headers.set(*k, *v);
    }
    r
}

fn get(path: &str, query: &[(&str, &str)]) -> NodeRequest {
    let mut r = req(NodeMethod::Get, path, &[]);
    r.query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    r
}

async fn body(r: NodeResponse) -> String {
    let b = crate::stream::collect(r.body, 1 << 20).await.unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

async fn put_obj(s: &ContainerServer, name: &str, ts: &str, size: &str) -> u16 {
    let r = req(
        NodeMethod::Put,
        &format!("AUTH_a/c/{name}"),
        &[
            ("X-Timestamp", ts),
            ("X-Size", size),
            ("X-Content-Type", "text/plain"),
            ("X-Etag", "d41d8cd98f00b204e9800998ecf8427e"),
        ],
    );
    s.handle(r).await.status
}

async fn create_account(a: &AccountServer, device: &str) {
    let mut r = req(NodeMethod::Put, "AUTH_a", &[("X-Timestamp", "1.0")]);
    r.device = device.into();
    assert_eq!(a.handle(r).await.status, 201);
}

#[tokio::test]
async fn create_head_post_and_metadata() {
    let t = setup().await;
    let s = &t.server;
    let put = |ts: &'static str| {
        req(
            NodeMethod::Put,
            "AUTH_a/c",
            &[
                ("X-Timestamp", ts),
                ("X-Container-Meta-Color", "red"),
                ("X-Container-Read", ".r:*"),
                ("X-Container-Sysmeta-Thing", "s"),
            ],
        )
    };
    assert_eq!(s.handle(put("1.0")).await.status, 201);
    assert_eq!(s.handle(put("2.0")).await.status, 202);
    let r = s.handle(req(NodeMethod::Put, "AUTH_a/c2", &[])).await;
    assert_eq!(r.status, 400);
    let post = req(
        NodeMethod::Post,
        "AUTH_a/c",
        &[("X-Timestamp", "3.0"), ("X-Container-Meta-Color", "")],
    );
    assert_eq!(s.handle(post).await.status, 204);
    let head = s.handle(req(NodeMethod::Head, "AUTH_a/c", &[])).await;
    assert_eq!(head.status, 204);
    let h = &head.headers;
    assert_eq!(h.get("x-container-object-count"), Some("0"));
    assert_eq!(h.get("x-container-bytes-used"), Some("0"));
    assert_eq!(h.get("x-put-timestamp"), Some("0000000002.00000"));
    assert_eq!(h.get("x-backend-put-timestamp"), Some("0000000002.00000"));
    assert_eq!(h.get("x-backend-storage-policy-index"), Some("0"));
    assert_eq!(h.get("x-container-read"), Some(".r:*"));
    assert_eq!(h.get("x-container-sysmeta-thing"), Some("s"));
    assert_eq!(h.get("x-container-meta-color"), None);
    assert_eq!(h.get("content-type"), Some("text/plain; charset=utf-8"));
    assert!(h.get("x-timestamp").is_some());
    let head = s.handle(req(NodeMethod::Head, "AUTH_a/nope", &[])).await;
    assert_eq!(head.status, 404);
    let post = req(NodeMethod::Post, "AUTH_a/nope", &[("X-Timestamp", "3.0")]);
    assert_eq!(s.handle(post).await.status, 404);
}

#[tokio::test]
async fn object_rows_and_listings() {
    let t = setup().await;
    let s = &t.server;
    assert_eq!(put_obj(s, "o", "1.0", "1").await, 404);
    let put = req(NodeMethod::Put, "AUTH_a/c", &[("X-Timestamp", "1.0")]);
    assert_eq!(s.handle(put).await.status, 201);
    assert_eq!(s.handle(get("AUTH_a/c", &[])).await.status, 204);
    let json = s.handle(get("AUTH_a/c", &[("format", "json")])).await;
    assert_eq!(json.status, 200);
    assert_eq!(body(json).await, "[]");
    assert_eq!(put_obj(s, "b/2", "1700000000.5", "5").await, 201);
    assert_eq!(put_obj(s, "a", "1700000000.5", "3").await, 201);
    assert_eq!(put_obj(s, "b/1", "1700000000.5", "4").await, 201);
    let plain = s.handle(get("AUTH_a/c", &[])).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.headers.get("x-container-object-count"), Some("3"));
    assert_eq!(plain.headers.get("x-container-bytes-used"), Some("12"));
    assert_eq!(body(plain).await, "a\nb/1\nb/2\n");
    let mut r = get("AUTH_a/c", &[("delimiter", "/")]);
    r.headers.set("Accept", "application/json");
    let resp = s.handle(r).await;
    assert_eq!(
        resp.headers.get("content-type"),
        Some("application/json; charset=utf-8")
    );
    let v: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["name"], "a");
    assert_eq!(v[0]["bytes"], 3);
    assert_eq!(v[0]["hash"], "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(v[0]["content_type"], "text/plain");
    assert_eq!(v[0]["last_modified"], "2023-11-14T22:13:20.500000");
    assert_eq!(v[1]["subdir"], "b/");
    let xml = s
        .handle(get(
            "AUTH_a/c",
            &[("format", "xml"), ("prefix", "b/"), ("reverse", "yes")],
        ))
        .await;
    let xml = body(xml).await;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container name=\"c\">"));
    let i2 = xml.find("<name>b/2</name>").unwrap();
    let i1 = xml.find("<name>b/1</name>").unwrap();
    assert!(i2 < i1);
    let page = s
        .handle(get(
            "AUTH_a/c",
            &[("marker", "a"), ("end_marker", "b/2"), ("limit", "5")],
        ))
        .await;
    assert_eq!(body(page).await, "b/1\n");
    // Bad parameters.
    let r = s.handle(get("AUTH_a/c", &[("limit", "10001")])).await;
    assert_eq!(r.status, 412);
    assert_eq!(body(r).await, "Maximum limit is 10000");
    assert_eq!(
        s.handle(get("AUTH_a/c", &[("limit", "x")])).await.status,
        200
    );
    assert_eq!(
        s.handle(get("AUTH_a/c", &[("prefix", "a\0")])).await.status,
        400
    );
    let mut r = get("AUTH_a/c", &[]);
    r.headers.set("Accept", "image/png");
    assert_eq!(s.handle(r).await.status, 406);
}

#[tokio::test]
async fn delete_needs_empty_container() {
    let t = setup().await;
    let s = &t.server;
    let put = req(NodeMethod::Put, "AUTH_a/c", &[("X-Timestamp", "1.0")]);
    assert_eq!(s.handle(put).await.status, 201);
    assert_eq!(put_obj(s, "o", "2.0", "10").await, 201);
    let del = |ts: &'static str| req(NodeMethod::Delete, "AUTH_a/c", &[("X-Timestamp", ts)]);
    assert_eq!(s.handle(del("3.0")).await.status, 409);
    let del_obj = req(NodeMethod::Delete, "AUTH_a/c/o", &[("X-Timestamp", "4.0")]);
    assert_eq!(s.handle(del_obj).await.status, 204);
    assert_eq!(s.handle(del("5.0")).await.status, 204);
    let head = s.handle(req(NodeMethod::Head, "AUTH_a/c", &[])).await;
    assert_eq!(head.status, 404);
    assert_eq!(
        head.headers.get("x-backend-delete-timestamp"),
        Some("0000000005.00000")
    );
    assert_eq!(s.handle(del("6.0")).await.status, 404);
    // Recreate after delete.
    let put = req(NodeMethod::Put, "AUTH_a/c", &[("X-Timestamp", "7.0")]);
    assert_eq!(s.handle(put).await.status, 201);
    assert_eq!(s.handle(get("AUTH_a/c", &[])).await.status, 204);
}

#[tokio::test]
async fn missing_device_is_507() {
    let t = setup().await;
    let mut r = req(NodeMethod::Put, "AUTH_a/c", &[("X-Timestamp", "1.0")]);
    r.device = "sdz".into();
    assert_eq!(t.server.handle(r).await.status, 507);
}

#[tokio::test]
async fn direct_account_update_on_create() {
    let t = setup().await;
    create_account(&t.account, "sdb").await;
    let put = req(
        NodeMethod::Put,
        "AUTH_a/c",
        &[
            ("X-Timestamp", "2.0"),
            ("X-Account-Host", "127.0.0.1:6200"),
            ("X-Account-Device", "sdb"),
            ("X-Account-Partition", "0"),
        ],
    );
    assert_eq!(t.server.handle(put).await.status, 201);
    let mut r = req(NodeMethod::Get, "AUTH_a", &[]);
    r.device = "sdb".into();
    assert_eq!(body(t.account.handle(r).await).await, "c\n");
    // An unknown account makes the container PUT a 404, as in Swift.
    let put = req(
        NodeMethod::Put,
        "AUTH_b/c",
        &[
            ("X-Timestamp", "2.0"),
            ("X-Account-Host", "127.0.0.1:6200"),
            ("X-Account-Device", "sdb"),
            ("X-Account-Partition", "0"),
        ],
    );
    assert_eq!(t.server.handle(put).await.status, 404);
}

#[tokio::test]
async fn updater_pushes_stats_to_quorum() {
    let t = setup().await;
    for d in ["sda", "sdb", "sdc"] {
        create_account(&t.account, d).await;
    }
    let s = &t.server;
    let put = req(NodeMethod::Put, "AUTH_a/c", &[("X-Timestamp", "1.0")]);
    assert_eq!(s.handle(put).await.status, 201);
    assert_eq!(put_obj(s, "o1", "2.0", "10").await, 201);
    assert_eq!(put_obj(s, "o2", "2.0", "5").await, 201);
    // Account servers down: nothing is marked reported.
    t.client.up.store(false, Ordering::SeqCst);
    assert_eq!(s.update_accounts_once().await.unwrap(), 0);
    t.client.up.store(true, Ordering::SeqCst);
    assert_eq!(s.update_accounts_once().await.unwrap(), 1);
    assert_eq!(s.update_accounts_once().await.unwrap(), 0);
    for d in ["sda", "sdb", "sdc"] {
        let mut r = req(NodeMethod::Head, "AUTH_a", &[]);
        r.device = d.into();
        let h = t.account.handle(r).await;
        assert_eq!(h.headers.get("x-account-object-count"), Some("2"));
        assert_eq!(h.headers.get("x-account-bytes-used"), Some("15"));
        assert_eq!(h.headers.get("x-account-container-count"), Some("1"));
    }
    // A fresh server over the same disk walks the databases once.
    let fresh = ContainerServer::new(s.config().clone(), rings(), t.client.clone());
    assert_eq!(fresh.update_accounts_once().await.unwrap(), 0);
    let del = req(NodeMethod::Delete, "AUTH_a/c/o1", &[("X-Timestamp", "3.0")]);
    assert_eq!(s.handle(del).await.status, 204);
    let handle = s.spawn_updater(Duration::from_millis(10));
    let mut count = None;
    for _ in 0..200 {
        let r = req(NodeMethod::Head, "AUTH_a", &[]);
        count = t
            .account
            .handle(r)
            .await
            .headers
            .get("x-account-object-count")
            .map(str::to_string);
        if count.as_deref() == Some("1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.abort();
    assert_eq!(count.as_deref(), Some("1"));
}
