use super::*;
use crate::db::{ContainerBroker, ObjectRecord};
use crate::timestamp::Timestamp;

fn obj(name: &str, ticks: u64, deleted: bool) -> ObjectRecord {
    ObjectRecord {
        name: name.into(),
        created_at: Timestamp::from_ticks(ticks),
        size: if deleted { 0 } else { 10 },
        content_type: "text/plain".into(),
        etag: "e".into(),
        deleted,
        storage_policy_index: 0,
    }
}

async fn broker(dir: &std::path::Path, name: &str) -> ContainerBroker {
    let b = ContainerBroker::new(dir.join(format!("{name}.db")), dir.join("tmp"), false);
    b.initialize("a", "c", Timestamp::from_ticks(1), 0)
        .await
        .unwrap();
    b
}

fn conn(b: &ContainerBroker) -> Connection {
    Connection::open(b.path()).unwrap()
}

#[tokio::test]
async fn sync_points_only_move_forward_and_new_id_forgets_them() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path(), "x").await;
    let c = conn(&b);
    assert_eq!(sync_point(&c, "r1", true).unwrap(), 0);
    set_sync_point(&c, "r1", true, 7).unwrap();
    set_sync_point(&c, "r1", true, 3).unwrap();
    set_sync_point(&c, "r1", false, 2).unwrap();
    assert_eq!(sync_point(&c, "r1", true).unwrap(), 7);
    assert_eq!(sync_point(&c, "r1", false).unwrap(), 2);
    let id1 = sync_info(&c, DbKind::Container).unwrap().id;
    assert_eq!(sync_info(&c, DbKind::Container).unwrap().id, id1);
    let id2 = new_id(&c).unwrap();
    assert_ne!(id1, id2);
    assert_eq!(sync_point(&c, "r1", true).unwrap(), 0);
}

#[tokio::test]
async fn rows_since_and_merge_converge_by_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let a = broker(dir.path(), "a").await;
    let b = broker(dir.path(), "b").await;
    a.merge_objects(vec![obj("o1", 10, false), obj("o2", 10, false)])
        .await
        .unwrap();
    // b has a newer delete of o2 and an object a lacks.
    b.merge_objects(vec![obj("o2", 20, true), obj("o3", 5, false)])
        .await
        .unwrap();
    let (ca, mut cb) = (conn(&a), conn(&b));
    assert_ne!(
        sync_info(&ca, DbKind::Container).unwrap().hash,
        sync_info(&cb, DbKind::Container).unwrap().hash
    );
    let (rows, last) = rows_since(&ca, DbKind::Container, 0, 1).unwrap();
    assert_eq!(rows.len(), 1);
    let (rest, last2) = rows_since(&ca, DbKind::Container, last, 100).unwrap();
    assert_eq!(rest.len(), 1);
    assert!(last2 > last);
    assert_eq!(
        rows_since(&ca, DbKind::Container, last2, 100)
            .unwrap()
            .0
            .len(),
        0
    );
    let tx = cb.transaction().unwrap();
    merge_rows(&tx, DbKind::Container, &rows).unwrap();
    merge_rows(&tx, DbKind::Container, &rest).unwrap();
    tx.commit().unwrap();
    // The older PUT of o2 lost to b's newer DELETE.
    assert!(b.get_object("o2").await.unwrap().unwrap().deleted);
    assert_eq!(b.info().await.unwrap().object_count, 2);
    // Send b's rows back: both replicas hold the same rows.
    let mut ca = ca;
    let (rows, _) = rows_since(&cb, DbKind::Container, 0, 100).unwrap();
    let tx = ca.transaction().unwrap();
    merge_rows(&tx, DbKind::Container, &rows).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        sync_info(&ca, DbKind::Container).unwrap().hash,
        sync_info(&cb, DbKind::Container).unwrap().hash
    );
    // Rows of the wrong kind are refused.
    let tx = cb.transaction().unwrap();
    assert!(merge_rows(&tx, DbKind::Account, &rows).is_err());
}

#[tokio::test]
async fn merge_info_moves_timestamps_forward_and_merges_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let a = broker(dir.path(), "a").await;
    let b = broker(dir.path(), "b").await;
    a.update_put_timestamp(Timestamp::from_ticks(50))
        .await
        .unwrap();
    let mut md = crate::db::Metadata::new();
    md.insert(
        "x-container-meta-k".into(),
        ("v".into(), Timestamp::from_ticks(50)),
    );
    a.update_metadata(md).await.unwrap();
    let remote = sync_info(&conn(&a), DbKind::Container).unwrap();
    let mut cb = conn(&b);
    merge_info(&mut cb, DbKind::Container, &remote).unwrap();
    let info = b.info().await.unwrap();
    assert_eq!(info.put_timestamp, Timestamp::from_ticks(50));
    assert_eq!(info.metadata["x-container-meta-k"].0, "v");
    // An older status never moves a timestamp back.
    let mut old = remote.clone();
    old.put_timestamp = Timestamp::from_ticks(2).internal();
    merge_info(&mut cb, DbKind::Container, &old).unwrap();
    assert_eq!(
        b.info().await.unwrap().put_timestamp,
        Timestamp::from_ticks(50)
    );
}
