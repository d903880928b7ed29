//! The conformance suite every [`ObjectBackend`] must pass.
//!
//! The backend under test must have devices `d1` and `d2` (with `d2` empty
//! at the start) and no device `absent`. Each scenario asserts a sentence of
//! the trait's contract.

use bytes::Bytes;
use md5::{Digest, Md5};

use super::{NewObject, ObjectBackend, ObjectLocation, PutOptions, ReadOptions};
use crate::hash::{HashConfig, PathHash};
use crate::stream;
use crate::timestamp::Timestamp;

mod read;
mod replication;
mod write;

pub use read::*;
pub use replication::*;
pub use write::*;

/// Runs every scenario against `b`.
pub async fn run_all(b: &dyn ObjectBackend) {
    put_then_read_returns_same_bytes(b).await;
    etag_is_md5_hex_of_body(b).await;
    open_missing_is_missing(b).await;
    put_not_newer_conflicts(b).await;
    etag_mismatch_is_corrupt_and_changes_nothing(b).await;
    length_mismatch_is_invalid_and_changes_nothing(b).await;
    failed_body_leaves_previous_state(b).await;
    delete_writes_tombstone(b).await;
    post_replaces_user_meta_only(b).await;
    post_rules(b).await;
    metadata_update_survives_older_put(b).await;
    ranged_read_returns_slice(b).await;
    read_pins_one_version(b).await;
    large_body_round_trips(b).await;
    listing_is_sorted(b).await;
    suffix_hashes_follow_writes(b).await;
    quarantine_hides_object(b).await;
    reclaim_removes_old_tombstones_only(b).await;
    if b.capabilities().checks_devices {
        missing_device_is_insufficient_storage(b).await;
    }
}

fn hash(name: &str) -> PathHash {
    HashConfig::new("conf", "ormance").hash_path("AUTH_c", Some("c"), Some(name))
}

fn loc(name: &str) -> ObjectLocation {
    ObjectLocation::new("d1", 7, hash(name))
}

fn ts(secs: u64) -> Timestamp {
    Timestamp::from_ticks(170_000_000_000_000 + secs * 100_000)
}

fn new_obj(name: &str, secs: u64) -> NewObject {
    let mut o = NewObject::new(format!("/AUTH_c/c/{name}"), ts(secs), "text/plain");
    o.user_meta = vec![("x-object-meta-color".into(), "red".into())];
    o.system_meta = vec![("x-object-sysmeta-k".into(), "v".into())];
    o
}

fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

async fn put(
    b: &dyn ObjectBackend,
    l: &ObjectLocation,
    name: &str,
    secs: u64,
    data: &'static [u8],
) {
    b.put(
        l,
        new_obj(name, secs),
        stream::once(data),
        PutOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("put {name}: {e}"));
}

async fn read_all(b: &dyn ObjectBackend, l: &ObjectLocation, opts: ReadOptions) -> Bytes {
    let r = b.read(l, opts).await.expect("read");
    stream::collect(r.body, 64 << 20).await.expect("read body")
}

async fn current_ts(b: &dyn ObjectBackend, l: &ObjectLocation) -> Option<Timestamp> {
    b.open(l).await.expect("open").timestamp()
}
