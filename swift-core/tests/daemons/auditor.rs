//! DB auditors quarantine corrupt databases; replication restores them.

use std::io::{Seek, SeekFrom, Write};

use swift_core::daemon::{
    recon_json, Daemon, DaemonRunner, DbAuditor, DbReplicator, DbReplicatorConfig, ReconStore,
};
use swift_core::db::DbKind;

use super::*;

#[tokio::test]
async fn corrupt_database_is_quarantined_and_restored_by_replication() {
    let c = cluster(3);
    let t1 = ts(1);
    for i in 0..3 {
        let b = c.container(i, "a", "c");
        b.initialize("a", "c", t1, 0).await.unwrap();
        b.put_object(obj("o", 5)).await.unwrap();
    }
    let good = c.container(0, "a", "ok");
    good.initialize("a", "ok", t1, 0).await.unwrap();
    let bad = c.container(0, "a", "c");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(bad.path())
            .unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(&[0x5a; 200]).unwrap();
    }
    let recon = Arc::new(ReconStore::new());
    let mut runner = DaemonRunner::new(recon.clone());
    runner.add(
        Arc::new(DbAuditor::new(DbKind::Container, c.devices(0))),
        std::time::Duration::from_secs(60),
    );
    let out = runner.run_once(Some("container-auditor")).await.unwrap();
    let rep = out[0].1.as_ref().unwrap();
    assert_eq!(rep.count("dbs_checked"), 2, "{rep:?}");
    assert_eq!(rep.count("quarantined"), 1, "{rep:?}");
    assert_eq!(rep.count("passed"), 1, "{rep:?}");
    assert!(!bad.exists().await);
    let hash = bad.path().parent().unwrap().file_name().unwrap().to_owned();
    assert!(c
        .devices(0)
        .join("d1/quarantined/containers")
        .join(hash)
        .is_dir());

    let doc = recon_json(&recon, &c.devices(0)).await;
    assert_eq!(doc["quarantined"]["containers"], 1, "{doc}");
    let last = &doc["daemons"]["container-auditor"]["last"];
    assert_eq!(last["counts"]["quarantined"], 1, "{doc}");
    assert_eq!(doc["daemons"]["container-auditor"]["passes"], 1);

    // Another replica's replicator copies a good database back.
    let cfg = DbReplicatorConfig::new(
        DbKind::Container,
        c.nodes[1].cfg.clone(),
        vec![c.nodes[1].host.clone()],
    );
    let rep = DbReplicator::new(cfg, c.rings.clone(), c.client())
        .run_once()
        .await
        .unwrap();
    assert_eq!(rep.count("files_copied"), 1, "{rep:?}");
    assert_eq!(names(&bad).await, vec!["o"]);
    let rep = DbAuditor::new(DbKind::Container, c.devices(0))
        .run_once()
        .await
        .unwrap();
    assert_eq!(rep.count("quarantined"), 0);
}
