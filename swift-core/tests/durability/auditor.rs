//! The object auditor, corrupt GETs and the whole repair cycle.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use swift_core::daemon::Daemon;
use swift_core::node::ObjectAuditorConfig;
use swift_core::object::ObjectState;

use super::cluster;

fn unlimited() -> ObjectAuditorConfig {
    ObjectAuditorConfig {
        files_per_second: None,
        bytes_per_second: None,
    }
}

#[tokio::test]
async fn auditor_quarantines_bit_flips_only_and_respects_its_rate() {
    let c = cluster(3).await;
    for i in 0..5 {
        c.put(&format!("o{i}"), &format!("body number {i}")).await;
    }
    c.corrupt(1, "o3");
    let cfg = ObjectAuditorConfig {
        files_per_second: Some(10.0),
        bytes_per_second: None,
    };
    let auditor = c.auditor(1, cfg);
    assert_eq!(auditor.name(), "object-auditor");
    let start = Instant::now();
    let r = auditor.run_once().await.unwrap();
    // Five objects at ten per second: the last opens 0.4 s in.
    assert!(
        start.elapsed() >= Duration::from_millis(390),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.count("objects_checked"), 5, "{r:?}");
    assert_eq!(r.count("quarantined"), 1);
    assert_eq!(r.errors, 0);
    assert!(r.count("bytes_checked") > 0);
    assert_eq!(c.state(1, "o3").await, ObjectState::Missing);
    let q = c.roots[1]
        .join("d1/quarantined/objects")
        .join(c.hash_of("o3").to_hex());
    assert!(q.is_dir(), "kept aside for operators");
    for i in [0, 1, 2, 4] {
        assert!(
            c.bytes(1, &format!("o{i}")).await.is_some(),
            "o{i} untouched"
        );
    }
    // Clean nodes: nothing quarantined.
    let r = c.auditor(0, unlimited()).run_once().await.unwrap();
    assert_eq!((r.count("objects_checked"), r.count("quarantined")), (5, 0));
}

#[tokio::test]
async fn damaged_metadata_is_quarantined() {
    let c = cluster(3).await;
    c.put("m", "meta damage").await;
    let path = c.data_file(2, "m");
    let mut raw = std::fs::read(&path).unwrap();
    let n = raw.len();
    raw[n - 1] = b'X'; // the trailer's magic
    std::fs::write(&path, raw).unwrap();
    let r = c.auditor(2, unlimited()).run_once().await.unwrap();
    assert_eq!(r.count("quarantined"), 1, "{r:?}");
    assert_eq!(c.state(2, "m").await, ObjectState::Missing);
}

#[test]
fn auditor_config_defaults_and_validation() {
    let cfg: ObjectAuditorConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(cfg, ObjectAuditorConfig::default());
    assert_eq!(cfg.files_per_second, Some(20.0));
    let bad = ObjectAuditorConfig {
        bytes_per_second: Some(-1.0),
        ..Default::default()
    };
    assert!(bad.validate().is_err());
}

#[tokio::test]
async fn corrupt_bytes_never_leave_the_proxy_and_the_cluster_heals() {
    let c = cluster(3).await;
    let names: Vec<String> = (0..12).map(|i| format!("obj-{i}")).collect();
    let body = |n: &str| Bytes::from(format!("{n}: ").repeat(5000));
    for n in &names {
        let r = c.object(Method::PUT, n, body(n)).await;
        assert_eq!(r.status, 201);
    }
    // Bit rot on node 1 for three objects, and on two of the three
    // replicas of one more.
    for n in &names[..3] {
        c.corrupt(1, n);
    }
    c.corrupt(0, &names[3]);
    c.corrupt(2, &names[3]);
    // GETs through the proxy: correct bytes or a cut body, never wrong
    // bytes; a retry after a cut gets a good replica.
    for n in &names[..4] {
        let mut good = false;
        for _ in 0..3 {
            let r = c.object(Method::GET, n, Bytes::new()).await;
            assert_eq!(r.status, 200);
            match r.body {
                Ok(b) => {
                    assert_eq!(b, body(n), "{n}: wrong bytes served");
                    good = true;
                    break;
                }
                Err(_) => continue,
            }
        }
        assert!(good, "{n}: no good replica served");
    }
    // The auditors quarantine whatever the GETs did not already.
    let mut quarantined = 0;
    for node in 0..3 {
        let r = c.auditor(node, unlimited()).run_once().await.unwrap();
        assert_eq!(r.errors, 0);
        quarantined += r.count("quarantined");
    }
    let q_dirs: usize = (0..3)
        .map(|n| {
            std::fs::read_dir(c.roots[n].join("d1/quarantined/objects"))
                .map(|d| d.count())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(q_dirs, 5, "each bad copy quarantined once");
    assert!(quarantined <= 5);
    // Replication restores the good copies; every replica is identical.
    for node in 0..3 {
        let r = c.replicate(node).await;
        assert_eq!(r.errors, 0, "node {node}: {r:?}");
    }
    for n in &names {
        for node in 0..3 {
            assert_eq!(c.bytes(node, n).await.unwrap(), body(n), "{n} on {node}");
        }
    }
    let h0 = c.all_hashes(0).await;
    assert!(!h0.is_empty());
    assert_eq!(h0, c.all_hashes(1).await);
    assert_eq!(h0, c.all_hashes(2).await);
    for node in 0..3 {
        let r = c.auditor(node, unlimited()).run_once().await.unwrap();
        assert_eq!(
            (r.count("objects_checked"), r.count("quarantined")),
            (12, 0)
        );
    }
}
