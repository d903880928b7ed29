//! How nova-core reaches images: its own [`ImageService`] trait, served by
//! glance-core in process or by Glance over HTTP (both live in the server
//! crates, so nova-core does not depend on glance-core).

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::api::RequestContext;
use crate::error::Result;

/// A stream of image bytes.
pub type ImageStream = BoxStream<'static, Result<Bytes>>;

/// What nova needs to know about an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// Glance image id (a UUID string).
    pub id: String,
    /// Image name.
    pub name: Option<String>,
    /// Glance status (`active`, `queued`, ...); only `active` images boot.
    pub status: String,
    /// `qcow2`, `raw`, `aki`, `ari`, `ami`, ...
    pub disk_format: Option<String>,
    /// `bare`, `aki`, `ari`, `ami`, ...
    pub container_format: Option<String>,
    /// Size in bytes once uploaded.
    pub size: Option<u64>,
    /// MD5 hex digest of the data, once uploaded.
    pub checksum: Option<String>,
    /// Minimum disk in GB the image needs.
    pub min_disk: u64,
    /// Minimum RAM in MB the image needs.
    pub min_ram: u64,
    /// Owning project.
    pub owner: Option<String>,
    /// `public`, `private`, `shared` or `community`.
    pub visibility: String,
    /// Extra properties (`kernel_id`, `ramdisk_id`, `architecture`, ...).
    pub properties: BTreeMap<String, String>,
}

/// The image catalogue as the compute service sees it, with the caller's
/// rights (the context carries the user's token for HTTP backends).
#[async_trait]
pub trait ImageService: Send + Sync + fmt::Debug + 'static {
    /// One image the caller may see; [`crate::Error::NotFound`] otherwise.
    async fn show(&self, ctx: &RequestContext, id: &str) -> Result<ImageInfo>;

    /// Every image the caller may see.
    async fn list(&self, ctx: &RequestContext) -> Result<Vec<ImageInfo>>;

    /// The image's bytes.
    async fn download(&self, ctx: &RequestContext, id: &str) -> Result<ImageStream>;
}

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
#[cfg(any(test, feature = "testkit"))]
pub mod fake;

#[cfg(any(test, feature = "testkit"))]
pub use fake::FakeImages;
