//! Scenarios of the replication methods: suffix hashes, quarantine,
//! tombstone reclaim, partition removal. They use partitions 40 and 41 of
//! `d1` and leave them empty.

use super::{hash, new_obj, ts};
use crate::object::{MetadataUpdate, ObjectBackend, ObjectLocation, ObjectState, PutOptions};
use crate::stream;

fn at(part: u32, name: &str) -> ObjectLocation {
    ObjectLocation::new("d1", part, hash(name))
}

async fn put(b: &dyn ObjectBackend, l: &ObjectLocation, name: &str, secs: u64) {
    b.put(
        l,
        new_obj(name, secs),
        stream::once("body"),
        PutOptions::default(),
    )
    .await
    .expect("put");
}

/// Suffix hashes list exactly the non-empty suffixes, change with every
/// write into the suffix, and are equal for equal versions.
pub async fn suffix_hashes_follow_writes(b: &dyn ObjectBackend) {
    let empty = b.suffix_hashes("d1", 40, &[]).await.expect("hashes");
    assert!(empty.is_empty(), "empty partition has no suffix hashes");
    let (l40, l41) = (at(40, "rep-a"), at(41, "rep-a"));
    let suffix = l40.hash.suffix();
    put(b, &l40, "rep-a", 10).await;
    let h1 = b.suffix_hashes("d1", 40, &[]).await.expect("hashes");
    assert_eq!(h1.keys().collect::<Vec<_>>(), vec![&suffix]);
    // Same versions in another partition: same hash.
    put(b, &l41, "rep-a", 10).await;
    let other = b.suffix_hashes("d1", 41, &[]).await.expect("hashes");
    assert_eq!(other, h1, "equal versions hash equally");
    // Every kind of write changes the hash, cached or not.
    let update = MetadataUpdate {
        timestamp: ts(11),
        user_meta: vec![],
    };
    b.post(&l40, update.clone()).await.expect("post");
    let h2 = b.suffix_hashes("d1", 40, &[]).await.expect("hashes");
    assert_ne!(h2, h1, "a metadata update changes the hash");
    b.delete(&l40, ts(12)).await.expect("delete");
    let h3 = b.suffix_hashes("d1", 40, &[]).await.expect("hashes");
    assert_ne!(h3, h2, "a tombstone changes the hash");
    assert_eq!(h3.len(), 1, "a tombstone keeps the suffix");
    // Recalculating gives the same answer as the cache.
    let recalc = b
        .suffix_hashes("d1", 40, std::slice::from_ref(&suffix))
        .await
        .expect("hashes");
    assert_eq!(recalc, h3);
    // Catching the other partition up makes them equal again.
    b.post(&l41, update).await.expect("post");
    b.delete(&l41, ts(12)).await.expect("delete");
    assert_eq!(b.suffix_hashes("d1", 41, &[]).await.expect("hashes"), h3);
    b.remove_partition("d1", 40).await.expect("remove");
    b.remove_partition("d1", 41).await.expect("remove");
}

/// A quarantined object reads as missing and changes its suffix hash.
pub async fn quarantine_hides_object(b: &dyn ObjectBackend) {
    let (l, keep) = (at(40, "rep-q"), at(40, "rep-k"));
    put(b, &l, "rep-q", 10).await;
    put(b, &keep, "rep-k", 10).await;
    let before = b.suffix_hashes("d1", 40, &[]).await.expect("hashes");
    b.quarantine(&l).await.expect("quarantine");
    assert_eq!(b.open(&l).await.expect("open"), ObjectState::Missing);
    assert!(matches!(
        b.open(&keep).await.expect("open"),
        ObjectState::Present(_)
    ));
    let after = b.suffix_hashes("d1", 40, &[]).await.expect("hashes");
    assert_ne!(before, after, "quarantine changes the suffix hash");
    b.quarantine(&l)
        .await
        .expect("quarantine of missing succeeds");
    b.remove_partition("d1", 40).await.expect("remove");
}

/// Only tombstones older than the cut-off are reclaimed; data stays.
pub async fn reclaim_removes_old_tombstones_only(b: &dyn ObjectBackend) {
    let (old, young, data) = (at(40, "rep-o"), at(40, "rep-y"), at(40, "rep-d"));
    b.delete(&old, ts(5)).await.expect("delete");
    b.delete(&young, ts(50)).await.expect("delete");
    put(b, &data, "rep-d", 1).await;
    let n = b
        .reclaim_tombstones("d1", 40, ts(20))
        .await
        .expect("reclaim");
    assert_eq!(n, 1);
    assert_eq!(b.open(&old).await.expect("open"), ObjectState::Missing);
    assert_eq!(
        b.open(&young).await.expect("open"),
        ObjectState::Deleted { timestamp: ts(50) }
    );
    assert!(matches!(
        b.open(&data).await.expect("open"),
        ObjectState::Present(_)
    ));
    b.remove_partition("d1", 40).await.expect("remove");
    assert!(!b.list_partitions("d1").await.expect("list").contains(&40));
    assert!(b
        .suffix_hashes("d1", 40, &[])
        .await
        .expect("hashes")
        .is_empty());
    b.remove_partition("d1", 40)
        .await
        .expect("removing twice succeeds");
}
