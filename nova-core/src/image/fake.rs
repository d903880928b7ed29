//! [`FakeImages`]: an in-memory [`ImageService`] for tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream;

use super::{ImageInfo, ImageService, ImageStream};
use crate::api::RequestContext;
use crate::error::{Error, Result};

/// Images held in memory: public ones are visible to all, the others to
/// their owner (and admins).
#[derive(Debug, Default)]
pub struct FakeImages {
    images: Mutex<BTreeMap<String, (ImageInfo, Bytes)>>,
}

impl FakeImages {
    /// No images.
    pub fn new() -> Self {
        Self::default()
    }

    /// A catalogue with one public, active `cirros` image of 1 MiB of
    /// zeros (min_disk 0, min_ram 0); returns its id too.
    pub fn with_cirros() -> (Self, String) {
        let me = Self::new();
        let id = me.add(
            Self::info("cirros", "active"),
            Bytes::from(vec![0u8; 1 << 20]),
        );
        (me, id)
    }

    /// A public image named `name` in `status` with no data yet.
    pub fn info(name: &str, status: &str) -> ImageInfo {
        ImageInfo {
            id: uuid::Uuid::new_v4().to_string(),
            name: Some(name.to_owned()),
            status: status.to_owned(),
            disk_format: Some("qcow2".into()),
            container_format: Some("bare".into()),
            size: None,
            checksum: None,
            min_disk: 0,
            min_ram: 0,
            owner: None,
            visibility: "public".into(),
            properties: BTreeMap::new(),
        }
    }

    /// Adds `info` with `data` (size and md5 checksum set from it);
    /// returns its id.
    pub fn add(&self, mut info: ImageInfo, data: Bytes) -> String {
        use md5::{Digest, Md5};
        info.size = Some(data.len() as u64);
        info.checksum = Some(
            Md5::digest(&data)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        );
        let id = info.id.clone();
        self.lock().insert(id.clone(), (info, data));
        id
    }

    /// Removes an image.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, (ImageInfo, Bytes)>> {
        self.images.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn visible(ctx: &RequestContext, info: &ImageInfo) -> bool {
        ctx.is_admin()
            || info.visibility == "public"
            || info.visibility == "community"
            || info.owner.as_deref() == Some(ctx.project_id.as_str())
    }
}

#[async_trait]
impl ImageService for FakeImages {
    async fn show(&self, ctx: &RequestContext, id: &str) -> Result<ImageInfo> {
        self.lock()
            .get(id)
            .filter(|(i, _)| Self::visible(ctx, i))
            .map(|(i, _)| i.clone())
            .ok_or_else(|| Error::not_found(format!("image {id}")))
    }

    async fn list(&self, ctx: &RequestContext) -> Result<Vec<ImageInfo>> {
        Ok(self
            .lock()
            .values()
            .filter(|(i, _)| Self::visible(ctx, i))
            .map(|(i, _)| i.clone())
            .collect())
    }

    async fn download(&self, ctx: &RequestContext, id: &str) -> Result<ImageStream> {
        let data = self
            .lock()
            .get(id)
            .filter(|(i, _)| Self::visible(ctx, i))
            .map(|(_, d)| d.clone())
            .ok_or_else(|| Error::not_found(format!("image {id}")))?;
        Ok(Box::pin(stream::iter([Ok(data)])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_images_conform() {
        let images = FakeImages::new();
        let public = images.add(
            FakeImages::info("pub", "active"),
            Bytes::from_static(b"abc"),
        );
        let mut private = FakeImages::info("priv", "active");
        private.visibility = "private".into();
        private.owner = Some("owner".into());
        let private = images.add(private, Bytes::from_static(b"secret"));
        super::super::conformance::run_all(&images, &public, &private, "owner", "other").await;
    }
}
