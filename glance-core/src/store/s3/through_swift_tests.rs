//! "S3 through an object store": the S3 store against our own Swift
//! proxy's s3api, a real three-node cluster in this process, path-style,
//! region us-east-1, with an access key of account `AUTH_glance`.

use std::sync::Arc;

use md5::Digest;

use swift_core::proxy::{S3Credential, S3Secret, StaticS3Credentials};

use super::tests::{streaming_multipart_scenario, streaming_put_cut_scenario};
use super::*;
use crate::store::remote::Secret;
use crate::store::swift::tests::{cluster_with, Cluster};
use crate::store::{conformance, PutOptions};
use crate::stream;

const ACCESS: &str = "AKGLANCE";
const SECRET: &str = "s3-secret";

async fn s3_cluster() -> Cluster {
    cluster_with(|proxy| {
        let creds = StaticS3Credentials::new().with(
            ACCESS,
            S3Credential {
                secret: S3Secret::new(SECRET),
                project_id: "glance".into(),
            },
        );
        proxy.with_s3(Arc::new(creds)).unwrap()
    })
    .await
}

fn config(c: &Cluster, secret: &str) -> S3StoreConfig {
    let bucket = format!(
        "glance-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    S3StoreConfig {
        addressing: S3Addressing::Path,
        ..S3StoreConfig::new(
            format!("http://{}", c.proxy),
            ACCESS,
            Secret::new(secret),
            bucket,
        )
    }
}

#[tokio::test]
async fn s3_through_swift_conforms_with_single_puts() {
    let c = s3_cluster().await;
    let store = S3ImageStore::new(config(&c, SECRET)).unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn s3_through_swift_conforms_with_multipart() {
    let c = s3_cluster().await;
    let store = S3ImageStore::new(S3StoreConfig {
        large_object_size: 1_000,
        ..config(&c, SECRET)
    })
    .unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn s3_through_swift_streams_multipart_and_aborts() {
    let c = s3_cluster().await;
    let store = S3ImageStore::new(config(&c, SECRET)).unwrap();
    streaming_multipart_scenario(&store).await;
    streaming_put_cut_scenario(&store).await;
    // Completed and aborted uploads leave no parts behind.
    let resp = store
        .send_small(Method::GET, None, &[], &[], bytes::Bytes::new())
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let body = resp.text().await.unwrap();
    assert!(body.contains("<ListBucketResult"), "{body}");
    assert_eq!(body.matches("<Contents>").count(), 1, "{body}");
}

#[tokio::test]
async fn s3_through_swift_refuses_a_wrong_secret() {
    let c = s3_cluster().await;
    let store = S3ImageStore::new(config(&c, "not-the-secret")).unwrap();
    let r = store
        .put(&ImageId::new_v4(), stream::once("x"), PutOptions::default())
        .await;
    assert!(
        matches!(&r, Err(Error::InvalidConfig { reason }) if reason.contains("refused access")),
        "{r:?}"
    );
}

#[tokio::test]
async fn s3_through_swift_honours_if_none_match_and_reports_etags() {
    let c = s3_cluster().await;
    let store = S3ImageStore::new(config(&c, SECRET)).unwrap();
    store.ensure_bucket().await.unwrap();
    let md5 = hex::encode(md5::Md5::digest(b"first"));
    store
        .put_bytes("k", bytes::Bytes::from_static(b"first"), &md5)
        .await
        .unwrap();
    let again = store
        .put_bytes("k", bytes::Bytes::from_static(b"again"), &md5)
        .await;
    assert!(
        again.is_err(),
        "If-None-Match: * must refuse an existing key"
    );
    let resp = store
        .send_small(Method::HEAD, Some("k"), &[], &[], bytes::Bytes::new())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["etag"], format!("\"{md5}\"").as_str());
    assert_eq!(resp.headers()["content-length"], "5");

    // A multipart object carries S3's multipart ETag.
    let id = ImageId::new_v4();
    let data: Vec<u8> = (0..(6 << 20)).map(|i| (i % 251) as u8).collect();
    store
        .put_multipart(
            &id.to_string(),
            bytes::BytesMut::new(),
            stream::once(data.clone()),
            crate::store::ImageHasher::new(&PutOptions::default()),
            5 << 20,
        )
        .await
        .unwrap();
    let resp = store
        .send_small(
            Method::HEAD,
            Some(&id.to_string()),
            &[],
            &[],
            bytes::Bytes::new(),
        )
        .await
        .unwrap();
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.ends_with("-2\""), "{etag}");
    let got = stream::collect(store.get(&id, Default::default()).await.unwrap(), 8 << 20)
        .await
        .unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got[..] == data[..]);
}
