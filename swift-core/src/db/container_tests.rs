use super::*;

fn ts(n: u64) -> Timestamp {
    Timestamp::from_ticks(n * 100_000)
}

fn obj(name: &str, t: u64, size: u64) -> ObjectRecord {
    ObjectRecord {
        name: name.into(),
        created_at: ts(t),
        size,
        content_type: "text/plain".into(),
        etag: format!("etag-{t}"),
        deleted: false,
        storage_policy_index: 0,
    }
}

async fn broker(dir: &Path) -> ContainerBroker {
    let b = ContainerBroker::new(dir.join("c/c.db"), dir.join("tmp"), false);
    assert!(b.initialize("AUTH_a", "c", ts(1), 0).await.unwrap());
    b
}

fn names(entries: &[ListingEntry<ObjectEntry>]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match e {
            ListingEntry::Item(o) => o.name.clone(),
            ListingEntry::Subdir(d) => format!("D:{d}"),
        })
        .collect()
}

#[tokio::test]
async fn merge_rules_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    assert!(!b.initialize("AUTH_a", "c", ts(1), 0).await.unwrap());
    assert!(b.put_object(obj("o", 10, 100)).await.unwrap());
    // An older update is ignored, an equal one too.
    assert!(!b.put_object(obj("o", 9, 5)).await.unwrap());
    assert!(!b.put_object(obj("o", 10, 5)).await.unwrap());
    let i = b.info().await.unwrap();
    assert_eq!((i.object_count, i.bytes_used), (1, 100));
    // A newer write replaces.
    assert!(b.put_object(obj("o", 11, 7)).await.unwrap());
    b.put_object(obj("p", 11, 3)).await.unwrap();
    let i = b.info().await.unwrap();
    assert_eq!((i.object_count, i.bytes_used), (2, 10));
    assert_eq!(b.get_object("o").await.unwrap().unwrap().etag, "etag-11");
    // An older delete is ignored; a newer one marks deleted.
    assert!(!b.delete_object("o", ts(5), 0).await.unwrap());
    assert!(b.delete_object("o", ts(12), 0).await.unwrap());
    let i = b.info().await.unwrap();
    assert_eq!((i.object_count, i.bytes_used), (1, 3));
    assert!(b.get_object("o").await.unwrap().unwrap().deleted);
    // A PUT older than the delete does not resurrect it.
    assert!(!b.put_object(obj("o", 11, 1)).await.unwrap());
    let l = b.list_objects(ListingParams::default(), 0).await.unwrap();
    assert_eq!(names(&l), ["p"]);
    // Stats need a report until acknowledged.
    assert!(i.needs_report());
    b.reported(i.put_timestamp, i.delete_timestamp, 1, 3)
        .await
        .unwrap();
    assert!(!b.info().await.unwrap().needs_report());
}

#[tokio::test]
async fn deleted_status_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let mut md = Metadata::new();
    md.insert("x-container-meta-a".into(), ("1".into(), ts(2)));
    b.update_metadata(md).await.unwrap();
    b.put_object(obj("o", 3, 1)).await.unwrap();
    b.delete_db(ts(4)).await.unwrap();
    // Not deleted while it still holds objects.
    let i = b.info().await.unwrap();
    assert!(!i.is_deleted());
    assert_eq!(i.metadata["x-container-meta-a"].0, "");
    b.delete_object("o", ts(5), 0).await.unwrap();
    assert!(b.info().await.unwrap().is_deleted());
    b.update_put_timestamp(ts(6)).await.unwrap();
    b.update_put_timestamp(ts(2)).await.unwrap();
    let i = b.info().await.unwrap();
    assert!(!i.is_deleted());
    assert_eq!(i.put_timestamp, ts(6));
}

#[tokio::test]
async fn listing_params() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let rows = ["a", "a/1", "a/2", "b/x/y", "b/z", "c", "ü"]
        .iter()
        .map(|n| obj(n, 2, 1))
        .collect();
    b.merge_objects(rows).await.unwrap();
    b.delete_object("c", ts(3), 0).await.unwrap();
    let list = |p: ListingParams| {
        let b = b.clone();
        async move { names(&b.list_objects(p, 0).await.unwrap()) }
    };
    assert_eq!(
        list(ListingParams::default()).await,
        ["a", "a/1", "a/2", "b/x/y", "b/z", "ü"]
    );
    let p = ListingParams {
        delimiter: Some("/".into()),
        ..Default::default()
    };
    assert_eq!(list(p).await, ["a", "D:a/", "D:b/", "ü"]);
    let p = ListingParams {
        delimiter: Some("/".into()),
        prefix: Some("b/".into()),
        reverse: true,
        ..Default::default()
    };
    assert_eq!(list(p).await, ["b/z", "D:b/x/"]);
    let p = ListingParams {
        marker: "a/1".into(),
        end_marker: "b/z".into(),
        ..Default::default()
    };
    assert_eq!(list(p).await, ["a/2", "b/x/y"]);
    let p = ListingParams {
        prefix: Some("a/".into()),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(list(p).await, ["a/1"]);
    let p = ListingParams {
        path: Some("b".into()),
        ..Default::default()
    };
    assert_eq!(list(p).await, ["b/z"]);
    // Another policy's rows are not listed.
    let mut other = obj("zz", 2, 1);
    other.storage_policy_index = 1;
    b.put_object(other).await.unwrap();
    assert_eq!(list(ListingParams::default()).await.len(), 6);
}

#[tokio::test]
async fn many_rows_page_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let rows: Vec<ObjectRecord> = (0..20_000)
        .map(|i| obj(&format!("d{:02}/o{i:06}", i % 50), 2, 1))
        .collect();
    b.merge_objects(rows).await.unwrap();
    assert_eq!(b.info().await.unwrap().object_count, 20_000);
    let p = ListingParams {
        marker: "d25/o010025".into(),
        limit: 100,
        ..Default::default()
    };
    let page = b.list_objects(p, 0).await.unwrap();
    assert_eq!(page.len(), 100);
    assert_eq!(names(&page)[0], "d25/o010075");
    let p = ListingParams {
        delimiter: Some("/".into()),
        ..Default::default()
    };
    let dirs = b.list_objects(p, 0).await.unwrap();
    assert_eq!(dirs.len(), 50);
}

/// Listing speed at a million objects (run with
/// `cargo test --release -p swift-core million -- --ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn million_rows_listing_speed() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let t0 = std::time::Instant::now();
    for chunk in 0..100 {
        let rows: Vec<ObjectRecord> = (0..10_000)
            .map(|i| {
                let n = chunk * 10_000 + i;
                obj(&format!("d{:03}/o{n:07}", n % 1000), 2, 1)
            })
            .collect();
        b.merge_objects(rows).await.unwrap();
    }
    println!("insert 1M rows: {:?}", t0.elapsed());
    assert_eq!(b.info().await.unwrap().object_count, 1_000_000);
    let cases = [
        ("first page", ListingParams::default()),
        (
            "marker page",
            ListingParams {
                marker: "d500/o0500500".into(),
                ..Default::default()
            },
        ),
        (
            "prefix page",
            ListingParams {
                prefix: Some("d999/".into()),
                ..Default::default()
            },
        ),
        (
            "delimiter",
            ListingParams {
                delimiter: Some("/".into()),
                ..Default::default()
            },
        ),
        (
            "reverse end",
            ListingParams {
                reverse: true,
                limit: 100,
                ..Default::default()
            },
        ),
    ];
    for (what, p) in cases {
        let t = std::time::Instant::now();
        let n = b.list_objects(p, 0).await.unwrap().len();
        println!("{what}: {n} entries in {:?}", t.elapsed());
        assert!(n > 0);
    }
}
