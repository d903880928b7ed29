use super::*;

fn ts(n: u64) -> Timestamp {
    Timestamp::from_ticks(n * 100_000)
}

fn rec(name: &str, put: u64, del: u64, count: u64, bytes: u64) -> ContainerRecord {
    ContainerRecord {
        name: name.into(),
        put_timestamp: ts(put),
        delete_timestamp: ts(del),
        object_count: count,
        bytes_used: bytes,
        storage_policy_index: 0,
    }
}

#[tokio::test]
async fn container_rows_merge_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let b = AccountBroker::new(dir.path().join("a/a.db"), dir.path().join("tmp"), false);
    assert!(b.initialize("AUTH_a", ts(1)).await.unwrap());
    b.put_container(rec("c1", 2, 0, 3, 30)).await.unwrap();
    b.put_container(rec("c2", 2, 0, 1, 5)).await.unwrap();
    b.put_container(rec("c1", 2, 0, 4, 40)).await.unwrap();
    let i = b.info().await.unwrap();
    assert_eq!(
        (i.container_count, i.object_count, i.bytes_used),
        (2, 5, 45)
    );
    assert_eq!(i.policy_stats, vec![(0, 2, 5, 45)]);
    // A delete report for c2 marks it deleted.
    b.put_container(rec("c2", 2, 3, 0, 0)).await.unwrap();
    let i = b.info().await.unwrap();
    assert_eq!(
        (i.container_count, i.object_count, i.bytes_used),
        (1, 4, 40)
    );
    // A stale PUT report keeps the newer delete timestamp: still deleted.
    b.put_container(rec("c2", 1, 0, 0, 0)).await.unwrap();
    let names: Vec<_> = b
        .list_containers(ListingParams::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e {
            ListingEntry::Item(c) => c.name,
            ListingEntry::Subdir(d) => d,
        })
        .collect();
    assert_eq!(names, ["c1"]);
    // Recreated after the delete.
    b.put_container(rec("c2", 4, 3, 0, 0)).await.unwrap();
    assert_eq!(b.info().await.unwrap().container_count, 2);
}

#[tokio::test]
async fn status_delete_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let b = AccountBroker::new(dir.path().join("a/a.db"), dir.path().join("tmp"), false);
    b.initialize("AUTH_a", ts(1)).await.unwrap();
    let mut md = Metadata::new();
    md.insert("x-account-meta-k".into(), ("v".into(), ts(2)));
    b.update_metadata(md).await.unwrap();
    assert!(!b.info().await.unwrap().is_deleted());
    b.delete_db(ts(3)).await.unwrap();
    let i = b.info().await.unwrap();
    assert!(i.is_deleted() && i.is_status_deleted());
    assert_eq!(i.metadata["x-account-meta-k"].0, "");
}

#[tokio::test]
async fn listing_with_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let b = AccountBroker::new(dir.path().join("a/a.db"), dir.path().join("tmp"), false);
    b.initialize("AUTH_a", ts(1)).await.unwrap();
    let rows = ["a-1", "a-2", "b", "c-x-y"]
        .iter()
        .map(|n| rec(n, 2, 0, 0, 0))
        .collect();
    b.merge_containers(rows).await.unwrap();
    let p = ListingParams {
        delimiter: Some("-".into()),
        ..Default::default()
    };
    let out = b.list_containers(p).await.unwrap();
    assert_eq!(
        out.iter()
            .map(|e| match e {
                ListingEntry::Item(c) => c.name.clone(),
                ListingEntry::Subdir(d) => format!("D:{d}"),
            })
            .collect::<Vec<_>>(),
        ["D:a-", "b", "D:c-"]
    );
}
