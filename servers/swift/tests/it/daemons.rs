//! The storage node's daemons from the outside: the recon endpoint, the
//! `--once` command line, and ring reloading after the ring CLI writes a
//! new ring.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use swift_core::daemon::{DaemonRunner, DbAuditor, ReconStore};
use swift_core::db::{self, DbKind};
use swift_core::hash::HashConfig;
use swift_core::node::{InProcessNodeClient, NodeClient, NodeConfig};
use swift_core::ring::{RingKind, RingReloader, Rings};
use swift_core::timestamp::Timestamp;
use swift_server::services::build_storage_node;
use swift_server::storage_router_with_recon;
use tower::ServiceExt;

fn node_config(devices: &Path) -> NodeConfig {
    std::fs::create_dir_all(devices.join("d1")).unwrap();
    NodeConfig {
        devices: devices.to_path_buf(),
        mount_check: true,
        hash: HashConfig::new("p", "s"),
        fsync: false,
    }
}

async fn get_json(router: &axum::Router, uri: &str) -> (u16, serde_json::Value) {
    let req = http::Request::builder()
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn recon_shows_the_last_pass_next_to_the_storage_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = node_config(dir.path());
    let client: Arc<dyn NodeClient> = Arc::new(InProcessNodeClient::new());
    let node = build_storage_node(cfg.clone(), crate::storage_node::rings(), client);
    let b = db::container_broker(&cfg, "d1", 0, "AUTH_a", "c");
    b.initialize("AUTH_a", "c", Timestamp::now(), 0)
        .await
        .unwrap();
    let recon = Arc::new(ReconStore::new());
    let mut runner = DaemonRunner::new(recon.clone());
    runner.add(
        Arc::new(DbAuditor::new(DbKind::Container, cfg.devices.clone())),
        Duration::from_secs(60),
    );
    let router = storage_router_with_recon(node, recon);

    let (status, v) = get_json(&router, "/recon/container-auditor").await;
    assert_eq!(status, 200);
    assert_eq!(v["passes"], 0);
    assert!(v["last"].is_null());
    runner.run_once(None).await.unwrap();
    let (status, v) = get_json(&router, "/recon").await;
    assert_eq!(status, 200);
    let a = &v["daemons"]["container-auditor"];
    assert_eq!(a["passes"], 1, "{v}");
    assert_eq!(a["last"]["counts"]["dbs_checked"], 1, "{v}");
    assert_eq!(a["last"]["counts"]["passed"], 1, "{v}");
    assert!(a["last"]["started"].as_f64().unwrap() > 1.7e9);
    assert_eq!(v["async_pendings"], 0);
    let (status, _) = get_json(&router, "/recon/no-such-daemon").await;
    assert_eq!(status, 404);
    // The backend protocol is still served beside it.
    let head = http::Request::builder()
        .method("HEAD")
        .uri("/d1/0/AUTH_a/c")
        .body(Body::empty())
        .unwrap();
    assert_eq!(router.oneshot(head).await.unwrap().status(), 204);
}

fn ring_cli(args: &[&str]) {
    let mut v = vec!["swift-ring".to_string()];
    v.extend(args.iter().map(|s| s.to_string()));
    swift_server::ring_cli::run(v).unwrap();
}

/// Builder and ring files for the three rings with one device on
/// `127.0.0.1:port`.
fn write_rings(swift_dir: &Path, port: u16) {
    for kind in ["account", "container", "object"] {
        let b = swift_dir.join(format!("{kind}.builder"));
        let b = b.to_str().unwrap();
        ring_cli(&["create", b, "4", "1", "0"]);
        ring_cli(&["add", b, &format!("r1z1-127.0.0.1:{port}/d1"), "100"]);
        ring_cli(&["rebalance", b]);
    }
}

#[tokio::test]
async fn ring_cli_changes_are_picked_up_by_the_reloader() {
    let dir = tempfile::tempdir().unwrap();
    write_rings(dir.path(), 6201);
    let path = dir.path().join("container.ring");
    assert!(path.exists());
    let load =
        |k: &str| swift_core::ring::Ring::load(&dir.path().join(format!("{k}.ring"))).unwrap();
    let rings = Arc::new(Rings::new(
        load("account"),
        load("container"),
        load("object"),
    ));
    let reloader = RingReloader::new(rings.clone(), vec![(RingKind::Container, path.clone())]);
    assert!(reloader.check().unwrap().is_empty());

    let b = dir.path().join("container.builder");
    let b = b.to_str().unwrap();
    ring_cli(&["add", b, "r1z2-127.0.0.1:6202/d1", "100"]);
    ring_cli(&["pretend-min-part-hours-passed", b]);
    ring_cli(&["rebalance", b]);
    assert_eq!(reloader.check().unwrap(), vec![RingKind::Container]);
    let ring = rings.get(RingKind::Container);
    assert_eq!(ring.devices().count(), 2);
    // Both devices now hold partitions.
    let used: std::collections::HashSet<u16> = ring.replica2part2dev[0].iter().copied().collect();
    assert_eq!(used.len(), 2);

    ring_cli(&["remove", b, "0"]);
    ring_cli(&["pretend-min-part-hours-passed", b]);
    ring_cli(&["rebalance", b]);
    assert_eq!(reloader.check().unwrap(), vec![RingKind::Container]);
    assert_eq!(rings.get(RingKind::Container).devices().count(), 1);
}

#[tokio::test]
async fn once_runs_one_pass_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let swift_dir = dir.path().join("swift");
    std::fs::create_dir_all(&swift_dir).unwrap();
    write_rings(&swift_dir, 6299);
    let devices = dir.path().join("node");
    let cfg = node_config(&devices);
    let conf = dir.path().join("storage.toml");
    std::fs::write(
        &conf,
        format!(
            "bind = \"127.0.0.1:6299\"\ndevices = \"{}\"\nswift_dir = \"{}\"\nfsync = false\n[hash]\nprefix = \"p\"\nsuffix = \"s\"\n",
            devices.display(),
            swift_dir.display()
        ),
    )
    .unwrap();
    // One healthy and one corrupt container database.
    for (c, corrupt) in [("good", false), ("bad", true)] {
        let b = db::container_broker(&cfg, "d1", 0, "AUTH_a", c);
        b.initialize("AUTH_a", c, Timestamp::now(), 0)
            .await
            .unwrap();
        if corrupt {
            std::fs::write(b.path(), vec![0x42u8; 4096]).unwrap();
        }
    }
    let bin = env!("CARGO_BIN_EXE_swift-storage");
    let run = |which: &str| {
        std::process::Command::new(bin)
            .args(["--config", conf.to_str().unwrap(), "--once", which])
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let out = run("container-auditor");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts = &v["container-auditor"]["counts"];
    assert_eq!(
        (
            counts["dbs_checked"].as_u64(),
            counts["quarantined"].as_u64()
        ),
        (Some(2), Some(1)),
        "{v}"
    );
    assert!(devices.join("d1/quarantined/containers").is_dir());

    let out = run("all");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for name in [
        "container-replicator",
        "account-replicator",
        "container-auditor",
        "account-auditor",
        "object-updater",
        "container-updater",
        "ring-reloader",
    ] {
        assert!(v[name]["counts"].is_object(), "{name}: {v}");
    }
    assert_eq!(v["container-auditor"]["counts"]["dbs_checked"], 1);
    assert_eq!(v["container-replicator"]["counts"]["dbs_checked"], 1);

    let out = run("no-such-daemon");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("container-replicator"));
}
