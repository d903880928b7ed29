//! [`ImageService`]: the image operations of the Images API on top of a
//! registry and a store, with policy, quotas and the status machine applied.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::image::access::{self, Caller};
use crate::image::{
    ContainerFormat, DiskFormat, Image, ImageId, ImageStatus, MemberStatus, Visibility,
};
use crate::import::WebFetcher;
use crate::quota::QuotaConfig;
use crate::registry::{ImageRegistry, ListOptions};
use crate::store::{ImageStore, MemoryImageStore, Stores};

mod data;
mod import;
mod members;

pub use data::UploadOptions;
pub use import::{
    ImportConfig, ImportMethod, ImportRequest, ImportTask, FAILED_IMPORT_PROP, IMPORTING_TO_PROP,
    IMPORT_TASK_PROP,
};

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
    /// Left out of default lists.
    pub os_hidden: bool,
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

/// Image operations with policy, quotas and lifecycle applied.
#[derive(Clone)]
pub struct ImageService {
    registry: Arc<dyn ImageRegistry>,
    stores: Stores,
    staging: Arc<dyn ImageStore>,
    quota: QuotaConfig,
    import: ImportConfig,
    fetcher: Option<Arc<dyn WebFetcher>>,
    clock: Clock,
}

impl fmt::Debug for ImageService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageService")
            .field("registry", &self.registry)
            .field("stores", &self.stores)
            .field("staging", &self.staging)
            .field("quota", &self.quota)
            .field("import", &self.import)
            .field("fetcher", &self.fetcher)
            .finish_non_exhaustive()
    }
}

impl ImageService {
    /// A service over `registry` and `stores`, checking `quota` (validated
    /// here). Staged data (`PUT /stage`) goes to an in-memory store until
    /// [`Self::with_staging`] names another; web-download is off until
    /// [`Self::with_web_fetcher`].
    pub fn new(
        registry: Arc<dyn ImageRegistry>,
        stores: Stores,
        quota: QuotaConfig,
    ) -> Result<Self> {
        quota.validate()?;
        Ok(Self {
            registry,
            stores,
            staging: Arc::new(MemoryImageStore::new()),
            quota,
            import: ImportConfig::default(),
            fetcher: None,
            clock: Arc::new(system_clock),
        })
    }

    /// Sets the staging store (Glance's `os_glance_staging_store`, a file dir).
    pub fn with_staging(mut self, staging: Arc<dyn ImageStore>) -> Self {
        self.staging = staging;
        self
    }

    /// Sets the import options (methods, web-download filtering).
    pub fn with_import_config(mut self, config: ImportConfig) -> Self {
        self.import = config;
        self
    }

    /// Enables web-download with `fetcher` fetching the URIs.
    pub fn with_web_fetcher(mut self, fetcher: Arc<dyn WebFetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// The image stores.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The quotas.
    pub fn quota(&self) -> &QuotaConfig {
        &self.quota
    }

    fn now(&self) -> u64 {
        (self.clock)()
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
        access::check_write(caller)?;
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
            self.now(),
        );
        image.name = req.name;
        image.visibility = visibility;
        image.protected = req.protected;
        image.os_hidden = req.os_hidden;
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
        let reserved = |img: &Image| {
            img.properties
                .iter()
                .filter(|(k, _)| k.starts_with("os_glance"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        if reserved(&changed) != reserved(&image) {
            return Err(Error::forbidden(
                "attribute names starting os_glance are reserved",
            ));
        }
        if changed.visibility != image.visibility {
            access::check_set_visibility(caller, changed.visibility)?;
        }
        self.quota.check_tags(changed.tags.len())?;
        self.quota.check_properties(changed.properties.len())?;
        if changed == image {
            return Ok(image);
        }
        changed.updated_at = self.now();
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
        deleted.updated_at = self.now();
        self.registry.update(&deleted, image.status).await?;
        self.delete_data(&image).await;
        // Staged data of an image deleted before its import.
        let _ = self.staging.delete(id).await;
        Ok(())
    }

    /// `POST /actions/deactivate`: active -> deactivated; a no-op when
    /// already deactivated; `Forbidden` from any other status.
    pub async fn deactivate(&self, caller: &Caller, id: &ImageId) -> Result<Image> {
        self.flip(caller, id, ImageStatus::Active, ImageStatus::Deactivated)
            .await
    }

    /// `POST /actions/reactivate`: deactivated -> active; a no-op when
    /// already active; `Forbidden` from any other status.
    pub async fn reactivate(&self, caller: &Caller, id: &ImageId) -> Result<Image> {
        self.flip(caller, id, ImageStatus::Deactivated, ImageStatus::Active)
            .await
    }

    async fn flip(
        &self,
        caller: &Caller,
        id: &ImageId,
        from: ImageStatus,
        to: ImageStatus,
    ) -> Result<Image> {
        let image = self.registry.get(id).await?;
        access::check_modify(&image, caller, self.member_status(id, caller).await?)?;
        if image.status == to {
            return Ok(image);
        }
        if image.status != from {
            return Err(Error::forbidden(format!(
                "image {id} is {}; only {from} images can become {to}",
                image.status
            )));
        }
        let mut changed = image.clone();
        changed.set_status(to)?;
        changed.updated_at = self.now();
        self.registry.update(&changed, from).await?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_data;
#[cfg(test)]
mod tests_import;
#[cfg(test)]
mod tests_members;
