//! The conformance suite of [`ImageService`] backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::TryStreamExt;

use super::ImageService;
use crate::api::RequestContext;
use crate::error::Error;
use crate::model::{ProjectId, UserId};

fn ctx(project: &str) -> RequestContext {
    RequestContext::new(
        UserId::new("conformance").unwrap(),
        ProjectId::new(project).unwrap(),
        vec!["member".into()],
    )
}

/// Runs every scenario. `public` must be an active public image holding
/// data, `private` one visible only to project `owner`; `other` is a
/// project that does not own it.
pub async fn run_all(s: &dyn ImageService, public: &str, private: &str, owner: &str, other: &str) {
    show_returns_visible_images(s, public, private, owner, other).await;
    list_holds_only_visible_images(s, public, private, owner, other).await;
    download_returns_the_data_with_its_checksum(s, public, other).await;
    unknown_image_is_not_found(s, owner).await;
}

/// `show` finds public images for anyone and private ones for the owner
/// only (NotFound for others).
pub async fn show_returns_visible_images(
    s: &dyn ImageService,
    public: &str,
    private: &str,
    owner: &str,
    other: &str,
) {
    let i = s.show(&ctx(other), public).await.unwrap();
    assert_eq!(i.id, public);
    assert_eq!(i.status, "active");
    assert!(s.show(&ctx(owner), private).await.is_ok());
    assert!(matches!(
        s.show(&ctx(other), private).await,
        Err(Error::NotFound { .. })
    ));
}

/// `list` shows what `show` would.
pub async fn list_holds_only_visible_images(
    s: &dyn ImageService,
    public: &str,
    private: &str,
    owner: &str,
    other: &str,
) {
    let ids = |v: Vec<super::ImageInfo>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let mine = ids(s.list(&ctx(owner)).await.unwrap_or_default());
    assert!(mine.iter().any(|i| i == public) && mine.iter().any(|i| i == private));
    let theirs = ids(s.list(&ctx(other)).await.unwrap_or_default());
    assert!(theirs.iter().any(|i| i == public));
    assert!(!theirs.iter().any(|i| i == private));
}

/// The downloaded bytes have the size and MD5 checksum `show` reports.
pub async fn download_returns_the_data_with_its_checksum(
    s: &dyn ImageService,
    public: &str,
    other: &str,
) {
    use md5::{Digest, Md5};
    let info = s.show(&ctx(other), public).await.unwrap();
    let stream = s.download(&ctx(other), public).await.unwrap();
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    let data: Vec<u8> = chunks.concat();
    assert_eq!(info.size, Some(data.len() as u64));
    let md5: String = Md5::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(info.checksum.as_deref(), Some(md5.as_str()));
}

/// An unknown id is NotFound for show and download.
pub async fn unknown_image_is_not_found(s: &dyn ImageService, owner: &str) {
    let missing = "00000000-0000-4000-8000-000000000000";
    assert!(matches!(
        s.show(&ctx(owner), missing).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.download(&ctx(owner), missing).await.map(|_| ()),
        Err(Error::NotFound { .. })
    ));
}
