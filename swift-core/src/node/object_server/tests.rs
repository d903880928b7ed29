use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self as fstream, StreamExt};

use super::*;
use crate::hash::HashConfig;
use crate::object::{FsObjectBackend, NewObject, PutOptions};
use crate::ring::{Device, Ring};
use crate::stream;

/// host, method, device, partition, path, headers of one sent request.
type Sent = (String, String, String, u32, String, Headers);

/// Records container updates; answers 201, or fails while `down`.
#[derive(Debug, Default)]
struct Recorder {
    sent: Mutex<Vec<Sent>>,
    down: Mutex<bool>,
}

#[async_trait]
impl NodeClient for Recorder {
    async fn send(&self, host: &str, req: NodeRequest) -> crate::Result<NodeResponse> {
        if *self.down.lock().unwrap() {
            return Err(Error::Unavailable {
                reason: "down".into(),
            });
        }
        self.sent.lock().unwrap().push((
            host.to_string(),
            req.method.as_str().to_string(),
            req.device.clone(),
            req.partition,
            req.path.clone(),
            req.headers.clone(),
        ));
        Ok(NodeResponse::status(201))
    }
}

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    server: ObjectServer,
    client: Arc<Recorder>,
}

fn container_ring() -> Ring {
    Ring {
        part_power: 6,
        devices: vec![Some(Device {
            id: 0,
            region: 1,
            zone: 1,
            ip: "10.0.0.9".into(),
            port: 6201,
            device: "csda".into(),
            weight: 1.0,
            meta: String::new(),
        })],
        replica2part2dev: vec![vec![0; 64]],
    }
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    std::fs::create_dir_all(root.join("sda")).unwrap();
    let config = NodeConfig {
        devices: root.clone(),
        mount_check: true,
        hash: HashConfig::new("pre", "suf"),
        fsync: false,
    };
    let rings = Arc::new(Rings::new(
        container_ring(),
        container_ring(),
        container_ring(),
    ));
    let client = Arc::new(Recorder::default());
    let backend = Arc::new(FsObjectBackend::new(config.clone()));
    let server = ObjectServer::new(config, rings, backend, client.clone());
    Env {
        _tmp: tmp,
        root,
        server,
        client,
    }
}

fn ts(offset_secs: u64) -> Timestamp {
    Timestamp::from_ticks((Timestamp::now().secs() - 1000 + offset_secs) * 100_000)
}

fn req(method: NodeMethod, headers: &[(&str, &str)]) -> NodeRequest {
    let mut r = NodeRequest::new(method, "sda", 3, "AUTH_a/c/o");
    for (n, v) in headers {
        r.headers.set(*n, *v);
    }
    r
}

async fn put(e: &Env, t: Timestamp, body: &'static str, extra: &[(&str, &str)]) -> NodeResponse {
    let tss = t.internal();
    let mut h = vec![
        ("x-timestamp", tss.as_str()),
        ("content-type", "text/plain"),
    ];
    h.extend_from_slice(extra);
    let mut r = req(NodeMethod::Put, &h);
    r.body = stream::once(body);
    e.server.handle(r).await
}

async fn body(r: NodeResponse) -> Bytes {
    stream::collect(r.body, 1 << 20).await.unwrap()
}

/// Files under `dir`, without the partitions' suffix-hash bookkeeping.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else if !e.file_name().to_string_lossy().starts_with("hashes.") {
                out.push(p);
            }
        }
    }
    out
}

const HELLO_MD5: &str = "5d41402abc4b2a76b9719d911017c592";

#[tokio::test]
async fn put_get_head_round_trip() {
    let e = env();
    let t = ts(1);
    let r = put(
        &e,
        t,
        "hello",
        &[
            ("x-object-meta-color", "red"),
            ("x-object-sysmeta-secret", "s"),
            ("content-disposition", "inline"),
            ("x-unrelated", "dropped"),
            ("etag", HELLO_MD5),
            ("content-length", "5"),
        ],
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.headers.get("etag"), Some(HELLO_MD5));
    let r = e.server.handle(req(NodeMethod::Get, &[])).await;
    assert_eq!(r.status, 200);
    let h = r.headers.clone();
    assert_eq!(h.get("content-length"), Some("5"));
    assert_eq!(h.get("content-type"), Some("text/plain"));
    assert_eq!(h.get("etag"), Some(HELLO_MD5));
    assert_eq!(h.get("x-timestamp"), Some(t.normal().as_str()));
    assert_eq!(h.get("x-backend-timestamp"), Some(t.internal().as_str()));
    assert_eq!(h.get("last-modified"), Some(t.http_date().as_str()));
    assert_eq!(h.get("accept-ranges"), Some("bytes"));
    assert_eq!(h.get("x-object-meta-color"), Some("red"));
    assert_eq!(h.get("x-object-sysmeta-secret"), Some("s"));
    assert_eq!(h.get("content-disposition"), Some("inline"));
    assert_eq!(h.get("x-unrelated"), None);
    assert_eq!(&body(r).await[..], b"hello");
    let r = e.server.handle(req(NodeMethod::Head, &[])).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-length"), Some("5"));
    assert!(body(r).await.is_empty());
}

#[tokio::test]
async fn put_validation() {
    let e = env();
    let r = e
        .server
        .handle(req(NodeMethod::Put, &[("content-type", "a/b")]))
        .await;
    assert_eq!(r.status, 400);
    let r = e
        .server
        .handle(req(
            NodeMethod::Put,
            &[("x-timestamp", "yesterday"), ("content-type", "a/b")],
        ))
        .await;
    assert_eq!(r.status, 400);
    let t = ts(1).internal();
    let r = e
        .server
        .handle(req(NodeMethod::Put, &[("x-timestamp", &t)]))
        .await;
    assert_eq!(r.status, 400, "content-type required");
    let r = put(&e, ts(1), "x", &[("x-delete-at", "1000")]).await;
    assert_eq!(r.status, 400, "x-delete-at in the past");
    let r = put(&e, ts(1), "x", &[("x-delete-at", "soon")]).await;
    assert_eq!(r.status, 400);
    let long = "v".repeat(300);
    let r = put(&e, ts(1), "x", &[("x-object-meta-big", &long)]).await;
    assert_eq!(r.status, 400);
    let r = put(&e, ts(1), "x", &[("content-length", "lots")]).await;
    assert_eq!(r.status, 400);
    let r = put(&e, ts(1), "x", &[("content-length", "3")]).await;
    assert_eq!(r.status, 499, "short body");
    let r = e.server.handle(req(NodeMethod::Get, &[])).await;
    assert_eq!(r.status, 404);
    let r = e
        .server
        .handle(req(NodeMethod::Other("PATCH".into()), &[]))
        .await;
    assert_eq!(r.status, 405);
    let r = e
        .server
        .handle(NodeRequest::new(NodeMethod::Get, "sda", 3, "AUTH_a/c"))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn etag_mismatch_is_422_and_stores_nothing() {
    let e = env();
    let r = put(
        &e,
        ts(1),
        "hello",
        &[("etag", "\"0123456789abcdef0123456789abcdef\"")],
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(e.server.handle(req(NodeMethod::Get, &[])).await.status, 404);
    assert!(files_under(&e.root.join("sda")).is_empty());
    assert!(
        e.client.sent.lock().unwrap().is_empty(),
        "no container update"
    );
    let quoted = format!("\"{HELLO_MD5}\"");
    assert_eq!(
        put(&e, ts(2), "hello", &[("etag", &quoted)]).await.status,
        201
    );
}

#[tokio::test]
async fn interrupted_upload_leaves_nothing() {
    let e = env();
    let t = ts(1).internal();
    let mut r = req(
        NodeMethod::Put,
        &[("x-timestamp", &t), ("content-type", "a/b")],
    );
    r.body = fstream::iter(vec![
        Ok(Bytes::from(vec![0u8; 70_000])),
        Err(Error::Unavailable {
            reason: "client gone".into(),
        }),
    ])
    .boxed();
    assert_eq!(e.server.handle(r).await.status, 499);
    assert_eq!(
        e.server.handle(req(NodeMethod::Head, &[])).await.status,
        404
    );
    assert!(files_under(&e.root.join("sda")).is_empty());
}

#[tokio::test]
async fn timestamps_conflict() {
    let e = env();
    assert_eq!(put(&e, ts(5), "a", &[]).await.status, 201);
    for t in [ts(5), ts(4)] {
        let r = put(&e, t, "b", &[]).await;
        assert_eq!(r.status, 409);
        assert_eq!(
            r.headers.get("x-backend-timestamp"),
            Some(ts(5).internal().as_str())
        );
    }
    let r = put(&e, ts(6), "b", &[("if-none-match", "*")]).await;
    assert_eq!(r.status, 412);
    let old = ts(3).internal();
    let r = e
        .server
        .handle(req(NodeMethod::Delete, &[("x-timestamp", &old)]))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        &body(e.server.handle(req(NodeMethod::Get, &[])).await).await[..],
        b"a"
    );
}

#[tokio::test]
async fn delete_then_get_is_404_with_timestamp() {
    let e = env();
    assert_eq!(put(&e, ts(1), "a", &[]).await.status, 201);
    let t2 = ts(2).internal();
    let r = e
        .server
        .handle(req(NodeMethod::Delete, &[("x-timestamp", &t2)]))
        .await;
    assert_eq!(r.status, 204);
    for m in [NodeMethod::Get, NodeMethod::Head] {
        let r = e.server.handle(req(m, &[])).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.headers.get("x-backend-timestamp"), Some(t2.as_str()));
    }
    let t3 = ts(3).internal();
    let r = e
        .server
        .handle(req(NodeMethod::Delete, &[("x-timestamp", &t3)]))
        .await;
    assert_eq!(r.status, 404);
    let r = e.server.handle(req(NodeMethod::Delete, &[])).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn post_replaces_user_metadata() {
    let e = env();
    let t1 = ts(1).internal();
    let r = e
        .server
        .handle(req(NodeMethod::Post, &[("x-timestamp", &t1)]))
        .await;
    assert_eq!(r.status, 404);
    let extra = [
        ("x-object-meta-a", "1"),
        ("x-object-sysmeta-s", "keep"),
        ("content-encoding", "gzip"),
    ];
    assert_eq!(put(&e, ts(1), "body", &extra).await.status, 201);
    let t2 = ts(2);
    let t2s = t2.internal();
    let r = e
        .server
        .handle(req(
            NodeMethod::Post,
            &[("x-timestamp", &t2s), ("x-object-meta-b", "2")],
        ))
        .await;
    assert_eq!(r.status, 202);
    let r = e.server.handle(req(NodeMethod::Head, &[])).await;
    let h = &r.headers;
    assert_eq!(h.get("x-object-meta-a"), None);
    assert_eq!(h.get("x-object-meta-b"), Some("2"));
    assert_eq!(h.get("content-encoding"), None);
    assert_eq!(h.get("x-object-sysmeta-s"), Some("keep"));
    assert_eq!(h.get("content-type"), Some("text/plain"));
    assert_eq!(h.get("content-length"), Some("4"));
    assert_eq!(h.get("x-timestamp"), Some(t2.normal().as_str()));
    let r = e
        .server
        .handle(req(
            NodeMethod::Post,
            &[("x-timestamp", &t2s), ("x-object-meta-c", "3")],
        ))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        e.server.handle(req(NodeMethod::Post, &[])).await.status,
        400
    );
}

#[tokio::test]
async fn expired_objects_are_not_found() {
    let e = env();
    let hash = HashConfig::new("pre", "suf").hash_path("AUTH_a", Some("c"), Some("o"));
    let loc = ObjectLocation::new("sda", 3, hash);
    let mut obj = NewObject::new("/AUTH_a/c/o", ts(1), "text/plain");
    obj.user_meta = vec![(
        "x-delete-at".into(),
        (Timestamp::now().secs() - 10).to_string(),
    )];
    e.server
        .backend()
        .put(&loc, obj, stream::once("x"), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(e.server.handle(req(NodeMethod::Get, &[])).await.status, 404);
    assert_eq!(
        e.server.handle(req(NodeMethod::Head, &[])).await.status,
        404
    );
    let t = ts(2).internal();
    assert_eq!(
        e.server
            .handle(req(NodeMethod::Post, &[("x-timestamp", &t)]))
            .await
            .status,
        404
    );
    let future = (Timestamp::now().secs() + 1000).to_string();
    assert_eq!(
        put(&e, ts(3), "y", &[("x-delete-at", &future)])
            .await
            .status,
        201
    );
    let r = e.server.handle(req(NodeMethod::Get, &[])).await;
    assert_eq!(r.headers.get("x-delete-at"), Some(future.as_str()));
}

#[tokio::test]
async fn missing_device_is_507() {
    let e = env();
    for dev in ["sdz", ".."] {
        let mut r = req(NodeMethod::Get, &[]);
        r.device = dev.into();
        assert_eq!(e.server.handle(r).await.status, 507, "{dev}");
        let t = ts(1).internal();
        let mut r = req(
            NodeMethod::Put,
            &[("x-timestamp", &t), ("content-type", "a/b")],
        );
        r.device = dev.into();
        r.body = stream::once("x");
        assert_eq!(e.server.handle(r).await.status, 507, "{dev}");
    }
}

#[path = "tests_read.rs"]
mod read;
#[path = "tests_replicate.rs"]
mod replicate;
#[path = "tests_update.rs"]
mod update;
