use std::sync::Arc;

use sql_support::testkit::TestDatabase;

use super::*;

#[tokio::test]
async fn postgres_registry_conforms() {
    let Some(db) = TestDatabase::create("glance postgres_registry_conforms").await else {
        return;
    };
    let r = PostgresImageRegistry::connect(db.url()).await.unwrap();
    crate::registry::conformance::run_all(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once_and_keep_data() {
    let Some(db) = TestDatabase::create("glance concurrent_opens_migrate_once").await else {
        return;
    };
    let url = Arc::new(db.url().clone());
    let opens = (0..4).map(|_| {
        let url = Arc::clone(&url);
        tokio::spawn(async move { PostgresImageRegistry::connect(&url).await })
    });
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let img = Image::new(ImageId::new_v4(), None, 1);
    PostgresImageRegistry::connect(&url)
        .await
        .unwrap()
        .create(&img)
        .await
        .unwrap();
    let r = PostgresImageRegistry::connect(&url).await.unwrap();
    assert_eq!(r.get(&img.id).await.unwrap(), img);
    let c = r.client().await.unwrap();
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM schema_version WHERE component = 'glance'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, schema::MIGRATIONS.len() as i64);
    c.execute(
        "INSERT INTO schema_version (component, version) VALUES ('glance', 99)",
        &[],
    )
    .await
    .unwrap();
    let err = PostgresImageRegistry::connect(&url).await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
}
