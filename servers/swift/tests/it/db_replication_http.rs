//! Database replication over real sockets: three storage nodes served by
//! `storage_router_with_recon`, replicators talking HTTP (`REPLICATE` with
//! JSON and whole-file bodies).

use std::sync::Arc;
use std::time::Duration;

use swift_core::daemon::{Daemon, DbReplicator, DbReplicatorConfig, ReconStore};
use swift_core::db::{self, DbKind, ListingEntry, ListingParams, ObjectRecord};
use swift_core::hash::HashConfig;
use swift_core::node::NodeConfig;
use swift_core::ring::{DeviceSpec, RebalanceOptions, RingBuilder, RingKind, Rings};
use swift_core::timestamp::Timestamp;
use swift_server::runtime::{bind, RunningServer};
use swift_server::services::{build_storage_node, http_client};
use swift_server::storage_router_with_recon;
use tokio_util::sync::CancellationToken;

fn obj(name: &str, ts: Timestamp) -> ObjectRecord {
    ObjectRecord {
        name: name.into(),
        created_at: ts,
        size: 1,
        content_type: "text/plain".into(),
        etag: "e".into(),
        deleted: false,
        storage_policy_index: 0,
    }
}

async fn names(b: &db::ContainerBroker) -> Vec<String> {
    b.list_objects(ListingParams::default(), 0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            ListingEntry::Item(o) => Some(o.name),
            ListingEntry::Subdir(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn container_replicas_converge_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let token = CancellationToken::new();
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(bind("127.0.0.1:0".parse().unwrap()).await.unwrap());
    }
    let hosts: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    let mut b = RingBuilder::create(3, 3, 0).unwrap();
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
    b.rebalance(&RebalanceOptions::at(1_700_000_000, 3))
        .unwrap();
    let ring = b.build();
    let rings = Arc::new(Rings::new(ring.clone(), ring.clone(), ring));
    let client = http_client(Duration::from_millis(500), Duration::from_secs(10)).unwrap();
    let mut cfgs = Vec::new();
    let mut servers = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let devices = dir.path().join(format!("n{i}"));
        std::fs::create_dir_all(devices.join("d1")).unwrap();
        let cfg = NodeConfig {
            devices,
            mount_check: true,
            hash: HashConfig::new("p", "s"),
            fsync: false,
        };
        let node = build_storage_node(cfg.clone(), rings.clone(), client.clone());
        let router = storage_router_with_recon(node, Arc::new(ReconStore::new()));
        servers.push(RunningServer::spawn("n", l, router, token.clone()).unwrap());
        cfgs.push(cfg);
    }
    let part =
        rings
            .get(RingKind::Container)
            .partition_for(&cfgs[0].hash, "AUTH_a", Some("c"), None);
    let broker = |i: usize| db::container_broker(&cfgs[i], "d1", part, "AUTH_a", "c");
    let t = Timestamp::now();
    broker(0).initialize("AUTH_a", "c", t, 0).await.unwrap();
    broker(1).initialize("AUTH_a", "c", t, 0).await.unwrap();
    broker(0)
        .merge_objects(vec![obj("a", t), obj("b", t)])
        .await
        .unwrap();
    broker(1).put_object(obj("z", t)).await.unwrap();

    let replicator = |i: usize| {
        let cfg =
            DbReplicatorConfig::new(DbKind::Container, cfgs[i].clone(), vec![hosts[i].clone()]);
        DbReplicator::new(cfg, rings.clone(), client.clone())
    };
    let rep = replicator(0).run_once().await.unwrap();
    assert_eq!(rep.errors, 0, "{rep:?}");
    assert_eq!(
        (rep.count("files_copied"), rep.count("rows_sent")),
        (1, 2),
        "{rep:?}"
    );
    let rep = replicator(1).run_once().await.unwrap();
    assert_eq!(rep.errors, 0, "{rep:?}");
    for i in 0..3 {
        assert_eq!(names(&broker(i)).await, vec!["a", "b", "z"], "replica {i}");
    }
    token.cancel();
    for s in servers {
        s.wait(Duration::from_secs(5)).await.unwrap();
    }
}
