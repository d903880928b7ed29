#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::*;
use crate::image::ImageStream;
use crate::model::{ProjectId, UserId};

/// Serves one image's bytes slowly (so concurrent fetches overlap) and
/// counts downloads.
#[derive(Debug)]
struct OneImage {
    info: ImageInfo,
    data: Vec<u8>,
    downloads: AtomicUsize,
}

#[async_trait]
impl ImageService for OneImage {
    async fn show(&self, _ctx: &RequestContext, id: &str) -> Result<ImageInfo> {
        if id == self.info.id {
            Ok(self.info.clone())
        } else {
            Err(Error::not_found(format!("image {id}")))
        }
    }
    async fn list(&self, _ctx: &RequestContext) -> Result<Vec<ImageInfo>> {
        Ok(vec![self.info.clone()])
    }
    async fn download(&self, _ctx: &RequestContext, _id: &str) -> Result<ImageStream> {
        self.downloads.fetch_add(1, Ordering::SeqCst);
        let chunks: Vec<Result<Bytes>> = self
            .data
            .chunks(1000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let s = futures::stream::iter(chunks).then(|c| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            c
        });
        Ok(Box::pin(s))
    }
}

fn image(data: &[u8], checksum: Option<String>) -> Arc<OneImage> {
    Arc::new(OneImage {
        info: ImageInfo {
            id: uuid::Uuid::new_v4().to_string(),
            name: Some("cirros".into()),
            status: "active".into(),
            disk_format: Some("qcow2".into()),
            container_format: Some("bare".into()),
            size: Some(data.len() as u64),
            checksum,
            min_disk: 0,
            min_ram: 0,
            owner: None,
            visibility: "public".into(),
            properties: BTreeMap::new(),
        },
        data: data.to_vec(),
        downloads: AtomicUsize::new(0),
    })
}

fn ctx() -> RequestContext {
    RequestContext::new(
        UserId::new("u").unwrap(),
        ProjectId::new("p").unwrap(),
        vec![],
    )
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn concurrent_fetches_download_once_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let sum = format!("{:x}", Md5::digest(&data));
    let svc = image(&data, Some(sum.to_uppercase()));
    let cache = Arc::new(ImageCache::new(tmp.path(), svc.clone()).await.unwrap());
    let id = svc.info.id.clone();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (cache, id) = (cache.clone(), id.clone());
            tokio::spawn(async move { cache.fetch_by_id(&ctx(), &id).await })
        })
        .collect();
    for t in tasks {
        let p = t.await.unwrap().unwrap();
        assert_eq!(p, tmp.path().join(&id));
    }
    assert_eq!(svc.downloads.load(Ordering::SeqCst), 1);
    assert_eq!(std::fs::read(tmp.path().join(&id)).unwrap(), data);
    assert_eq!(files(tmp.path()), vec![id.clone()]);

    // In use or recently used: kept; unused for long enough: removed.
    let kept = cache
        .remove_unused(std::slice::from_ref(&id), Duration::ZERO)
        .await
        .unwrap();
    assert!(kept.is_empty());
    let kept = cache
        .remove_unused(&[], Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(kept.is_empty());
    let removed = cache.remove_unused(&[], Duration::ZERO).await.unwrap();
    assert_eq!(removed, vec![id]);
    assert!(files(tmp.path()).is_empty());
}

#[tokio::test]
async fn checksum_mismatch_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = image(
        b"not what glance hashed",
        Some(format!("{:x}", Md5::digest(b"other"))),
    );
    let cache = ImageCache::new(tmp.path(), svc.clone()).await.unwrap();
    let e = cache.fetch(&ctx(), &svc.info).await.unwrap_err();
    let src = std::error::Error::source(&e).unwrap();
    assert!(src.downcast_ref::<ChecksumMismatch>().is_some(), "{e:?}");
    assert!(files(tmp.path()).is_empty(), "{:?}", files(tmp.path()));
    // Not cached: the next fetch downloads (and fails) again.
    cache.fetch(&ctx(), &svc.info).await.unwrap_err();
    assert_eq!(svc.downloads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn inactive_images_and_bad_ids_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let svc = image(b"x", None);
    let cache = ImageCache::new(tmp.path(), svc.clone()).await.unwrap();
    let mut info = svc.info.clone();
    info.status = "queued".into();
    let e = cache.fetch(&ctx(), &info).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    info.status = "active".into();
    info.id = "../etc".into();
    let e = cache.fetch(&ctx(), &info).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    // Leftover partial downloads are cleaned at start.
    std::fs::write(tmp.path().join(".part-abc"), b"half").unwrap();
    let _again = ImageCache::new(tmp.path(), svc).await.unwrap();
    assert!(files(tmp.path()).is_empty());
}
