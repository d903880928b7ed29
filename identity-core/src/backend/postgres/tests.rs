use std::sync::Arc;

use sql_support::testkit::TestDatabase;

use super::*;

#[tokio::test]
async fn postgres_backend_conforms() {
    let Some(db) = TestDatabase::create("identity postgres_backend_conforms").await else {
        return;
    };
    let b = PostgresIdentityBackend::connect(db.url()).await.unwrap();
    crate::conformance::run_all(&b).await;
    // Reopening applies no migration twice and keeps the data.
    let again = PostgresIdentityBackend::connect(db.url()).await.unwrap();
    assert!(!again.list_domains().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    let Some(db) = TestDatabase::create("identity concurrent_opens_migrate_once").await else {
        return;
    };
    let url = Arc::new(db.url().clone());
    let opens = (0..4).map(|_| {
        let url = Arc::clone(&url);
        tokio::spawn(async move { PostgresIdentityBackend::connect(&url).await })
    });
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let b = PostgresIdentityBackend::connect(&url).await.unwrap();
    let c = b.client().await.unwrap();
    let versions: Vec<i64> = c
        .query(
            "SELECT version FROM schema_version WHERE component = 'identity' ORDER BY version",
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
    let Some(db) = TestDatabase::create("identity newer_schema_is_invalid_config").await else {
        return;
    };
    let b = PostgresIdentityBackend::connect(db.url()).await.unwrap();
    b.client()
        .await
        .unwrap()
        .execute(
            "INSERT INTO schema_version (component, version) VALUES ('identity', 99)",
            &[],
        )
        .await
        .unwrap();
    let err = PostgresIdentityBackend::connect(db.url())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_server_is_unavailable_and_hides_the_password() {
    // Port 1 on loopback: nothing listens there.
    let url = PgUrl::new("postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2");
    let err = PostgresIdentityBackend::connect(&url).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(!format!("{err:?} {err}").contains("hunter2"));
}
