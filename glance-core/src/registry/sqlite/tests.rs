use super::*;

#[tokio::test]
async fn sqlite_registry_conforms() {
    super::super::conformance::run_all(&SqliteImageRegistry::open_in_memory().unwrap()).await;
}

#[tokio::test]
async fn file_database_persists_and_checks_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    let img = Image::new(ImageId::new_v4(), None, 1);
    {
        let r = SqliteImageRegistry::open(&path).unwrap();
        r.create(&img).await.unwrap();
    }
    let r = SqliteImageRegistry::open(&path).unwrap();
    assert_eq!(r.get(&img.id).await.unwrap(), img);
    drop(r);
    let c = Connection::open(&path).unwrap();
    c.execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    drop(c);
    assert!(matches!(
        SqliteImageRegistry::open(&path),
        Err(Error::InvalidConfig { .. })
    ));
}
