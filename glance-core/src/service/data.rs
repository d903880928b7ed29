//! Image data: upload (`PUT /file`), staging (`PUT /stage`) and download,
//! with rollback to `queued` on failure or cancellation.

use std::sync::{Arc, Mutex};

use super::ImageService;
use crate::error::{Error, Result};
use crate::image::access::{self, Caller};
use crate::image::inspect::{inspect_stream, Inspector};
use crate::image::{Image, ImageId, ImageLocation, ImageStatus, OS_HASH_ALGO};
use crate::registry::ImageRegistry;
use crate::store::{GetOptions, ImageStore, PutOptions, StoredImage};
use crate::stream::ByteStream;

/// Optional inputs of [`ImageService::upload`] and [`ImageService::stage`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UploadOptions {
    /// The declared size (`Content-Length` or `X-OpenStack-Image-Size`);
    /// a mismatch is `InvalidInput`.
    pub expected_size: Option<u64>,
    /// The store to write to (`X-Image-Meta-Store`); the default store
    /// without it. An unknown id is `InvalidInput`.
    pub store: Option<String>,
}

impl UploadOptions {
    /// Declares the size.
    pub fn expected_size(mut self, size: u64) -> Self {
        self.expected_size = Some(size);
        self
    }

    /// Names the target store.
    pub fn store(mut self, id: impl Into<String>) -> Self {
        self.store = Some(id.into());
        self
    }
}

/// Puts an image back to `queued` (no data) if dropped while armed: a
/// cancelled request (client gone) must not leave it `saving`. Also
/// removes data already written for it.
pub(super) struct Rollback {
    registry: Arc<dyn ImageRegistry>,
    image: Option<Image>,
    written: Vec<Arc<dyn ImageStore>>,
    now: u64,
}

impl Rollback {
    pub(super) fn arm(registry: Arc<dyn ImageRegistry>, image: &Image, now: u64) -> Self {
        Self {
            registry,
            image: Some(image.clone()),
            written: Vec::new(),
            now,
        }
    }

    /// Remembers that `store` holds data of the image now.
    pub(super) fn wrote(&mut self, store: Arc<dyn ImageStore>) {
        self.written.push(store);
    }

    /// Success: nothing to undo.
    pub(super) fn disarm(mut self) {
        self.image = None;
        self.written.clear();
    }

    /// Undoes now, applying `edit` to the queued image (e.g. to record a
    /// failed import).
    pub(super) async fn run(mut self, edit: impl FnOnce(&mut Image)) {
        if let Some(img) = self.image.take() {
            undo(
                self.registry.clone(),
                img,
                std::mem::take(&mut self.written),
                self.now,
                edit,
            )
            .await;
        }
    }
}

async fn undo(
    registry: Arc<dyn ImageRegistry>,
    in_flight: Image,
    written: Vec<Arc<dyn ImageStore>>,
    now: u64,
    edit: impl FnOnce(&mut Image),
) {
    for store in written {
        // Best effort: the image is about to have no location naming it.
        let _ = store.delete(&in_flight.id).await;
    }
    let mut queued = in_flight.clone();
    queued.status = ImageStatus::Queued;
    queued.clear_data();
    queued.updated_at = now;
    edit(&mut queued);
    // The image may have been deleted meanwhile; then there is nothing to restore.
    let _ = registry.update(&queued, in_flight.status).await;
}

impl Drop for Rollback {
    fn drop(&mut self) {
        let Some(img) = self.image.take() else {
            return;
        };
        let written = std::mem::take(&mut self.written);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let registry = self.registry.clone();
            rt.spawn(undo(registry, img, written, self.now, |_| {}));
        }
    }
}

impl ImageService {
    /// The store named `id`, or the default; `InvalidInput` for an unknown
    /// id, `Forbidden` for a read-only store.
    pub(super) fn target_store(&self, id: Option<&str>) -> Result<(String, Arc<dyn ImageStore>)> {
        let id = id.unwrap_or(self.stores.default_id());
        let store = self
            .stores
            .get(id)
            .ok_or_else(|| Error::invalid(format!("unknown store id {id:?}")))?;
        if !store.capabilities().write {
            return Err(Error::forbidden(format!("store {id} is read-only")));
        }
        Ok((id.to_owned(), store.clone()))
    }

    fn location_store(&self, loc: &ImageLocation) -> Result<Arc<dyn ImageStore>> {
        self.stores
            .get(&loc.store)
            .cloned()
            .ok_or_else(|| Error::Unavailable {
                reason: format!("store {} is not configured", loc.store),
            })
    }

    /// Removes the data of every location of `image`, best effort.
    pub(super) async fn delete_data(&self, image: &Image) {
        for loc in &image.locations {
            if let Ok(store) = self.location_store(loc) {
                // Missing data is fine; other failures leave litter, not wrong answers.
                let _ = store.delete(&image.id).await;
            }
        }
    }

    /// Writes `data` into `store`, inspecting the disk format on the way
    /// and enforcing the size cap. Returns what was stored and the virtual size.
    pub(super) async fn put_checked(
        &self,
        image: &Image,
        store: &dyn ImageStore,
        data: ByteStream,
        expected_size: Option<u64>,
    ) -> Result<(StoredImage, Option<u64>)> {
        let inspector = Arc::new(Mutex::new(Inspector::new(
            image.disk_format,
            image.container_format,
        )));
        let data = inspect_stream(data, inspector.clone());
        let opts = PutOptions {
            expected_size,
            max_size: Some(self.quota.image_size_cap),
        };
        let stored = store.put(&image.id, data, opts).await?;
        let vsize = inspector
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .virtual_size();
        Ok((stored, vsize))
    }

    /// Uploads data: `queued -> saving -> active`, hashing while storing,
    /// into the store named in `opts` or the default.
    ///
    /// `Conflict` unless the image is queued; `InvalidInput` for an unknown
    /// store or a size mismatch; `QuotaExceeded` past `image_size_cap`;
    /// `FormatMismatch` when the data is not in the declared disk format.
    /// On any failure, and when the returned future is dropped before it
    /// finishes, the image returns to `queued` and no data is left.
    pub async fn upload(
        &self,
        caller: &Caller,
        id: &ImageId,
        data: ByteStream,
        opts: UploadOptions,
    ) -> Result<Image> {
        let image = self.registry.get(id).await?;
        access::check_modify(&image, caller, self.member_status(id, caller).await?)?;
        let (store_id, store) = self.target_store(opts.store.as_deref())?;
        if let Some(size) = opts.expected_size {
            self.quota.check_size(size)?;
        }
        let mut saving = image.clone();
        saving.set_status(ImageStatus::Saving)?;
        saving.updated_at = self.now();
        self.registry.update(&saving, image.status).await?;
        let mut rollback = Rollback::arm(self.registry.clone(), &saving, self.now());

        let (stored, vsize) = match self
            .put_checked(&saving, store.as_ref(), data, opts.expected_size)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                rollback.run(|_| {}).await;
                return Err(e);
            }
        };
        rollback.wrote(store);

        let mut active = saving;
        active.size = Some(stored.size);
        active.virtual_size = vsize;
        active.checksum = Some(stored.md5);
        active.os_hash_algo = Some(OS_HASH_ALGO.to_string());
        active.os_hash_value = Some(stored.sha512);
        active.locations = vec![ImageLocation {
            url: stored.location,
            store: store_id,
        }];
        active.set_status(ImageStatus::Active)?;
        active.updated_at = self.now();
        if let Err(e) = self.registry.update(&active, ImageStatus::Saving).await {
            // Deleted or changed during the upload: the data has no owner.
            rollback.run(|_| {}).await;
            return Err(match e {
                Error::Conflict { .. } | Error::NotFound { .. } => {
                    Error::conflict(format!("image {id} was deleted during the upload"))
                }
                e => e,
            });
        }
        rollback.disarm();
        Ok(active)
    }

    /// Stages data for a `glance-direct` import: `queued -> uploading`,
    /// the data going to the staging store and `size` being set.
    /// `Conflict` unless queued; on failure or cancellation the image
    /// returns to `queued` with nothing staged.
    pub async fn stage(
        &self,
        caller: &Caller,
        id: &ImageId,
        data: ByteStream,
        opts: UploadOptions,
    ) -> Result<Image> {
        let image = self.registry.get(id).await?;
        access::check_modify(&image, caller, self.member_status(id, caller).await?)?;
        if let Some(size) = opts.expected_size {
            self.quota.check_size(size)?;
        }
        let mut uploading = image.clone();
        uploading.set_status(ImageStatus::Uploading)?;
        uploading.updated_at = self.now();
        self.registry.update(&uploading, image.status).await?;
        let mut rollback = Rollback::arm(self.registry.clone(), &uploading, self.now());
        // Leftovers of an earlier failed import.
        let _ = self.staging.delete(id).await;
        let put_opts = PutOptions {
            expected_size: opts.expected_size,
            max_size: Some(self.quota.image_size_cap),
        };
        let stored = match self.staging.put(id, data, put_opts).await {
            Ok(s) => s,
            Err(e) => {
                rollback.run(|_| {}).await;
                return Err(e);
            }
        };
        rollback.wrote(self.staging.clone());
        let mut staged = uploading;
        staged.size = Some(stored.size);
        staged.updated_at = self.now();
        if let Err(e) = self.registry.update(&staged, ImageStatus::Uploading).await {
            rollback.run(|_| {}).await;
            return Err(e);
        }
        rollback.disarm();
        Ok(staged)
    }

    /// Streams an image's data from the store of its location.
    /// `Forbidden` for a deactivated image unless admin; `NotFound` if the
    /// image has no data.
    pub async fn download(
        &self,
        caller: &Caller,
        id: &ImageId,
        opts: GetOptions,
    ) -> Result<ByteStream> {
        let image = self.registry.get(id).await?;
        access::check_download(&image, caller, self.member_status(id, caller).await?)?;
        let loc = image
            .locations
            .first()
            .ok_or_else(|| Error::not_found(format!("data of image {id}")))?;
        self.location_store(loc)?.get(id, opts).await
    }
}
