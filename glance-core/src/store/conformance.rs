//! The conformance suite every [`ImageStore`] must pass. Each scenario
//! asserts a sentence of the trait's contract and uses fresh image ids, so
//! the suite can run against a store that already holds data.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use futures::stream::{self as fstream, StreamExt};
use md5::{Digest, Md5};
use sha2::Sha512;

use super::{ByteRange, GetOptions, ImageStore, PutOptions};
use crate::error::Error;
use crate::image::ImageId;
use crate::stream::{self, ByteStream};

/// Runs every scenario against `s`.
pub async fn run_all(s: &dyn ImageStore) {
    if !s.capabilities().write {
        println!(
            "skipping write scenarios: the {} store is read-only",
            s.name()
        );
        put_is_unsupported_when_read_only(s).await;
        return;
    }
    put_then_get_returns_same_bytes(s).await;
    hashes_are_md5_and_sha512_hex_of_data(s).await;
    empty_image_round_trips(s).await;
    failed_stream_leaves_nothing(s).await;
    max_size_exceeded_is_quota_exceeded(s).await;
    expected_size_mismatch_is_invalid(s).await;
    put_twice_is_already_exists(s).await;
    concurrent_puts_one_wins(s).await;
    delete_then_get_is_not_found(s).await;
    missing_is_not_found(s).await;
    if s.capabilities().ranged_get {
        ranged_get_returns_slice(s).await;
        unsatisfiable_range_is_refused(s).await;
    } else {
        println!("skipping ranged get: unsupported by the {} store", s.name());
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Splits `d` into chunks of up to `size` bytes.
fn chunked(d: &[u8], size: usize) -> ByteStream {
    stream::chunks(d.chunks(size).map(Bytes::copy_from_slice).collect())
}

async fn read_all(s: &dyn ImageStore, id: &ImageId, opts: GetOptions) -> Vec<u8> {
    let st = s.get(id, opts).await.unwrap();
    stream::collect(st, 64 << 20).await.unwrap().to_vec()
}

async fn assert_absent(s: &dyn ImageStore, id: &ImageId) {
    assert!(!s.exists(id).await.unwrap(), "{id} should be absent");
    assert!(matches!(
        s.get(id, GetOptions::default()).await,
        Err(Error::NotFound { .. })
    ));
}

/// Data put in several chunks reads back byte for byte; `exists` turns true.
pub async fn put_then_get_returns_same_bytes(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    let d = data(300_000);
    let stored = s
        .put(&id, chunked(&d, 65_536), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(stored.size, d.len() as u64);
    assert!(!stored.location.is_empty());
    assert!(s.exists(&id).await.unwrap());
    assert_eq!(read_all(s, &id, GetOptions::default()).await, d);
}

/// `md5` and `sha512` are the lowercase hex digests of the whole data,
/// whatever the chunking.
pub async fn hashes_are_md5_and_sha512_hex_of_data(s: &dyn ImageStore) {
    let d = data(100_003);
    let md5 = hex::encode(Md5::digest(&d));
    let sha = hex::encode(Sha512::digest(&d));
    for chunk in [1_000, 7, 200_000] {
        let id = ImageId::new_v4();
        let stored = s
            .put(&id, chunked(&d, chunk), PutOptions::default())
            .await
            .unwrap();
        assert_eq!(stored.md5, md5);
        assert_eq!(stored.sha512, sha);
        assert_eq!(stored.sha512.len(), 128);
    }
}

/// A zero-byte image is stored with the hashes of the empty string.
pub async fn empty_image_round_trips(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    let stored = s
        .put(&id, stream::empty(), PutOptions::default().expected_size(0))
        .await
        .unwrap();
    assert_eq!(stored.size, 0);
    assert_eq!(stored.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert!(s.exists(&id).await.unwrap());
    assert!(read_all(s, &id, GetOptions::default()).await.is_empty());
}

/// A stream failing midway fails the put with the stream's error and leaves
/// nothing readable; the id can be used again afterwards.
pub async fn failed_stream_leaves_nothing(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    let failing = fstream::iter(vec![
        Ok(Bytes::from(data(70_000))),
        Err(Error::Unavailable {
            reason: "client went away".into(),
        }),
        Ok(Bytes::from_static(b"never")),
    ])
    .boxed();
    let err = s
        .put(&id, failing, PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_absent(s, &id).await;
    let d = data(10);
    s.put(&id, stream::once(d.clone()), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(read_all(s, &id, GetOptions::default()).await, d);
}

/// More bytes than `max_size` fail with `QuotaExceeded` and leave nothing;
/// exactly `max_size` bytes are accepted.
pub async fn max_size_exceeded_is_quota_exceeded(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    let d = data(10_000);
    let err = s
        .put(
            &id,
            chunked(&d, 1_000),
            PutOptions::default().max_size(9_999),
        )
        .await;
    assert!(matches!(err, Err(Error::QuotaExceeded { .. })), "{err:?}");
    assert_absent(s, &id).await;
    s.put(
        &id,
        chunked(&d, 1_000),
        PutOptions::default().max_size(10_000),
    )
    .await
    .unwrap();
}

/// More or fewer bytes than `expected_size` fail with `InvalidInput` and
/// leave nothing.
pub async fn expected_size_mismatch_is_invalid(s: &dyn ImageStore) {
    let d = data(5_000);
    for declared in [4_999, 5_001] {
        let id = ImageId::new_v4();
        let opts = PutOptions::default().expected_size(declared);
        let err = s.put(&id, chunked(&d, 512), opts).await;
        assert!(
            matches!(err, Err(Error::InvalidInput { .. })),
            "{declared}: {err:?}"
        );
        assert_absent(s, &id).await;
    }
    let id = ImageId::new_v4();
    let stored = s
        .put(
            &id,
            chunked(&d, 512),
            PutOptions::default().expected_size(5_000),
        )
        .await
        .unwrap();
    assert_eq!(stored.size, 5_000);
}

/// A second put on the same id is `AlreadyExists` and leaves the first data.
pub async fn put_twice_is_already_exists(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    s.put(&id, stream::once("first"), PutOptions::default())
        .await
        .unwrap();
    let err = s
        .put(&id, stream::once("second!"), PutOptions::default())
        .await;
    assert!(matches!(err, Err(Error::AlreadyExists { .. })), "{err:?}");
    assert_eq!(read_all(s, &id, GetOptions::default()).await, b"first");
}

/// Of two concurrent puts on one id exactly one wins; the data is whole.
pub async fn concurrent_puts_one_wins(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    let (a, b) = (data(50_000), vec![7u8; 40_000]);
    let (ra, rb) = futures::join!(
        s.put(&id, chunked(&a, 4_096), PutOptions::default()),
        s.put(&id, chunked(&b, 4_096), PutOptions::default()),
    );
    assert!(ra.is_ok() != rb.is_ok(), "{ra:?} {rb:?}");
    let loser = if ra.is_ok() { rb } else { ra };
    assert!(matches!(loser, Err(Error::AlreadyExists { .. })));
    let got = read_all(s, &id, GetOptions::default()).await;
    assert!(got == a || got == b);
}

/// After delete the data is gone (`NotFound`), a second delete is
/// `NotFound`, and the id can be reused.
pub async fn delete_then_get_is_not_found(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    s.put(&id, stream::once("bye"), PutOptions::default())
        .await
        .unwrap();
    s.delete(&id).await.unwrap();
    assert_absent(s, &id).await;
    assert!(matches!(s.delete(&id).await, Err(Error::NotFound { .. })));
    s.put(&id, stream::once("again"), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(read_all(s, &id, GetOptions::default()).await, b"again");
}

/// An id never written is absent.
pub async fn missing_is_not_found(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    assert_absent(s, &id).await;
    assert!(matches!(s.delete(&id).await, Err(Error::NotFound { .. })));
}

/// A range reads exactly that slice; an open or overlong end reads to the end.
pub async fn ranged_get_returns_slice(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    let d = data(200_000);
    s.put(&id, chunked(&d, 65_536), PutOptions::default())
        .await
        .unwrap();
    let cases = [
        (0, Some(1)),
        (100, Some(70_000)),
        (150_000, None),
        (199_999, Some(500_000)),
    ];
    for (start, end) in cases {
        let got = read_all(s, &id, GetOptions::range(ByteRange { start, end })).await;
        let stop = end.unwrap_or(200_000).min(200_000) as usize;
        assert_eq!(got, &d[start as usize..stop], "{start}..{end:?}");
    }
}

/// A range starting at or past the end, or reversed, is `RangeNotSatisfiable`.
pub async fn unsatisfiable_range_is_refused(s: &dyn ImageStore) {
    let id = ImageId::new_v4();
    s.put(&id, stream::once(data(100)), PutOptions::default())
        .await
        .unwrap();
    for (start, end) in [
        (100, None),
        (500, Some(600)),
        (50, Some(40)),
        (10, Some(10)),
    ] {
        let r = s
            .get(&id, GetOptions::range(ByteRange { start, end }))
            .await;
        assert!(
            matches!(r, Err(Error::RangeNotSatisfiable { size: 100 })),
            "{start}..{end:?}"
        );
    }
}

/// A read-only store refuses `put` with `Unsupported`.
pub async fn put_is_unsupported_when_read_only(s: &dyn ImageStore) {
    let r = s
        .put(&ImageId::new_v4(), stream::once("x"), PutOptions::default())
        .await;
    assert!(matches!(r, Err(Error::Unsupported { .. })), "{r:?}");
}
