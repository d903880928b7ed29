//! The S3 store against moto (`FERROSTACK_S3_ENDPOINT`, e.g.
//! `http://127.0.0.1:5055`); skipped when unset unless
//! `FERROSTACK_REQUIRE_SERVICES=1`.

use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};

use super::*;
use crate::store::remote::Secret;
use crate::store::{conformance, ByteRange};
use crate::stream;

fn endpoint(test: &str) -> Option<String> {
    match std::env::var("FERROSTACK_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            assert!(
                std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: FERROSTACK_S3_ENDPOINT is unset but FERROSTACK_REQUIRE_SERVICES=1"
            );
            println!("{test}: skipped (FERROSTACK_S3_ENDPOINT is unset)");
            None
        }
    }
}

/// A config on a fresh bucket, path-style.
fn config(endpoint: &str) -> S3StoreConfig {
    let bucket = format!(
        "glance-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    S3StoreConfig {
        addressing: S3Addressing::Path,
        ..S3StoreConfig::new(endpoint, "testing", Secret::new("testing"), bucket)
    }
}

#[tokio::test]
async fn s3_store_conforms_with_single_puts() {
    let Some(e) = endpoint("s3_store_conforms_with_single_puts") else {
        return;
    };
    let store = S3ImageStore::new(config(&e)).unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn s3_store_conforms_with_multipart() {
    let Some(e) = endpoint("s3_store_conforms_with_multipart") else {
        return;
    };
    let store = S3ImageStore::new(S3StoreConfig {
        large_object_size: 1_000,
        ..config(&e)
    })
    .unwrap();
    conformance::run_all(&store).await;
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 % 249) as u8).collect()
}

/// Open multipart uploads of the store's bucket.
async fn open_uploads(store: &S3ImageStore) -> usize {
    let resp = store
        .send_small(Method::GET, None, &[("uploads", "")], &[], Bytes::new())
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let body = resp.text().await.unwrap();
    body.matches("<Upload>").count()
}

#[tokio::test]
async fn streaming_multipart_of_unknown_size_and_abort_on_failure() {
    let Some(e) = endpoint("streaming_multipart_of_unknown_size") else {
        return;
    };
    streaming_multipart_scenario(&S3ImageStore::new(config(&e)).unwrap()).await;
}

/// An 11 MiB image of unknown size goes up in three parts and reads back
/// (ranges across parts); a put failing after a part leaves no upload.
pub(super) async fn streaming_multipart_scenario(store: &S3ImageStore) {
    let id = ImageId::new_v4();
    let d = data(11 << 20); // three parts of 5 MiB, 5 MiB, 1 MiB
    let chunks = d.chunks(1 << 20).map(Bytes::copy_from_slice).collect();
    let stored = store
        .put(&id, stream::chunks(chunks), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(stored.size, d.len() as u64);
    assert_eq!(stored.md5, hex::encode(Md5::digest(&d)));
    assert_eq!(
        stored.location,
        format!("s3://{}/{}/{id}", store.host(), store.config.bucket)
    );
    let r = ByteRange {
        start: (5 << 20) - 10,
        end: Some((10 << 20) + 10),
    };
    let got = stream::collect(
        store.get(&id, GetOptions::range(r)).await.unwrap(),
        16 << 20,
    )
    .await
    .unwrap();
    assert_eq!(&got[..], &d[(5 << 20) - 10..(10 << 20) + 10]);
    assert_eq!(open_uploads(store).await, 0);

    // Failing after one part was sent: the upload is aborted.
    let bad = ImageId::new_v4();
    let failing = futures::stream::iter(vec![
        Ok(Bytes::from(data(6 << 20))),
        Err(Error::Unavailable {
            reason: "cut".into(),
        }),
    ])
    .boxed();
    let err = store.put(&bad, failing, PutOptions::default()).await;
    assert!(matches!(err, Err(Error::Unavailable { .. })), "{err:?}");
    assert!(!store.exists(&bad).await.unwrap());
    assert_eq!(open_uploads(store).await, 0);
}

#[tokio::test]
async fn missing_bucket_without_create_is_a_config_error() {
    let Some(e) = endpoint("missing_bucket_without_create") else {
        return;
    };
    let store = S3ImageStore::new(S3StoreConfig {
        create_bucket: false,
        ..config(&e)
    })
    .unwrap();
    let r = store
        .put(&ImageId::new_v4(), stream::once("x"), PutOptions::default())
        .await;
    assert!(matches!(r, Err(Error::InvalidConfig { .. })), "{r:?}");
}

#[test]
fn addressing_builds_the_right_urls() {
    let mk = |endpoint: &str, addressing| {
        S3ImageStore::new(S3StoreConfig {
            addressing,
            ..S3StoreConfig::new(endpoint, "AK", Secret::new("SK"), "images")
        })
        .unwrap()
    };
    let url = |s: &S3ImageStore, key| {
        let r = S3Request {
            method: Method::GET,
            key,
            query: &[("partNumber", "1")],
            headers: &[],
            payload_hash: sigv4::UNSIGNED_PAYLOAD,
        };
        let req = s.request(&r).build().unwrap();
        assert!(req.headers()["authorization"]
            .to_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=AK/"));
        req.url().to_string()
    };
    let s = mk("http://s3.example.com:9000", S3Addressing::Auto);
    assert_eq!(
        url(&s, Some("k")),
        "http://images.s3.example.com:9000/k?partNumber=1"
    );
    let s = mk("http://127.0.0.1:5055", S3Addressing::Auto);
    assert_eq!(
        url(&s, Some("k")),
        "http://127.0.0.1:5055/images/k?partNumber=1"
    );
    assert_eq!(url(&s, None), "http://127.0.0.1:5055/images?partNumber=1");
    let s = mk("https://s3.example.com", S3Addressing::Path);
    assert_eq!(
        url(&s, Some("k")),
        "https://s3.example.com/images/k?partNumber=1"
    );
    let s = mk("http://localhost:5055", S3Addressing::Virtual);
    assert_eq!(
        url(&s, Some("k")),
        "http://images.localhost:5055/k?partNumber=1"
    );
}

#[test]
fn config_defaults_validation_and_redaction() {
    let c: S3StoreConfig = serde_json::from_value(serde_json::json!({
        "endpoint": "http://127.0.0.1:5055", "access_key": "AK",
        "secret_key": "s3kr1t", "bucket": "glance"
    }))
    .unwrap();
    assert_eq!(c.region, "us-east-1");
    assert_eq!(c.addressing, S3Addressing::Auto);
    assert!(c.create_bucket);
    assert_eq!((c.large_object_size, c.part_size), (100 << 20, 10 << 20));
    assert!(c.validate().is_ok());
    assert!(!format!("{c:?}").contains("s3kr1t"));
    for bad in [
        S3StoreConfig {
            bucket: "Bad_Bucket".into(),
            ..c.clone()
        },
        S3StoreConfig {
            part_size: 1 << 20,
            ..c.clone()
        },
        S3StoreConfig {
            endpoint: "ftp://x".into(),
            ..c.clone()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    let v: S3StoreConfig = serde_json::from_value(serde_json::json!({
        "endpoint": "http://h", "access_key": "AK", "secret_key": "k",
        "bucket": "glance", "addressing": "virtual"
    }))
    .unwrap();
    assert_eq!(v.addressing, S3Addressing::Virtual);
}

#[tokio::test]
async fn streaming_put_cut_midway_leaves_nothing() {
    let Some(e) = endpoint("streaming_put_cut_midway_leaves_nothing") else {
        return;
    };
    streaming_put_cut_scenario(&S3ImageStore::new(config(&e)).unwrap()).await;
}

/// A streaming put that fails, or ends short, stores nothing.
pub(super) async fn streaming_put_cut_scenario(store: &S3ImageStore) {
    let id = ImageId::new_v4();
    let failing = futures::stream::iter(vec![
        Ok(Bytes::from(data(50_000))),
        Err(Error::Unavailable {
            reason: "client went away".into(),
        }),
    ])
    .boxed();
    let opts = PutOptions::default().expected_size(100_000);
    let err = store.put(&id, failing, opts).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert!(!store.exists(&id).await.unwrap());
    let opts = PutOptions::default().expected_size(100_000);
    let err = store
        .put(&id, stream::once(data(10)), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(!store.exists(&id).await.unwrap());
}
