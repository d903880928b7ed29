//! Import: glance-direct, web-download (with a fake fetcher), copy-image.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::image::{DiskFormat, ProjectId};
use crate::import::{WebDownloadPolicy, WebFetcher, WebUri};
use crate::registry::MemoryImageRegistry;
use crate::store::{GetOptions, ImageStore, MemoryImageStore, Stores};
use crate::stream::{self, ByteStream};

#[derive(Debug, Default)]
struct FakeWeb {
    pages: HashMap<String, &'static str>,
}

#[async_trait]
impl WebFetcher for FakeWeb {
    async fn fetch(&self, uri: &WebUri, _: &WebDownloadPolicy) -> crate::Result<ByteStream> {
        match self.pages.get(uri.as_str()) {
            Some(body) => Ok(stream::once(*body)),
            None => Err(Error::Unavailable {
                reason: "404".into(),
            }),
        }
    }
}

fn p(s: &str) -> ProjectId {
    ProjectId::new(s).unwrap()
}

struct Fixture {
    svc: ImageService,
    staging: Arc<MemoryImageStore>,
    second: Arc<MemoryImageStore>,
}

fn fixture() -> Fixture {
    let staging = Arc::new(MemoryImageStore::new());
    let second = Arc::new(MemoryImageStore::new());
    let stores = Stores::new("fs", Arc::new(MemoryImageStore::new())).with("two", second.clone());
    let mut web = FakeWeb::default();
    web.pages
        .insert("http://images.example/ok.img".into(), "web bytes");
    let svc = ImageService::new(
        Arc::new(MemoryImageRegistry::new()),
        stores,
        QuotaConfig::default(),
    )
    .unwrap()
    .with_staging(staging.clone())
    .with_web_fetcher(Arc::new(web));
    Fixture {
        svc,
        staging,
        second,
    }
}

fn owner() -> Caller {
    Caller::project(p("demo"))
}

async fn image(svc: &ImageService) -> Image {
    let req = CreateImage {
        disk_format: Some(DiskFormat::Raw),
        container_format: Some(ContainerFormat::Bare),
        ..CreateImage::default()
    };
    svc.create(&owner(), req).await.unwrap()
}

async fn data(svc: &ImageService, id: &ImageId) -> Vec<u8> {
    let s = svc
        .download(&owner(), id, GetOptions::default())
        .await
        .unwrap();
    stream::collect(s, 1 << 20).await.unwrap().to_vec()
}

#[tokio::test]
async fn glance_direct_stages_then_imports_asynchronously() {
    let f = fixture();
    let img = image(&f.svc).await;
    let r = f
        .svc
        .import(
            &owner(),
            &img.id,
            ImportRequest::new(ImportMethod::GlanceDirect),
        )
        .await;
    assert!(
        matches!(&r, Err(Error::Conflict { reason }) if reason.contains("staged")),
        "{r:?}"
    );

    let staged = f
        .svc
        .stage(
            &owner(),
            &img.id,
            stream::once("staged data"),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(staged.status, ImageStatus::Uploading);
    assert_eq!(staged.size, Some(11));
    assert!(staged.checksum.is_none());
    assert!(f.staging.exists(&img.id).await.unwrap());

    let task = f
        .svc
        .import(
            &owner(),
            &img.id,
            ImportRequest::new(ImportMethod::GlanceDirect),
        )
        .await
        .unwrap();
    let during = f.svc.registry().get(&img.id).await.unwrap();
    assert!(matches!(
        during.status,
        ImageStatus::Importing | ImageStatus::Active
    ));
    let done = task.wait().await.unwrap();
    assert_eq!(done.status, ImageStatus::Active);
    assert_eq!(done.checksum.as_deref().map(str::len), Some(32));
    assert_eq!(
        done.properties.get(IMPORTING_TO_PROP).map(String::as_str),
        Some("")
    );
    assert_eq!(
        done.properties.get(FAILED_IMPORT_PROP).map(String::as_str),
        Some("")
    );
    assert!(!done.properties.contains_key(IMPORT_TASK_PROP));
    assert_eq!(data(&f.svc, &img.id).await, b"staged data");
    assert!(!f.staging.exists(&img.id).await.unwrap());
    // Importing an active image again is a conflict.
    let again = f
        .svc
        .import(
            &owner(),
            &img.id,
            ImportRequest::new(ImportMethod::GlanceDirect),
        )
        .await;
    assert!(matches!(again, Err(Error::Conflict { .. })));
}

#[tokio::test]
async fn web_download_fetches_and_failures_go_back_to_queued() {
    let f = fixture();
    let img = image(&f.svc).await;
    let web = |uri: &str| ImportRequest::new(ImportMethod::WebDownload { uri: uri.into() });
    let r = f
        .svc
        .import(&owner(), &img.id, web("http://127.0.0.1/x"))
        .await;
    assert!(matches!(r, Err(Error::InvalidInput { .. })));
    let r = f
        .svc
        .import(&owner(), &img.id, web("file:///etc/passwd"))
        .await;
    assert!(matches!(r, Err(Error::InvalidInput { .. })));

    let task = f
        .svc
        .import(&owner(), &img.id, web("http://images.example/gone"))
        .await
        .unwrap();
    assert!(matches!(task.wait().await, Err(Error::Unavailable { .. })));
    let failed = f.svc.get(&owner(), &img.id).await.unwrap();
    assert_eq!(failed.status, ImageStatus::Queued);
    assert_eq!(
        failed
            .properties
            .get(FAILED_IMPORT_PROP)
            .map(String::as_str),
        Some("fs")
    );
    assert!(failed.locations.is_empty() && failed.size.is_none());

    let mut req = web("http://images.example/ok.img");
    req.stores = vec!["two".into()];
    let done = f
        .svc
        .import(&owner(), &img.id, req)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ImageStatus::Active);
    assert_eq!(done.locations[0].store, "two");
    assert!(f.second.exists(&img.id).await.unwrap());
    assert_eq!(data(&f.svc, &img.id).await, b"web bytes");
    assert!(f.svc.import_methods().contains(&"web-download"));
}

#[tokio::test]
async fn copy_image_adds_a_store_and_preconditions_hold() {
    let f = fixture();
    let bare = f
        .svc
        .create(&owner(), CreateImage::default())
        .await
        .unwrap();
    let r = f
        .svc
        .import(
            &owner(),
            &bare.id,
            ImportRequest::new(ImportMethod::GlanceDirect),
        )
        .await;
    assert!(
        matches!(r, Err(Error::Conflict { .. })),
        "formats unset: {r:?}"
    );

    let img = image(&f.svc).await;
    f.svc
        .upload(
            &owner(),
            &img.id,
            stream::once("copy me"),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    let mut req = ImportRequest::new(ImportMethod::CopyImage);
    req.stores = vec!["two".into()];
    let done = f
        .svc
        .import(&owner(), &img.id, req)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ImageStatus::Active);
    let stores: Vec<&str> = done.locations.iter().map(|l| l.store.as_str()).collect();
    assert_eq!(stores, ["fs", "two"]);
    let copied = f.second.get(&img.id, GetOptions::default()).await.unwrap();
    assert_eq!(&stream::collect(copied, 100).await.unwrap()[..], b"copy me");
    let other = Caller::project(p("other"));
    let r = f
        .svc
        .import(&other, &img.id, ImportRequest::new(ImportMethod::CopyImage))
        .await;
    assert!(r.is_err());
}
