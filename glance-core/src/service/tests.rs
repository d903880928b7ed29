use bytes::Bytes;
use futures::StreamExt;

use super::*;
use crate::image::ProjectId;
use crate::registry::MemoryImageRegistry;
use crate::store::{GetOptions, MemoryImageStore, Stores};
use crate::stream;

fn p(s: &str) -> ProjectId {
    ProjectId::new(s).unwrap()
}

fn service(cap: u64) -> ImageService {
    let quota = QuotaConfig {
        image_size_cap: cap,
        ..QuotaConfig::default()
    };
    ImageService::new(
        Arc::new(MemoryImageRegistry::new()),
        Stores::new("mem", Arc::new(MemoryImageStore::new())),
        quota,
    )
    .unwrap()
    .with_clock(Arc::new(|| 1_000))
}

#[tokio::test]
async fn upload_goes_queued_saving_active_with_hashes() {
    let svc = service(1 << 20);
    let owner = Caller::project(p("demo"));
    let img = svc.create(&owner, CreateImage::default()).await.unwrap();
    assert_eq!(img.status, ImageStatus::Queued);
    let data = stream::chunks(vec![
        Bytes::from_static(b"disk "),
        Bytes::from_static(b"bytes"),
    ]);
    let opts = UploadOptions::default().expected_size(10);
    let active = svc.upload(&owner, &img.id, data, opts).await.unwrap();
    assert_eq!(active.status, ImageStatus::Active);
    assert_eq!(active.size, Some(10));
    assert_eq!(
        active.checksum.as_deref(),
        Some("b7c92d68f3ea33566855af256d0ad410")
    );
    assert_eq!(active.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(active.os_hash_value.as_ref().map(String::len), Some(128));
    assert_eq!(active.locations[0].store, "mem");
    assert_eq!(svc.get(&owner, &img.id).await.unwrap(), active);
    let got = svc
        .download(&owner, &img.id, GetOptions::default())
        .await
        .unwrap();
    assert_eq!(&stream::collect(got, 100).await.unwrap()[..], b"disk bytes");
    // A second upload is a conflict (active -> saving is not allowed).
    let again = svc
        .upload(&owner, &img.id, stream::once("x"), UploadOptions::default())
        .await;
    assert!(matches!(again, Err(Error::Conflict { .. })));
}

#[tokio::test]
async fn failed_upload_returns_to_queued_with_no_data() {
    let svc = service(8);
    let owner = Caller::project(p("demo"));
    let img = svc.create(&owner, CreateImage::default()).await.unwrap();
    let cut = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"abc")),
        Err(Error::Unavailable {
            reason: "client gone".into(),
        }),
    ])
    .boxed();
    let r = svc
        .upload(&owner, &img.id, cut, UploadOptions::default())
        .await;
    assert!(matches!(r, Err(Error::Unavailable { .. })));
    let after = svc.get(&owner, &img.id).await.unwrap();
    assert_eq!(after.status, ImageStatus::Queued);
    assert!(after.checksum.is_none() && after.size.is_none() && after.locations.is_empty());
    assert!(matches!(
        svc.download(&owner, &img.id, GetOptions::default()).await,
        Err(Error::NotFound { .. })
    ));
    // Over the size cap: 413-kind, still queued.
    let big = svc
        .upload(
            &owner,
            &img.id,
            stream::once("123456789"),
            UploadOptions::default(),
        )
        .await;
    assert!(matches!(big, Err(Error::QuotaExceeded { .. })));
    // Size mismatch: 400-kind.
    let opts = UploadOptions::default().expected_size(5);
    let short = svc
        .upload(&owner, &img.id, stream::once("1234"), opts)
        .await;
    assert!(matches!(short, Err(Error::InvalidInput { .. })));
    assert_eq!(
        svc.get(&owner, &img.id).await.unwrap().status,
        ImageStatus::Queued
    );
    // And a good upload still works afterwards.
    svc.upload(
        &owner,
        &img.id,
        stream::once("ok"),
        UploadOptions::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn policy_applies_to_create_upload_and_delete() {
    let svc = service(1 << 20);
    let owner = Caller::project(p("demo"));
    let other = Caller::project(p("other"));
    let public = CreateImage {
        visibility: Some(Visibility::Public),
        ..CreateImage::default()
    };
    assert!(matches!(
        svc.create(&owner, public.clone()).await,
        Err(Error::Forbidden { .. })
    ));
    let admin = Caller::admin(p("admins"));
    let img = svc.create(&admin, public).await.unwrap();
    assert!(svc.get(&other, &img.id).await.is_ok());
    let r = svc
        .upload(&other, &img.id, stream::once("x"), UploadOptions::default())
        .await;
    assert!(matches!(r, Err(Error::Forbidden { .. })));

    let protected = CreateImage {
        protected: true,
        ..CreateImage::default()
    };
    let img = svc.create(&owner, protected).await.unwrap();
    assert!(matches!(
        svc.get(&other, &img.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        svc.delete(&owner, &img.id).await,
        Err(Error::Forbidden { .. })
    ));

    let img = svc.create(&owner, CreateImage::default()).await.unwrap();
    svc.upload(
        &owner,
        &img.id,
        stream::once("data"),
        UploadOptions::default(),
    )
    .await
    .unwrap();
    svc.delete(&owner, &img.id).await.unwrap();
    assert!(matches!(
        svc.get(&owner, &img.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        svc.registry().get(&img.id).await.unwrap().status,
        ImageStatus::Deleted
    );

    let mut tags = BTreeSet::new();
    for i in 0..129 {
        tags.insert(format!("t{i}"));
    }
    let too_many = CreateImage {
        tags,
        ..CreateImage::default()
    };
    assert!(matches!(
        svc.create(&owner, too_many).await,
        Err(Error::QuotaExceeded { .. })
    ));
}

#[tokio::test]
async fn modify_applies_policy_read_only_fields_and_quotas() {
    let svc = service(1 << 20);
    let owner = Caller::project(p("demo"));
    let img = svc.create(&owner, CreateImage::default()).await.unwrap();
    let renamed = svc
        .modify(&owner, &img.id, |i| {
            i.name = Some("n".into());
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(svc.get(&owner, &img.id).await.unwrap().name, renamed.name);
    let err = svc
        .modify(&owner, &img.id, |i| {
            i.status = ImageStatus::Active;
            Ok(())
        })
        .await;
    assert!(matches!(err, Err(Error::Forbidden { .. })));
    let err = svc
        .modify(&owner, &img.id, |i| {
            i.visibility = Visibility::Public;
            Ok(())
        })
        .await;
    assert!(matches!(err, Err(Error::Forbidden { .. })));
    let other = Caller::project(p("other"));
    assert!(svc.modify(&other, &img.id, |_| Ok(())).await.is_err());
    svc.add_tag(&owner, &img.id, "t").await.unwrap();
    svc.add_tag(&owner, &img.id, "t").await.unwrap();
    assert_eq!(
        svc.delete_tag(&owner, &img.id, "t")
            .await
            .unwrap()
            .tags
            .len(),
        0
    );
    assert!(matches!(
        svc.delete_tag(&owner, &img.id, "t").await,
        Err(Error::NotFound { .. })
    ));
    let listed = svc
        .list(&other, crate::registry::ListOptions::default())
        .await
        .unwrap();
    assert!(listed.is_empty());
    assert_eq!(svc.list(&owner, Default::default()).await.unwrap().len(), 1);
}
