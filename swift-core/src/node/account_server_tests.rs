use super::*;
use crate::hash::HashConfig;
use crate::node::NodeRequest;

pub(crate) fn config(dir: &std::path::Path) -> NodeConfig {
    std::fs::create_dir_all(dir.join("sda")).unwrap();
    NodeConfig {
        devices: dir.to_path_buf(),
        mount_check: false,
        hash: HashConfig::new("pre", "suf"),
        fsync: false,
    }
}

fn req(method: NodeMethod, path: &str, headers: &[(&str, &str)]) -> NodeRequest {
    let mut r = NodeRequest::new(method, "sda", 0, path);
    for (k, v) in headers {
        r.headers.set(*k, *v);
    }
    r
}

async fn body(r: NodeResponse) -> String {
    let b = crate::stream::collect(r.body, 1 << 20).await.unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

fn row(put: &str, del: &str, count: &str, bytes: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Put-Timestamp", put.to_string()),
        ("X-Delete-Timestamp", del.to_string()),
        ("X-Object-Count", count.to_string()),
        ("X-Bytes-Used", bytes.to_string()),
    ]
}

async fn put_row(s: &AccountServer, path: &str, h: Vec<(&'static str, String)>) -> u16 {
    let mut r = NodeRequest::new(NodeMethod::Put, "sda", 0, path);
    for (k, v) in h {
        r.headers.set(k, v);
    }
    s.handle(r).await.status
}

#[tokio::test]
async fn account_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let s = AccountServer::new(config(dir.path()));
    let head = s.handle(req(NodeMethod::Head, "AUTH_a", &[])).await;
    assert_eq!(head.status, 404);
    assert_eq!(
        put_row(&s, "AUTH_a/c", row("1.0", "0", "1", "2")).await,
        404
    );
    let put = |ts: &'static str| {
        req(
            NodeMethod::Put,
            "AUTH_a",
            &[("X-Timestamp", ts), ("X-Account-Meta-Color", "red")],
        )
    };
    assert_eq!(s.handle(put("1.0")).await.status, 201);
    assert_eq!(s.handle(put("2.0")).await.status, 202);
    let r = s.handle(req(NodeMethod::Put, "AUTH_a", &[])).await;
    assert_eq!(r.status, 400);
    let post = req(
        NodeMethod::Post,
        "AUTH_a",
        &[("X-Timestamp", "3.0"), ("X-Account-Meta-Size", "big")],
    );
    assert_eq!(s.handle(post).await.status, 204);
    assert_eq!(
        put_row(&s, "AUTH_a/c1", row("4.0", "0", "3", "30")).await,
        201
    );
    assert_eq!(
        put_row(&s, "AUTH_a/c2", row("4.0", "0", "1", "5")).await,
        201
    );
    let head = s.handle(req(NodeMethod::Head, "AUTH_a", &[])).await;
    assert_eq!(head.status, 204);
    let h = &head.headers;
    assert_eq!(h.get("x-account-container-count"), Some("2"));
    assert_eq!(h.get("x-account-object-count"), Some("4"));
    assert_eq!(h.get("x-account-bytes-used"), Some("35"));
    assert_eq!(h.get("x-put-timestamp"), Some("0000000002.00000"));
    assert_eq!(h.get("x-account-meta-color"), Some("red"));
    assert_eq!(h.get("x-account-meta-size"), Some("big"));
    assert_eq!(
        h.get("x-account-storage-policy-policy-0-object-count"),
        Some("4")
    );
    assert_eq!(h.get("content-type"), Some("text/plain; charset=utf-8"));
    // The container was deleted: a newer delete with no objects.
    assert_eq!(
        put_row(&s, "AUTH_a/c2", row("4.0", "5.0", "0", "0")).await,
        204
    );
    let get = s.handle(req(NodeMethod::Get, "AUTH_a", &[])).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.headers.get("x-account-container-count"), Some("1"));
    assert_eq!(body(get).await, "c1\n");
    // Account delete.
    let del = req(NodeMethod::Delete, "AUTH_a", &[("X-Timestamp", "6.0")]);
    let r = s.handle(del).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.headers.get("x-account-status"), Some("Deleted"));
    let head = s.handle(req(NodeMethod::Head, "AUTH_a", &[])).await;
    assert_eq!(head.status, 404);
    assert_eq!(head.headers.get("x-account-status"), Some("Deleted"));
    let r = s.handle(put("7.0")).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        put_row(&s, "AUTH_a/c3", row("8.0", "0", "0", "0")).await,
        404
    );
}

#[tokio::test]
async fn listing_formats() {
    let dir = tempfile::tempdir().unwrap();
    let s = AccountServer::new(config(dir.path()));
    let put = req(NodeMethod::Put, "AUTH_a", &[("X-Timestamp", "1.0")]);
    assert_eq!(s.handle(put).await.status, 201);
    let mut r = req(NodeMethod::Get, "AUTH_a", &[]);
    r.query.push(("format".into(), "json".into()));
    let resp = s.handle(r).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.headers.get("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(body(resp).await, "[]");
    let resp = s.handle(req(NodeMethod::Get, "AUTH_a", &[])).await;
    assert_eq!(resp.status, 204);
    for name in ["a-1", "a-2", "b"] {
        assert_eq!(
            put_row(
                &s,
                &format!("AUTH_a/{name}"),
                row("1700000000.5", "0", "1", "2")
            )
            .await,
            201
        );
    }
    let mut r = req(NodeMethod::Get, "AUTH_a", &[("Accept", "application/json")]);
    r.query.push(("delimiter".into(), "-".into()));
    let v: serde_json::Value = serde_json::from_str(&body(s.handle(r).await).await).unwrap();
    assert_eq!(v[0]["subdir"], "a-");
    assert_eq!(v[1]["name"], "b");
    assert_eq!(v[1]["count"], 1);
    assert_eq!(v[1]["bytes"], 2);
    assert_eq!(v[1]["last_modified"], "2023-11-14T22:13:20.500000");
    let mut r = req(NodeMethod::Get, "AUTH_a", &[]);
    r.query.push(("format".into(), "xml".into()));
    r.query.push(("reverse".into(), "true".into()));
    r.query.push(("limit".into(), "1".into()));
    let xml = body(s.handle(r).await).await;
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"AUTH_a\">")
    );
    assert!(xml.contains("<container><name>b</name><count>1</count>"));
    assert!(!xml.contains("a-1"));
    let mut r = req(NodeMethod::Get, "AUTH_a", &[]);
    r.query.push(("limit".into(), "10001".into()));
    assert_eq!(s.handle(r).await.status, 412);
}

#[tokio::test]
async fn missing_device_is_507() {
    let dir = tempfile::tempdir().unwrap();
    let s = AccountServer::new(config(dir.path()));
    let mut r = req(NodeMethod::Head, "AUTH_a", &[]);
    r.device = "sdz".into();
    assert_eq!(s.handle(r).await.status, 507);
}
