//! Scenarios of put, delete and post.

use bytes::Bytes;
use futures::stream::{self as fstream, StreamExt};

use super::*;
use crate::error::Error;
use crate::object::{MetadataUpdate, ObjectState, PutOptions, ReadOptions};
use crate::stream::{self, ByteStream};

/// put: "returns the metadata now current"; read streams the body back.
pub async fn put_then_read_returns_same_bytes(b: &dyn ObjectBackend) {
    let l = loc("roundtrip");
    let m = b
        .put(
            &l,
            new_obj("roundtrip", 1),
            stream::once("hello world"),
            PutOptions::default(),
        )
        .await
        .expect("put");
    assert_eq!(m.content_length, 11);
    assert_eq!(m.name, "/AUTH_c/c/roundtrip");
    assert_eq!(m.content_type, "text/plain");
    assert_eq!(
        m.user_meta,
        vec![("x-object-meta-color".to_string(), "red".to_string())]
    );
    assert_eq!(
        m.system_meta,
        vec![("x-object-sysmeta-k".to_string(), "v".to_string())]
    );
    assert_eq!(
        &read_all(b, &l, ReadOptions::default()).await[..],
        b"hello world"
    );
    match b.open(&l).await.expect("open") {
        ObjectState::Present(o) => assert_eq!(o, m),
        other => panic!("expected present, got {other:?}"),
    }
}

/// put: "The ETag is the MD5 hex digest of the body".
pub async fn etag_is_md5_hex_of_body(b: &dyn ObjectBackend) {
    let l = loc("etag");
    let chunks: ByteStream =
        fstream::iter(vec![Ok(Bytes::from("ab")), Ok(Bytes::from("cd"))]).boxed();
    let m = b
        .put(&l, new_obj("etag", 1), chunks, PutOptions::default())
        .await
        .expect("put");
    assert_eq!(m.etag, md5_hex(b"abcd"));
    let empty = loc("etag-empty");
    let m = b
        .put(
            &empty,
            new_obj("etag-empty", 1),
            stream::empty(),
            PutOptions::default(),
        )
        .await
        .expect("put empty");
    assert_eq!(m.etag, md5_hex(b""));
    assert_eq!(m.content_length, 0);
    assert!(read_all(b, &empty, ReadOptions::default()).await.is_empty());
}

/// open: "A location with no versions is Missing (not an error)".
pub async fn open_missing_is_missing(b: &dyn ObjectBackend) {
    assert_eq!(
        b.open(&loc("never")).await.expect("open"),
        ObjectState::Missing
    );
    assert!(matches!(
        b.read(&loc("never"), ReadOptions::default()).await,
        Err(Error::NotFound { .. })
    ));
}

/// put/delete: "Fails with Error::Conflict when a data version or tombstone
/// with an equal or newer timestamp exists."
pub async fn put_not_newer_conflicts(b: &dyn ObjectBackend) {
    let l = loc("conflict");
    put(b, &l, "conflict", 10, b"v10").await;
    for secs in [10, 9] {
        let r = b
            .put(
                &l,
                new_obj("conflict", secs),
                stream::once("x"),
                PutOptions::default(),
            )
            .await;
        assert!(
            matches!(r, Err(Error::Conflict { .. })),
            "put at {secs}: {r:?}"
        );
        let r = b.delete(&l, ts(secs)).await;
        assert!(
            matches!(r, Err(Error::Conflict { .. })),
            "delete at {secs}: {r:?}"
        );
    }
    assert_eq!(&read_all(b, &l, ReadOptions::default()).await[..], b"v10");
    b.delete(&l, ts(20)).await.expect("delete");
    let r = b
        .put(
            &l,
            new_obj("conflict", 20),
            stream::once("x"),
            PutOptions::default(),
        )
        .await;
    assert!(
        matches!(r, Err(Error::Conflict { .. })),
        "put at tombstone time: {r:?}"
    );
    put(b, &l, "conflict", 21, b"v21").await;
    assert_eq!(&read_all(b, &l, ReadOptions::default()).await[..], b"v21");
}

/// put: "Fails with Error::Corrupt when opts.expected_etag differs" and "the
/// previous state is unchanged".
pub async fn etag_mismatch_is_corrupt_and_changes_nothing(b: &dyn ObjectBackend) {
    let l = loc("badetag");
    let opts = PutOptions {
        expected_etag: Some(md5_hex(b"other")),
        expected_length: None,
    };
    let r = b
        .put(&l, new_obj("badetag", 1), stream::once("data"), opts)
        .await;
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");
    assert_eq!(b.open(&l).await.expect("open"), ObjectState::Missing);
    let good = PutOptions {
        expected_etag: Some(md5_hex(b"data").to_uppercase()),
        expected_length: Some(4),
    };
    b.put(&l, new_obj("badetag", 2), stream::once("data"), good)
        .await
        .expect("put");
}

/// put: "with Error::InvalidInput when opts.expected_length differs".
pub async fn length_mismatch_is_invalid_and_changes_nothing(b: &dyn ObjectBackend) {
    let l = loc("badlen");
    put(b, &l, "badlen", 1, b"old").await;
    for want in [3, 5] {
        let opts = PutOptions {
            expected_etag: None,
            expected_length: Some(want),
        };
        let r = b
            .put(&l, new_obj("badlen", 2), stream::once("four"), opts)
            .await;
        assert!(matches!(r, Err(Error::InvalidInput { .. })), "{r:?}");
    }
    assert_eq!(current_ts(b, &l).await, Some(ts(1)));
    assert_eq!(&read_all(b, &l, ReadOptions::default()).await[..], b"old");
}

/// put: "on any error (including an error from body) the previous state is
/// unchanged".
pub async fn failed_body_leaves_previous_state(b: &dyn ObjectBackend) {
    let l = loc("broken");
    let broken = || -> ByteStream {
        fstream::iter(vec![
            Ok(Bytes::from(vec![1u8; 100_000])),
            Err(Error::Unavailable {
                reason: "client went away".into(),
            }),
        ])
        .boxed()
    };
    let r = b
        .put(&l, new_obj("broken", 1), broken(), PutOptions::default())
        .await;
    assert!(matches!(r, Err(Error::Unavailable { .. })), "{r:?}");
    assert_eq!(b.open(&l).await.expect("open"), ObjectState::Missing);
    put(b, &l, "broken", 2, b"fine").await;
    let r = b
        .put(&l, new_obj("broken", 3), broken(), PutOptions::default())
        .await;
    assert!(r.is_err());
    assert_eq!(current_ts(b, &l).await, Some(ts(2)));
    assert_eq!(&read_all(b, &l, ReadOptions::default()).await[..], b"fine");
}

/// delete: "Succeeds whether or not data existed", the object reads as deleted.
pub async fn delete_writes_tombstone(b: &dyn ObjectBackend) {
    let l = loc("deleted");
    b.delete(&l, ts(1)).await.expect("delete missing");
    assert_eq!(
        b.open(&l).await.expect("open"),
        ObjectState::Deleted { timestamp: ts(1) }
    );
    put(b, &l, "deleted", 2, b"x").await;
    b.post(
        &l,
        MetadataUpdate {
            timestamp: ts(3),
            user_meta: vec![],
        },
    )
    .await
    .expect("post");
    b.delete(&l, ts(4)).await.expect("delete");
    assert_eq!(
        b.open(&l).await.expect("open"),
        ObjectState::Deleted { timestamp: ts(4) }
    );
    assert!(matches!(
        b.read(&l, ReadOptions::default()).await,
        Err(Error::NotFound { .. })
    ));
}

/// post: "the user metadata is replaced, while content type, ETag, length
/// and system metadata of the data version are kept".
pub async fn post_replaces_user_meta_only(b: &dyn ObjectBackend) {
    let l = loc("post");
    put(b, &l, "post", 1, b"body").await;
    let update = MetadataUpdate {
        timestamp: ts(2),
        user_meta: vec![("x-object-meta-shape".into(), "round".into())],
    };
    b.post(&l, update).await.expect("post");
    let ObjectState::Present(m) = b.open(&l).await.expect("open") else {
        panic!("expected present");
    };
    assert_eq!(m.timestamp, ts(1));
    assert_eq!(m.meta_timestamp, Some(ts(2)));
    assert_eq!(m.effective_timestamp(), ts(2));
    assert_eq!(
        m.user_meta,
        vec![("x-object-meta-shape".to_string(), "round".to_string())]
    );
    assert_eq!(
        m.system_meta,
        vec![("x-object-sysmeta-k".to_string(), "v".to_string())]
    );
    assert_eq!(
        (m.content_type.as_str(), m.content_length),
        ("text/plain", 4)
    );
    assert_eq!(m.etag, md5_hex(b"body"));
    let r = b.read(&l, ReadOptions::default()).await.expect("read");
    assert_eq!(r.metadata, m);
    // A newer data version supersedes the update.
    put(b, &l, "post", 3, b"new").await;
    let ObjectState::Present(m) = b.open(&l).await.expect("open") else {
        panic!("expected present");
    };
    assert_eq!(m.meta_timestamp, None);
    assert_eq!(
        m.user_meta,
        vec![("x-object-meta-color".to_string(), "red".to_string())]
    );
}

/// post: "Fails with Error::NotFound when the current state is not data, and
/// with Error::Conflict when the update's timestamp is not newer".
pub async fn post_rules(b: &dyn ObjectBackend) {
    let l = loc("postrules");
    let up = |secs| MetadataUpdate {
        timestamp: ts(secs),
        user_meta: vec![],
    };
    assert!(matches!(
        b.post(&l, up(1)).await,
        Err(Error::NotFound { .. })
    ));
    put(b, &l, "postrules", 5, b"x").await;
    assert!(matches!(
        b.post(&l, up(5)).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        b.post(&l, up(4)).await,
        Err(Error::Conflict { .. })
    ));
    b.post(&l, up(7)).await.expect("post");
    assert!(matches!(
        b.post(&l, up(6)).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        b.post(&l, up(7)).await,
        Err(Error::Conflict { .. })
    ));
    b.delete(&l, ts(8)).await.expect("delete");
    assert!(matches!(
        b.post(&l, up(9)).await,
        Err(Error::NotFound { .. })
    ));
}

/// put: "a metadata update newer than the new version stays in effect".
pub async fn metadata_update_survives_older_put(b: &dyn ObjectBackend) {
    let l = loc("metasurvives");
    put(b, &l, "metasurvives", 1, b"one").await;
    let update = MetadataUpdate {
        timestamp: ts(5),
        user_meta: vec![("x-object-meta-k".into(), "post".into())],
    };
    b.post(&l, update).await.expect("post");
    let m = b
        .put(
            &l,
            new_obj("metasurvives", 3),
            stream::once("three"),
            PutOptions::default(),
        )
        .await
        .expect("put between data and meta");
    assert_eq!(m.timestamp, ts(3));
    assert_eq!(m.meta_timestamp, Some(ts(5)));
    assert_eq!(
        m.user_meta,
        vec![("x-object-meta-k".to_string(), "post".to_string())]
    );
    assert_eq!(&read_all(b, &l, ReadOptions::default()).await[..], b"three");
}
