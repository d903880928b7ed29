//! Multi-store uploads, format inspection, cancellation and actions.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;

use super::*;
use crate::image::{DiskFormat, ProjectId};
use crate::registry::MemoryImageRegistry;
use crate::store::{GetOptions, ImageStore, MemoryImageStore, Stores};
use crate::stream;

fn p(s: &str) -> ProjectId {
    ProjectId::new(s).unwrap()
}

struct Fixture {
    svc: ImageService,
    fast: Arc<MemoryImageStore>,
    slow: Arc<MemoryImageStore>,
}

fn fixture() -> Fixture {
    let fast = Arc::new(MemoryImageStore::new());
    let slow = Arc::new(MemoryImageStore::new());
    let stores = Stores::new("fast", fast.clone()).with("slow", slow.clone());
    let quota = QuotaConfig {
        image_size_cap: 1 << 20,
        ..QuotaConfig::default()
    };
    let svc = ImageService::new(Arc::new(MemoryImageRegistry::new()), stores, quota).unwrap();
    Fixture { svc, fast, slow }
}

fn owner() -> Caller {
    Caller::project(p("demo"))
}

async fn new_image(svc: &ImageService, disk: Option<DiskFormat>) -> Image {
    let req = CreateImage {
        disk_format: disk,
        container_format: Some(ContainerFormat::Bare),
        ..CreateImage::default()
    };
    svc.create(&owner(), req).await.unwrap()
}

#[tokio::test]
async fn upload_goes_to_the_named_or_default_store_and_back() {
    let f = fixture();
    let a = new_image(&f.svc, None).await;
    let up = f
        .svc
        .upload(
            &owner(),
            &a.id,
            stream::once("to slow"),
            UploadOptions::default().store("slow"),
        )
        .await
        .unwrap();
    assert_eq!(up.locations[0].store, "slow");
    assert!(f.slow.exists(&a.id).await.unwrap());
    assert!(!f.fast.exists(&a.id).await.unwrap());
    let got = f
        .svc
        .download(&owner(), &a.id, GetOptions::default())
        .await
        .unwrap();
    assert_eq!(&stream::collect(got, 100).await.unwrap()[..], b"to slow");

    let b = new_image(&f.svc, None).await;
    let up = f
        .svc
        .upload(
            &owner(),
            &b.id,
            stream::once("default"),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(up.locations[0].store, "fast");
    assert!(f.fast.exists(&b.id).await.unwrap());

    let c = new_image(&f.svc, None).await;
    let r = f
        .svc
        .upload(
            &owner(),
            &c.id,
            stream::once("x"),
            UploadOptions::default().store("nope"),
        )
        .await;
    assert!(matches!(r, Err(Error::InvalidInput { .. })), "{r:?}");
    assert_eq!(
        f.svc.get(&owner(), &c.id).await.unwrap().status,
        ImageStatus::Queued
    );

    f.svc.delete(&owner(), &a.id).await.unwrap();
    assert!(!f.slow.exists(&a.id).await.unwrap());
}

#[tokio::test]
async fn format_mismatch_fails_and_leaves_nothing() {
    let f = fixture();
    let img = new_image(&f.svc, Some(DiskFormat::Qcow2)).await;
    let r = f
        .svc
        .upload(
            &owner(),
            &img.id,
            stream::once("not a qcow2"),
            UploadOptions::default(),
        )
        .await;
    assert!(matches!(r, Err(Error::FormatMismatch { .. })), "{r:?}");
    let after = f.svc.get(&owner(), &img.id).await.unwrap();
    assert_eq!(after.status, ImageStatus::Queued);
    assert!(after.checksum.is_none() && after.os_hash_value.is_none());
    assert!(!f.fast.exists(&img.id).await.unwrap());

    let mut q = vec![0u8; 1024];
    q[..4].copy_from_slice(b"QFI\xfb");
    q[24..32].copy_from_slice(&(5u64 << 30).to_be_bytes());
    let ok = f
        .svc
        .upload(&owner(), &img.id, stream::once(q), UploadOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.virtual_size, Some(5 << 30));
    assert_eq!(ok.size, Some(1024));

    let raw = new_image(&f.svc, Some(DiskFormat::Raw)).await;
    let ok = f
        .svc
        .upload(
            &owner(),
            &raw.id,
            stream::once("abc"),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(ok.virtual_size, Some(3));
}

#[tokio::test]
async fn size_cap_is_quota_exceeded_before_any_data() {
    let f = fixture();
    let img = new_image(&f.svc, None).await;
    let r = f
        .svc
        .upload(
            &owner(),
            &img.id,
            stream::empty(),
            UploadOptions::default().expected_size(2 << 20),
        )
        .await;
    assert!(matches!(r, Err(Error::QuotaExceeded { .. })));
    assert_eq!(
        f.svc.get(&owner(), &img.id).await.unwrap().status,
        ImageStatus::Queued
    );
}

#[tokio::test]
async fn a_cancelled_upload_returns_the_image_to_queued() {
    let f = fixture();
    let img = new_image(&f.svc, None).await;
    let (tx, rx) = futures::channel::mpsc::unbounded::<crate::Result<Bytes>>();
    tx.unbounded_send(Ok(Bytes::from_static(b"first half")))
        .unwrap();
    let caller = owner();
    let upload = f
        .svc
        .upload(&caller, &img.id, rx.boxed(), UploadOptions::default());
    let mut upload = Box::pin(upload);
    // Drive the upload until it waits for more data, then drop it: the
    // client went away halfway.
    for _ in 0..50 {
        assert!(futures::poll!(upload.as_mut()).is_pending());
        tokio::task::yield_now().await;
    }
    assert_eq!(
        f.svc.registry().get(&img.id).await.unwrap().status,
        ImageStatus::Saving
    );
    drop(upload);
    drop(tx);
    let mut status = ImageStatus::Saving;
    for _ in 0..100 {
        status = f.svc.registry().get(&img.id).await.unwrap().status;
        if status == ImageStatus::Queued {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(status, ImageStatus::Queued);
    assert!(!f.fast.exists(&img.id).await.unwrap());
    // The image can be uploaded again.
    f.svc
        .upload(
            &owner(),
            &img.id,
            stream::once("again"),
            UploadOptions::default(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn deactivate_and_reactivate_follow_glance() {
    let f = fixture();
    let img = new_image(&f.svc, None).await;
    assert!(matches!(
        f.svc.deactivate(&owner(), &img.id).await,
        Err(Error::Forbidden { .. })
    ));
    f.svc
        .upload(
            &owner(),
            &img.id,
            stream::once("d"),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    let d = f.svc.deactivate(&owner(), &img.id).await.unwrap();
    assert_eq!(d.status, ImageStatus::Deactivated);
    assert_eq!(
        f.svc.deactivate(&owner(), &img.id).await.unwrap().status,
        ImageStatus::Deactivated
    );
    assert!(matches!(
        f.svc
            .download(&owner(), &img.id, GetOptions::default())
            .await,
        Err(Error::Forbidden { .. })
    ));
    let admin = Caller::admin(p("admins"));
    assert!(f
        .svc
        .download(&admin, &img.id, GetOptions::default())
        .await
        .is_ok());
    assert_eq!(
        f.svc.reactivate(&owner(), &img.id).await.unwrap().status,
        ImageStatus::Active
    );
    assert_eq!(
        f.svc.reactivate(&owner(), &img.id).await.unwrap().status,
        ImageStatus::Active
    );
}

#[tokio::test]
async fn readers_may_read_and_download_but_not_write() {
    let f = fixture();
    let img = new_image(&f.svc, None).await;
    f.svc
        .upload(
            &owner(),
            &img.id,
            stream::once("r"),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    let reader = Caller::reader(p("demo"));
    assert!(f.svc.get(&reader, &img.id).await.is_ok());
    assert_eq!(
        f.svc.list(&reader, Default::default()).await.unwrap().len(),
        1
    );
    assert!(f
        .svc
        .download(&reader, &img.id, GetOptions::default())
        .await
        .is_ok());
    for r in [
        f.svc
            .create(&reader, CreateImage::default())
            .await
            .map(|_| ()),
        f.svc.modify(&reader, &img.id, |_| Ok(())).await.map(|_| ()),
        f.svc.add_tag(&reader, &img.id, "t").await.map(|_| ()),
        f.svc.deactivate(&reader, &img.id).await.map(|_| ()),
        f.svc.delete(&reader, &img.id).await,
    ] {
        assert!(matches!(r, Err(Error::Forbidden { .. })), "{r:?}");
    }
}
