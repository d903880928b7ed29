//! [`ImageService`]: the image operations of the Images API on top of a
//! registry and a store, with policy, quotas and the status machine applied.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::image::access::{self, Caller};
use crate::image::{
    ContainerFormat, DiskFormat, Image, ImageId, ImageLocation, ImageStatus, MemberStatus,
    Visibility, OS_HASH_ALGO,
};
use crate::quota::QuotaConfig;
use crate::registry::{ImageRegistry, ListOptions};
use crate::store::{GetOptions, ImageStore, PutOptions};
use crate::stream::ByteStream;

/// The current time in seconds since the Unix epoch; injectable for tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

fn system_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The fields a caller may set when creating an image.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CreateImage {
    /// A caller-chosen id; a fresh one otherwise.
    pub id: Option<ImageId>,
    /// Name.
    pub name: Option<String>,
    /// Visibility; `shared` by default.
    pub visibility: Option<Visibility>,
    /// Protected from deletion.
    pub protected: bool,
    /// Disk format.
    pub disk_format: Option<DiskFormat>,
    /// Container format.
    pub container_format: Option<ContainerFormat>,
    /// Minimum disk in GiB.
    pub min_disk: u64,
    /// Minimum RAM in MiB.
    pub min_ram: u64,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Custom properties.
    pub properties: BTreeMap<String, String>,
}

/// Optional inputs of [`ImageService::upload`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UploadOptions {
    /// The declared size (`Content-Length`); a mismatch is `InvalidInput`.
    pub expected_size: Option<u64>,
}

/// Image operations with policy, quotas and lifecycle applied.
#[derive(Clone)]
pub struct ImageService {
    registry: Arc<dyn ImageRegistry>,
    store: Arc<dyn ImageStore>,
    store_id: String,
    quota: QuotaConfig,
    clock: Clock,
}

impl fmt::Debug for ImageService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageService")
            .field("registry", &self.registry)
            .field("store", &self.store)
            .field("store_id", &self.store_id)
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

impl ImageService {
    /// A service over `registry` and `store` (recorded in locations as
    /// `store_id`), checking `quota` (validated here).
    pub fn new(
        registry: Arc<dyn ImageRegistry>,
        store: Arc<dyn ImageStore>,
        store_id: impl Into<String>,
        quota: QuotaConfig,
    ) -> Result<Self> {
        quota.validate()?;
        Ok(Self {
            registry,
            store,
            store_id: store_id.into(),
            quota,
            clock: Arc::new(system_clock),
        })
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<dyn ImageRegistry> {
        &self.registry
    }

    async fn member_status(&self, id: &ImageId, caller: &Caller) -> Result<Option<MemberStatus>> {
        let Some(project) = &caller.project else {
            return Ok(None);
        };
        match self.registry.get_member(id, project).await {
            Ok(m) => Ok(Some(m.status)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a queued image owned by the caller's project. `Forbidden` to
    /// publicize without admin or without a project; `QuotaExceeded` over
    /// the tag or property quota; `AlreadyExists` for a taken id.
    pub async fn create(&self, caller: &Caller, req: CreateImage) -> Result<Image> {
        if caller.project.is_none() && !caller.is_admin {
            return Err(Error::forbidden("creating an image needs a project scope"));
        }
        let visibility = req.visibility.unwrap_or(Visibility::Shared);
        access::check_set_visibility(caller, visibility)?;
        self.quota.check_tags(req.tags.len())?;
        self.quota.check_properties(req.properties.len())?;
        let mut image = Image::new(
            req.id.unwrap_or_else(ImageId::new_v4),
            caller.project.clone(),
            (self.clock)(),
        );
        image.name = req.name;
        image.visibility = visibility;
        image.protected = req.protected;
        image.disk_format = req.disk_format;
        image.container_format = req.container_format;
        image.min_disk = req.min_disk;
        image.min_ram = req.min_ram;
        image.tags = req.tags;
        image.properties = req.properties;
        self.registry.create(&image).await?;
        Ok(image)
    }

    /// Shows an image; `NotFound` if deleted or invisible to the caller.
    pub async fn get(&self, caller: &Caller, id: &ImageId) -> Result<Image> {
        let image = self.registry.get(id).await?;
        access::check_read(&image, caller, self.member_status(id, caller).await?)?;
        Ok(image)
    }

    /// Uploads data: `queued -> saving -> active`, hashing while storing.
    /// `Conflict` unless the image is queued (or another upload started);
    /// on any failure of the data (stream error, size mismatch, size cap)
    /// the image returns to `queued` with no data and the error is returned.
    pub async fn upload(
        &self,
        caller: &Caller,
        id: &ImageId,
        data: ByteStream,
        opts: UploadOptions,
    ) -> Result<Image> {
        let image = self.registry.get(id).await?;
        access::check_modify(&image, caller, self.member_status(id, caller).await?)?;
        let mut saving = image.clone();
        saving.set_status(ImageStatus::Saving)?;
        saving.updated_at = (self.clock)();
        self.registry.update(&saving, ImageStatus::Queued).await?;

        let put_opts = PutOptions {
            expected_size: opts.expected_size,
            max_size: Some(self.quota.image_size_cap),
        };
        let stored = match self.store.put(id, data, put_opts).await {
            Ok(stored) => stored,
            Err(e) => {
                let mut queued = saving.clone();
                queued.set_status(ImageStatus::Queued)?;
                queued.clear_data();
                queued.updated_at = (self.clock)();
                // The image may have been deleted meanwhile; the upload error matters more.
                let _ = self.registry.update(&queued, ImageStatus::Saving).await;
                return Err(e);
            }
        };

        let mut active = saving;
        active.size = Some(stored.size);
        active.checksum = Some(stored.md5);
        active.os_hash_algo = Some(OS_HASH_ALGO.to_string());
        active.os_hash_value = Some(stored.sha512);
        active.locations = vec![ImageLocation {
            url: stored.location,
            store: self.store_id.clone(),
        }];
        active.set_status(ImageStatus::Active)?;
        active.updated_at = (self.clock)();
        if let Err(e) = self.registry.update(&active, ImageStatus::Saving).await {
            // Deleted or changed during the upload: the data has no owner.
            let _ = self.store.delete(id).await;
            return Err(e);
        }
        Ok(active)
    }

    /// Streams an image's data. `Forbidden` for a deactivated image unless
    /// admin; `NotFound` if the image has no data.
    pub async fn download(
        &self,
        caller: &Caller,
        id: &ImageId,
        opts: GetOptions,
    ) -> Result<ByteStream> {
        let image = self.registry.get(id).await?;
        access::check_download(&image, caller, self.member_status(id, caller).await?)?;
        if image.locations.is_empty() {
            return Err(Error::not_found(format!("data of image {id}")));
        }
        self.store.get(id, opts).await
    }

    /// Lists images as `caller` sees them (the registry applies the
    /// listing policy, filters and paging). `InvalidInput` for an unknown marker.
    pub async fn list(&self, caller: &Caller, opts: ListOptions) -> Result<Vec<Image>> {
        let opts = ListOptions {
            caller: Some(caller.clone()),
            ..opts
        };
        self.registry.list(&opts).await
    }

    /// Changes an image's metadata with `edit`, then applies policy:
    /// `Forbidden` for non-owners, for publicizing without admin, and for
    /// edits of read-only fields (id, status, owner, data fields);
    /// `QuotaExceeded` over the tag or property quota; `Conflict` if the
    /// status changed meanwhile.
    pub async fn modify<F>(&self, caller: &Caller, id: &ImageId, edit: F) -> Result<Image>
    where
        F: FnOnce(&mut Image) -> Result<()> + Send,
    {
        let image = self.registry.get(id).await?;
        access::check_modify(&image, caller, self.member_status(id, caller).await?)?;
        let mut changed = image.clone();
        edit(&mut changed)?;
        if changed.id != image.id
            || changed.status != image.status
            || changed.owner != image.owner
            || changed.size != image.size
            || changed.checksum != image.checksum
            || changed.os_hash_value != image.os_hash_value
            || changed.locations != image.locations
            || changed.created_at != image.created_at
        {
            return Err(Error::forbidden("attribute is read-only"));
        }
        if changed.visibility != image.visibility {
            access::check_set_visibility(caller, changed.visibility)?;
        }
        self.quota.check_tags(changed.tags.len())?;
        self.quota.check_properties(changed.properties.len())?;
        if changed == image {
            return Ok(image);
        }
        changed.updated_at = (self.clock)();
        self.registry.update(&changed, image.status).await?;
        Ok(changed)
    }

    /// Adds a tag (idempotent); policy and quota as [`Self::modify`].
    pub async fn add_tag(&self, caller: &Caller, id: &ImageId, tag: &str) -> Result<Image> {
        let tag = tag.to_string();
        self.modify(caller, id, move |img| {
            img.tags.insert(tag);
            Ok(())
        })
        .await
    }

    /// Removes a tag; `NotFound` if the image does not have it.
    pub async fn delete_tag(&self, caller: &Caller, id: &ImageId, tag: &str) -> Result<Image> {
        let tag = tag.to_string();
        self.modify(caller, id, move |img| {
            if img.tags.remove(&tag) {
                Ok(())
            } else {
                Err(Error::not_found(format!("tag {tag}")))
            }
        })
        .await
    }

    /// Deletes an image: the record becomes `deleted` and its data is
    /// removed. `Forbidden` for protected images or non-owners.
    pub async fn delete(&self, caller: &Caller, id: &ImageId) -> Result<()> {
        let image = self.registry.get(id).await?;
        access::check_delete(&image, caller, self.member_status(id, caller).await?)?;
        let mut deleted = image.clone();
        deleted.set_status(ImageStatus::Deleted)?;
        deleted.updated_at = (self.clock)();
        self.registry.update(&deleted, image.status).await?;
        match self.store.delete(id).await {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
