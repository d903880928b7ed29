use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_conforms() {
    crate::db::conformance::run_all(&SqliteNovaDb::open_in_memory().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_conforms_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let db = SqliteNovaDb::open(&path).await.unwrap();
    crate::db::conformance::run_all(&db).await;
    drop(db);
    // Reopening applies no migration twice and keeps the data.
    let again = crate::db::open(path.to_str().unwrap()).await.unwrap();
    assert!(!again.list_networks().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_do_not_overshoot() {
    // Two connections stand in for two processes sharing the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let a = SqliteNovaDb::open(&path).await.unwrap();
    let b = SqliteNovaDb::open(&path).await.unwrap();
    let p = crate::model::ProjectId::new("shared").unwrap();
    let mut limits = QuotaLimits::default();
    limits.set(QuotaResource::Instances, Some(10));
    a.set_quota_limits(&p, &limits).await.unwrap();
    let d = [(QuotaResource::Instances, 1)];
    let all = futures::future::join_all((0..24).map(|n| {
        if n % 2 == 0 {
            a.reserve_quota(&p, &d)
        } else {
            b.reserve_quota(&p, &d)
        }
    }))
    .await;
    assert_eq!(all.iter().filter(|r| r.is_ok()).count(), 10);
    // The losers are told the quota is full, not that the database was busy.
    for e in all.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(e, Error::QuotaExceeded { .. }), "{e:?}");
    }
    assert_eq!(
        b.quota_usage(&p).await.unwrap()[&QuotaResource::Instances].reserved,
        10
    );
}

#[tokio::test]
async fn newer_schema_is_invalid_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    drop(SqliteNovaDb::open(&path).await.unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    drop(conn);
    let err = SqliteNovaDb::open(&path).await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_of_a_fresh_file_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.db");
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move { SqliteNovaDb::open(&path).await })
        })
        .collect();
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_version ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|v| v.unwrap())
        .collect();
    let want: Vec<i64> = (1..=schema::MIGRATIONS.len() as i64).collect();
    assert_eq!(versions, want);
}
