//! The object replicator across in-process nodes.

use std::time::{Duration, SystemTime};

use http::Method;
use swift_core::object::ObjectState;
use swift_core::timestamp::Timestamp;

use super::cluster;

#[tokio::test]
async fn missing_object_is_copied_and_then_in_sync() {
    let c = cluster(3).await;
    c.set_up(2, false);
    c.put("o1", "first").await;
    c.set_up(2, true);
    assert_eq!(c.state(2, "o1").await, ObjectState::Missing);
    let r = c.replicate(0).await;
    assert!(r.count("objects_sent") >= 1, "{r:?}");
    assert!(r.count("suffixes_synced") >= 1, "{r:?}");
    assert_eq!(r.errors, 0);
    assert_eq!(c.bytes(2, "o1").await.unwrap(), "first");
    assert_eq!(c.state(2, "o1").await, c.state(0, "o1").await);
    // Now in sync: a second pass sends nothing.
    let r = c.replicate(0).await;
    assert_eq!(r.count("objects_sent"), 0);
    assert_eq!(r.count("suffixes_synced"), 0);
    assert!(r.count("partitions_checked") >= 1);
    assert_eq!(c.all_hashes(0).await, c.all_hashes(2).await);
}

#[tokio::test]
async fn newer_tombstone_beats_older_data() {
    let c = cluster(3).await;
    c.put("o", "doomed").await;
    c.set_up(2, false);
    let r = c.object(Method::DELETE, "o", Default::default()).await;
    assert!(r.status.is_success());
    c.set_up(2, true);
    assert!(matches!(c.state(2, "o").await, ObjectState::Present(_)));
    // The stale node pushes nothing over the newer tombstones.
    let r = c.replicate(2).await;
    assert_eq!(r.count("objects_sent"), 0, "{r:?}");
    assert!(matches!(c.state(0, "o").await, ObjectState::Deleted { .. }));
    let r = c.replicate(0).await;
    assert!(r.count("tombstones_sent") >= 1, "{r:?}");
    assert_eq!(c.state(2, "o").await, c.state(0, "o").await);
    assert!(matches!(c.state(2, "o").await, ObjectState::Deleted { .. }));
    // The object never comes back through the proxy.
    let r = c.object(Method::GET, "o", Default::default()).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn older_remote_is_updated_with_data_and_metadata() {
    let c = cluster(3).await;
    c.put("o", "v1").await;
    c.set_up(1, false);
    c.put("o", "v2-newer").await;
    let r = c
        .call(
            Method::POST,
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &c.token), ("x-object-meta-color", "blue")],
            Default::default(),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.status);
    c.set_up(1, true);
    assert_eq!(c.bytes(1, "o").await.unwrap(), "v1");
    let r = c.replicate(0).await;
    assert_eq!(r.errors, 0, "{r:?}");
    assert_eq!(c.bytes(1, "o").await.unwrap(), "v2-newer");
    assert_eq!(c.state(1, "o").await, c.state(0, "o").await);
    let ObjectState::Present(m) = c.state(1, "o").await else {
        panic!("no data on node 1")
    };
    assert!(m.meta_timestamp.is_some());
    assert!(m
        .user_meta
        .contains(&("x-object-meta-color".to_string(), "blue".to_string())));
    assert_eq!(c.all_hashes(0).await, c.all_hashes(1).await);
}

#[tokio::test]
async fn handoff_partition_is_pushed_then_removed() {
    let c = cluster(4).await;
    let prim = c.primaries("h");
    assert_eq!(prim.len(), 3);
    let handoff = (0..4).find(|n| !prim.contains(n)).unwrap();
    c.set_up(prim[0], false);
    c.put("h", "on a handoff").await;
    c.set_up(prim[0], true);
    assert_eq!(c.bytes(handoff, "h").await.unwrap(), "on a handoff");
    assert_eq!(c.state(prim[0], "h").await, ObjectState::Missing);
    // While a primary is unreachable the handoff keeps its copy.
    c.set_up(prim[0], false);
    let r = c.replicate(handoff).await;
    assert_eq!(r.count("handoffs_removed"), 0);
    assert!(r.errors > 0);
    assert!(c.bytes(handoff, "h").await.is_some());
    c.set_up(prim[0], true);
    let r = c.replicate(handoff).await;
    assert_eq!(r.count("handoffs_removed"), 1, "{r:?}");
    assert_eq!(r.errors, 0);
    for p in &prim {
        assert_eq!(c.bytes(*p, "h").await.unwrap(), "on a handoff", "node {p}");
    }
    let part_dir = c.roots[handoff]
        .join("d1/objects")
        .join(c.loc("h").partition.to_string());
    assert!(!part_dir.exists(), "handoff partition removed");
}

#[tokio::test]
async fn old_tombstones_are_reclaimed_and_never_sent() {
    let c = cluster(3).await;
    let week_and_a_day = Duration::from_secs(8 * 24 * 3600);
    let old = Timestamp::from_system_time(SystemTime::now() - week_and_a_day);
    let young = Timestamp::from_system_time(SystemTime::now() - Duration::from_secs(3600));
    c.backends[0].delete(&c.loc("old"), old).await.unwrap();
    c.backends[0].delete(&c.loc("young"), young).await.unwrap();
    let r = c.replicate(0).await;
    assert_eq!(r.count("reclaimed"), 1, "{r:?}");
    // The young tombstone reaches both peers; the old one is gone.
    assert_eq!(r.count("tombstones_sent"), 2, "{r:?}");
    for n in 0..3 {
        assert_eq!(c.state(n, "old").await, ObjectState::Missing, "node {n}");
    }
    for n in 1..3 {
        assert_eq!(
            c.state(n, "young").await,
            ObjectState::Deleted { timestamp: young }
        );
    }
    // A shorter reclaim age removes the young ones everywhere.
    for n in 0..3 {
        let cfg = swift_core::node::ObjectReplicatorConfig {
            reclaim_age_secs: 60,
            ..Default::default()
        };
        let r = swift_core::daemon::Daemon::run_once(&c.replicator(n, cfg))
            .await
            .unwrap();
        assert_eq!(r.count("reclaimed"), 1, "node {n}: {r:?}");
        assert_eq!(r.count("tombstones_sent"), 0);
    }
    assert!(c.all_hashes(0).await.is_empty());
}

#[test]
fn config_is_validated() {
    use swift_core::node::ObjectReplicatorConfig;
    let cfg: ObjectReplicatorConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(cfg, ObjectReplicatorConfig::default());
    assert_eq!(cfg.reclaim_age_secs, 604_800);
    assert!(serde_json::from_str::<ObjectReplicatorConfig>(r#"{"bogus": 1}"#).is_err());
    let zero = ObjectReplicatorConfig {
        concurrency: 0,
        ..Default::default()
    };
    assert!(zero.validate().is_err());
    let rate = ObjectReplicatorConfig {
        items_per_second: Some(0.0),
        ..Default::default()
    };
    assert!(rate.validate().is_err());
}

#[tokio::test]
async fn items_per_second_paces_the_sends() {
    let c = cluster(3).await;
    c.set_up(2, false);
    for i in 0..5 {
        c.put(&format!("p{i}"), "paced").await;
    }
    c.set_up(2, true);
    let cfg = swift_core::node::ObjectReplicatorConfig {
        items_per_second: Some(20.0),
        concurrency: 8,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let r = swift_core::daemon::Daemon::run_once(&c.replicator(0, cfg))
        .await
        .unwrap();
    assert_eq!(r.count("objects_sent"), 5, "{r:?}");
    // Five sends at twenty a second, even with partitions in parallel.
    assert!(
        start.elapsed() >= Duration::from_millis(190),
        "{:?}",
        start.elapsed()
    );
    for i in 0..5 {
        assert_eq!(c.bytes(2, &format!("p{i}")).await.unwrap(), "paced");
    }
}
