//! Container and account replication across nodes.

use std::time::Duration;

use swift_core::daemon::{Daemon, DbReplicator, DbReplicatorConfig};
use swift_core::db::{ContainerRecord, DbKind};
use swift_core::ring::RingKind;
use swift_core::timestamp::Timestamp;

use super::*;

fn replicator(c: &Cluster, i: usize, kind: DbKind) -> DbReplicator {
    let cfg = DbReplicatorConfig::new(kind, c.nodes[i].cfg.clone(), vec![c.nodes[i].host.clone()]);
    DbReplicator::new(cfg, c.rings.clone(), c.client())
}

#[tokio::test]
async fn missing_replica_is_copied_whole_and_diverged_ones_get_only_new_rows() {
    let c = cluster(3);
    let t1 = ts(1);
    let (b0, b1, b2) = (
        c.container(0, "a", "c"),
        c.container(1, "a", "c"),
        c.container(2, "a", "c"),
    );
    b0.initialize("a", "c", t1, 0).await.unwrap();
    b1.initialize("a", "c", t1, 0).await.unwrap();
    b0.merge_objects((0..10).map(|i| obj(&format!("o{i:02}"), 10)).collect())
        .await
        .unwrap();
    b1.merge_objects((0..5).map(|i| obj(&format!("o{i:02}"), 10)).collect())
        .await
        .unwrap();
    let r0 = replicator(&c, 0, DbKind::Container);
    assert_eq!(r0.name(), "container-replicator");

    let rep = r0.run_once().await.unwrap();
    assert_eq!(rep.count("dbs_checked"), 1);
    assert_eq!(rep.count("files_copied"), 1, "{rep:?}");
    assert_eq!(rep.count("rows_sent"), 10, "{rep:?}");
    assert_eq!(rep.errors, 0);
    let all: Vec<String> = (0..10).map(|i| format!("o{i:02}")).collect();
    for b in [&b0, &b1, &b2] {
        assert_eq!(names(b).await, all);
    }
    // In sync now: nothing is sent.
    let rep = r0.run_once().await.unwrap();
    assert_eq!(
        (rep.count("no_change"), rep.count("rows_sent")),
        (2, 0),
        "{rep:?}"
    );

    // Diverge: new rows on node 0, a newer delete and a new row on node 1.
    b0.merge_objects((10..13).map(|i| obj(&format!("o{i:02}"), 20)).collect())
        .await
        .unwrap();
    b1.delete_object("o03", ts(30), 0).await.unwrap();
    b1.put_object(obj("o13", 30)).await.unwrap();
    let rep = r0.run_once().await.unwrap();
    // Only the three new rows go to each of the two other replicas.
    assert_eq!(rep.count("rows_sent"), 6, "{rep:?}");
    assert_eq!(rep.count("files_copied"), 0);
    let rep = replicator(&c, 1, DbKind::Container)
        .run_once()
        .await
        .unwrap();
    assert_eq!(rep.errors, 0, "{rep:?}");

    assert!(rep.count("rows_sent") > 0);

    let mut want: Vec<String> = (0..14)
        .filter(|i| *i != 3)
        .map(|i| format!("o{i:02}"))
        .collect();
    want.sort();
    for (i, b) in [&b0, &b1, &b2].into_iter().enumerate() {
        assert_eq!(names(b).await, want, "replica {i} {rep:?}");
        assert_eq!(b.info().await.unwrap().object_count, 13);
    }
    // Every replica pair is in sync.
    for i in 0..3 {
        let rep = replicator(&c, i, DbKind::Container)
            .run_once()
            .await
            .unwrap();
        assert_eq!(
            rep.count("rows_sent") + rep.count("files_copied"),
            0,
            "{rep:?}"
        );
    }
}

#[tokio::test]
async fn account_databases_replicate() {
    let c = cluster(3);
    let t1 = ts(1);
    let (a0, a1, a2) = (c.account(0, "a"), c.account(1, "a"), c.account(2, "a"));
    a0.initialize("a", t1).await.unwrap();
    a1.initialize("a", t1).await.unwrap();
    for name in ["c1", "c2"] {
        a0.put_container(ContainerRecord {
            name: name.into(),
            put_timestamp: ts(5),
            delete_timestamp: Timestamp::ZERO,
            object_count: 2,
            bytes_used: 10,
            storage_policy_index: 0,
        })
        .await
        .unwrap();
    }
    let r = replicator(&c, 0, DbKind::Account);
    assert_eq!(r.name(), "account-replicator");
    let rep = r.run_once().await.unwrap();
    assert_eq!(
        (rep.count("files_copied"), rep.count("rows_sent")),
        (1, 2),
        "{rep:?}"
    );
    for a in [&a0, &a1, &a2] {
        let info = a.info().await.unwrap();
        assert_eq!((info.container_count, info.object_count), (2, 4));
    }
}

#[tokio::test]
async fn handoff_database_is_pushed_to_every_primary_then_removed() {
    let c = cluster(4);
    let name = (0..100)
        .map(|i| format!("c{i}"))
        .find(|n| !c.container_primaries("a", n).contains(&3))
        .unwrap();
    let prim = c.container_primaries("a", &name);
    let t1 = ts(1);
    let hand = c.container(3, "a", &name);
    hand.initialize("a", &name, t1, 0).await.unwrap();
    hand.merge_objects(vec![obj("x", 5), obj("y", 5), obj("z", 5)])
        .await
        .unwrap();
    // One primary has an empty replica, two have none.
    c.container(prim[0], "a", &name)
        .initialize("a", &name, t1, 0)
        .await
        .unwrap();
    let rep = replicator(&c, 3, DbKind::Container)
        .run_once()
        .await
        .unwrap();
    assert_eq!(rep.count("files_copied"), 2, "{rep:?}");
    assert_eq!(rep.count("rows_sent"), 3, "{rep:?}");
    assert_eq!(rep.count("handoffs_removed"), 1, "{rep:?}");
    assert!(!hand.exists().await);
    for i in prim {
        assert_eq!(
            names(&c.container(i, "a", &name)).await,
            vec!["x", "y", "z"]
        );
    }
}

#[tokio::test]
async fn handoff_stays_while_a_primary_is_down() {
    let c = cluster(4);
    let name = (0..100)
        .map(|i| format!("c{i}"))
        .find(|n| !c.container_primaries("a", n).contains(&3))
        .unwrap();
    let prim = c.container_primaries("a", &name);
    let hand = c.container(3, "a", &name);
    hand.initialize("a", &name, ts(1), 0).await.unwrap();
    c.client.set_up(&c.nodes[prim[1]].host, false);
    let rep = replicator(&c, 3, DbKind::Container)
        .run_once()
        .await
        .unwrap();
    assert_eq!(rep.errors, 1, "{rep:?}");
    assert_eq!(rep.count("handoffs_removed"), 0);
    assert!(hand.exists().await);
}

#[tokio::test]
async fn deleted_database_is_reclaimed_after_reclaim_age() {
    let c = cluster(3);
    let b0 = c.container(0, "a", "gone");
    b0.initialize("a", "gone", ts(1), 0).await.unwrap();
    b0.delete_db(ts(2)).await.unwrap();
    let mut cfg = DbReplicatorConfig::new(
        DbKind::Container,
        c.nodes[0].cfg.clone(),
        vec![c.nodes[0].host.clone()],
    );
    // Deleted an hour ago: older than a one-minute reclaim age.
    cfg.reclaim_age = Duration::from_secs(60);
    let r = DbReplicator::new(cfg.clone(), c.rings.clone(), c.client());
    assert_eq!(r.run_once().await.unwrap().count("reclaimed"), 1);
    assert!(!b0.exists().await);
    // A deletion within the reclaim age is kept.
    let b1 = c.container(0, "a", "fresh");
    b1.initialize("a", "fresh", ts(1), 0).await.unwrap();
    b1.delete_db(Timestamp::now()).await.unwrap();
    cfg.reclaim_age = Duration::from_secs(3600);
    let r = DbReplicator::new(cfg, c.rings.clone(), c.client());
    assert_eq!(r.run_once().await.unwrap().count("reclaimed"), 0);
    assert!(b1.exists().await);
}

#[tokio::test]
async fn after_a_rebalance_databases_move_to_their_new_primaries() {
    let c = cluster(4);
    let hosts: Vec<String> = c.nodes.iter().map(|n| n.host.clone()).collect();
    // Start on a ring of the first three nodes.
    c.rings.replace(RingKind::Container, ring(&hosts[..3], 3));
    let names: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    for name in &names {
        for i in c.container_primaries("a", name) {
            let b = c.container(i, "a", name);
            b.initialize("a", name, ts(1), 0).await.unwrap();
            b.put_object(obj("o", 2)).await.unwrap();
        }
    }
    // The fourth node joins.
    c.rings.replace(RingKind::Container, ring(&hosts, 3));
    let mut moved = 0;
    for i in 0..4 {
        let rep = replicator(&c, i, DbKind::Container)
            .run_once()
            .await
            .unwrap();
        assert_eq!(rep.errors, 0, "{rep:?}");
        moved += rep.count("handoffs_removed");
    }
    assert!(moved > 0, "the new ring moved nothing");
    for name in &names {
        let prim = c.container_primaries("a", name);
        for i in 0..4 {
            let b = c.container(i, "a", name);
            assert_eq!(b.exists().await, prim.contains(&i), "{name} on node {i}");
            if prim.contains(&i) {
                assert_eq!(super::names(&b).await, vec!["o"]);
            }
        }
    }
}
