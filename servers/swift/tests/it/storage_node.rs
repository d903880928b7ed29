//! `storage_router` over a real storage node (filesystem backend): a PUT
//! through HTTP lands on disk and reads back with Swift's headers.

use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use swift_core::hash::HashConfig;
use swift_core::node::{InProcessNodeClient, NodeClient, NodeConfig};
use swift_core::ring::{Device, Ring, Rings};
use swift_server::services::build_storage_node;
use swift_server::storage_router;
use tower::ServiceExt;

pub(crate) fn rings() -> Arc<Rings> {
    let ring = || Ring {
        part_power: 0,
        devices: vec![Some(Device {
            id: 0,
            region: 1,
            zone: 1,
            ip: "127.0.0.1".into(),
            port: 6201,
            device: "d1".into(),
            weight: 1.0,
            meta: String::new(),
        })],
        replica2part2dev: vec![vec![0]],
    };
    Arc::new(Rings::new(ring(), ring(), ring()))
}

#[tokio::test]
async fn object_put_then_get_through_http() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("d1")).unwrap();
    let config = NodeConfig {
        devices: dir.path().to_path_buf(),
        mount_check: true,
        hash: HashConfig::new("p", "s"),
        fsync: false,
    };
    let client: Arc<dyn NodeClient> = Arc::new(InProcessNodeClient::new());
    let router = storage_router(build_storage_node(config, rings(), client));

    let put = http::Request::builder()
        .method("PUT")
        .uri("/d1/0/AUTH_a/c/hello%20world")
        .header("X-Timestamp", "1700000000.00000")
        .header("Content-Type", "text/plain")
        .header("Content-Length", "5")
        .body(Body::from("hello"))
        .unwrap();
    let resp = router.clone().oneshot(put).await.unwrap();
    assert_eq!(resp.status(), 201);
    let md5 = "5d41402abc4b2a76b9719d911017c592";

    let get = http::Request::builder()
        .uri("/d1/0/AUTH_a/c/hello%20world")
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(get).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("etag")
            .unwrap()
            .to_str()
            .unwrap()
            .trim_matches('"'),
        md5
    );
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");

    let missing_device = http::Request::builder()
        .uri("/d9/0/AUTH_a/c/hello%20world")
        .body(Body::empty())
        .unwrap();
    let resp = router.oneshot(missing_device).await.unwrap();
    assert_eq!(resp.status(), 507);
}
