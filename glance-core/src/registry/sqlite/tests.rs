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

#[tokio::test]
async fn version_1_database_is_migrated_and_lists_in_sql() {
    use crate::registry::{SortDir, SortKey};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let mut imgs = Vec::new();
    {
        // A database as the first schema wrote it: no listing columns.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(schema::MIGRATIONS[0]).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version (version) VALUES (1);",
        )
        .unwrap();
        for i in 0..4u64 {
            let mut img = Image::new(ImageId::new_v4(), None, 10 - i);
            img.size = (i != 2).then_some(i * 100);
            img.os_hidden = i == 3;
            if i % 2 == 0 {
                img.tags.insert("even".into());
            }
            c.execute(
                "INSERT INTO images (id, status, owner, name, body) VALUES (?1, ?2, NULL, NULL, ?3)",
                params![
                    img.id.to_string(),
                    img.status.as_str(),
                    serde_json::to_string(&img).unwrap()
                ],
            )
            .unwrap();
            imgs.push(img);
        }
    }
    let r = SqliteImageRegistry::open(&path).unwrap();
    let by_size = ListOptions {
        sort: vec![(SortKey::Size, SortDir::Asc)],
        ..ListOptions::default()
    };
    let got: Vec<ImageId> = r
        .list(&by_size)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    // Hidden image 3 left out; the unset size sorts first.
    assert_eq!(got, [imgs[2].id, imgs[0].id, imgs[1].id]);
    let even = ListOptions {
        tags: vec!["even".into()],
        ..ListOptions::default()
    };
    let got: Vec<ImageId> = r.list(&even).await.unwrap().iter().map(|i| i.id).collect();
    assert_eq!(got, [imgs[0].id, imgs[2].id], "newest first");
    let c = Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}
