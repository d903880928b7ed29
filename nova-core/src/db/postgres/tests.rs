use std::sync::Arc;

use sql_support::testkit::TestDatabase;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_conforms() {
    let Some(db) = TestDatabase::create("nova postgres_conforms").await else {
        return;
    };
    let b = PostgresNovaDb::connect(db.url()).await.unwrap();
    crate::db::conformance::run_all(&b).await;
    // Reopening (through `open`) applies no migration twice and keeps the data.
    let again = crate::db::open(db.url().expose()).await.unwrap();
    assert_eq!(again.name(), "postgres");
    assert!(!again.list_networks().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_do_not_overshoot_or_share_addresses() {
    // Two pools stand in for two nova nodes sharing the database.
    let Some(db) = TestDatabase::create("nova two_pools_do_not_overshoot").await else {
        return;
    };
    let a = Arc::new(PostgresNovaDb::connect(db.url()).await.unwrap());
    let b = Arc::new(PostgresNovaDb::connect(db.url()).await.unwrap());
    crate::db::conformance::concurrent_fixed_ip_allocations(&*a).await;
    let p = ProjectId::new("shared").unwrap();
    let mut limits = QuotaLimits::default();
    limits.set(QuotaResource::Instances, Some(10));
    a.set_quota_limits(&p, &limits).await.unwrap();
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let db = if n % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            let p = p.clone();
            tokio::spawn(
                async move { db.reserve_quota(&p, &[(QuotaResource::Instances, 1)]).await },
            )
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap().is_ok());
    }
    assert_eq!(ok, 10);
    assert_eq!(
        b.quota_usage(&p).await.unwrap()[&QuotaResource::Instances].reserved,
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    let Some(db) = TestDatabase::create("nova concurrent_opens_migrate_once").await else {
        return;
    };
    let url = Arc::new(db.url().clone());
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = Arc::clone(&url);
            tokio::spawn(async move { PostgresNovaDb::connect(&url).await })
        })
        .collect();
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let b = PostgresNovaDb::connect(&url).await.unwrap();
    let versions: Vec<i64> = b
        .client()
        .await
        .unwrap()
        .query(
            "SELECT version FROM schema_version WHERE component = 'nova' ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: Vec<i64> = (1..=schema::MIGRATIONS.len() as i64).collect();
    assert_eq!(versions, want);
}

#[tokio::test]
async fn newer_schema_is_invalid_config() {
    let Some(db) = TestDatabase::create("nova newer_schema_is_invalid_config").await else {
        return;
    };
    let b = PostgresNovaDb::connect(db.url()).await.unwrap();
    b.client()
        .await
        .unwrap()
        .execute(
            "INSERT INTO schema_version (component, version) VALUES ('nova', 99)",
            &[],
        )
        .await
        .unwrap();
    let err = PostgresNovaDb::connect(db.url()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_server_is_unavailable_and_hides_the_password() {
    // Port 1 on loopback: nothing listens there.
    let err = crate::db::open("postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(!format!("{err:?} {err}").contains("hunter2"));
}
