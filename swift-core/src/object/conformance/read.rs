//! Scenarios of open, read, listing and devices.

use bytes::Bytes;
use futures::stream::{self as fstream, StreamExt};

use super::*;
use crate::error::Error;
use crate::object::{ByteRange, MetadataUpdate, ObjectLocation, PutOptions, ReadOptions};
use crate::stream;

/// read: "The stream yields exactly the requested bytes"; bad ranges are
/// `Error::InvalidInput`; a wrong `opts.timestamp` is `Error::NotFound`.
pub async fn ranged_read_returns_slice(b: &dyn ObjectBackend) {
    let l = loc("range");
    put(b, &l, "range", 1, b"0123456789").await;
    let r = |start, end| ReadOptions {
        range: Some(ByteRange { start, end }),
        timestamp: None,
    };
    assert_eq!(&read_all(b, &l, r(2, 5)).await[..], b"234");
    assert_eq!(&read_all(b, &l, r(9, 10)).await[..], b"9");
    assert_eq!(&read_all(b, &l, r(0, 10)).await[..], b"0123456789");
    for (s, e) in [(5, 5), (6, 5), (0, 11), (10, 12)] {
        assert!(
            matches!(b.read(&l, r(s, e)).await, Err(Error::InvalidInput { .. })),
            "{s}-{e}"
        );
    }
    let pinned = ReadOptions {
        range: None,
        timestamp: Some(ts(1)),
    };
    assert_eq!(&read_all(b, &l, pinned).await[..], b"0123456789");
    let wrong = ReadOptions {
        range: None,
        timestamp: Some(ts(2)),
    };
    assert!(matches!(
        b.read(&l, wrong).await,
        Err(Error::NotFound { .. })
    ));
}

/// read: "the read sees one version even if a newer one is written meanwhile".
pub async fn read_pins_one_version(b: &dyn ObjectBackend) {
    let l = loc("pinned");
    put(b, &l, "pinned", 1, b"first version").await;
    let r = b.read(&l, ReadOptions::default()).await.expect("read");
    put(b, &l, "pinned", 2, b"second").await;
    b.delete(&l, ts(3)).await.expect("delete");
    assert_eq!(r.metadata.timestamp, ts(1));
    assert_eq!(
        &stream::collect(r.body, 1024).await.expect("body")[..],
        b"first version"
    );
}

/// A body of many chunks round-trips; ranges across chunk boundaries work.
pub async fn large_body_round_trips(b: &dyn ObjectBackend) {
    let l = loc("large");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<crate::error::Result<Bytes>> = data
        .chunks(7_000)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let m = b
        .put(
            &l,
            new_obj("large", 1),
            fstream::iter(chunks).boxed(),
            PutOptions::default(),
        )
        .await
        .expect("put large");
    assert_eq!(m.content_length, 300_000);
    assert_eq!(m.etag, md5_hex(&data));
    assert_eq!(read_all(b, &l, ReadOptions::default()).await, data);
    let opts = ReadOptions {
        range: Some(ByteRange {
            start: 65_000,
            end: 200_001,
        }),
        timestamp: None,
    };
    assert_eq!(read_all(b, &l, opts).await, data[65_000..200_001]);
}

/// list_*: ascending, and only locations holding versions.
pub async fn listing_is_sorted(b: &dyn ObjectBackend) {
    assert!(b.list_partitions("d2").await.expect("list").is_empty());
    let mut hashes = Vec::new();
    for (i, part) in [(0, 9), (1, 3), (2, 9), (3, 12)] {
        let h = hash(&format!("list{i}"));
        let l = ObjectLocation::new("d2", part, h);
        if i == 3 {
            b.delete(&l, ts(1)).await.expect("tombstone");
        } else {
            put(b, &l, "list", 1, b"x").await;
        }
        if part == 9 {
            hashes.push(h);
        }
    }
    assert_eq!(b.list_partitions("d2").await.expect("list"), vec![3, 9, 12]);
    let suffixes = b.list_suffixes("d2", 9).await.expect("suffixes");
    let mut want: Vec<String> = hashes.iter().map(|h| h.suffix()).collect();
    want.sort();
    want.dedup();
    assert_eq!(suffixes, want);
    let mut all = Vec::new();
    for s in &suffixes {
        let got = b.list_hashes("d2", 9, s).await.expect("hashes");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted);
        all.extend(got);
    }
    all.sort();
    hashes.sort();
    assert_eq!(all, hashes);
    assert!(b
        .list_suffixes("d2", 4)
        .await
        .expect("empty part")
        .is_empty());
}

/// Every method: "a device that does not exist ... fails with
/// Error::InsufficientStorage".
pub async fn missing_device_is_insufficient_storage(b: &dyn ObjectBackend) {
    for dev in ["absent", "..", "", "d1/../d2"] {
        let l = ObjectLocation::new(dev, 1, hash("nodev"));
        let is_507 =
            |r: &crate::error::Result<_>| matches!(r, Err(Error::InsufficientStorage { .. }));
        let r = b
            .put(
                &l,
                new_obj("nodev", 1),
                stream::once("x"),
                PutOptions::default(),
            )
            .await;
        assert!(is_507(&r.map(|_| ())), "put {dev:?}");
        assert!(is_507(&b.delete(&l, ts(1)).await), "delete {dev:?}");
        let up = MetadataUpdate {
            timestamp: ts(2),
            user_meta: vec![],
        };
        assert!(is_507(&b.post(&l, up).await), "post {dev:?}");
        assert!(is_507(&b.open(&l).await.map(|_| ())), "open {dev:?}");
        assert!(
            is_507(&b.read(&l, ReadOptions::default()).await.map(|_| ())),
            "read {dev:?}"
        );
        assert!(
            is_507(&b.list_partitions(dev).await.map(|_| ())),
            "list {dev:?}"
        );
    }
}
