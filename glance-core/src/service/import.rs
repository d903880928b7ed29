//! Interoperable image import (`POST /v2/images/{id}/import`):
//! `glance-direct`, `web-download` and `copy-image`, run as a background
//! task like Glance's `api_image_import` task.

use std::sync::Arc;

use serde::Deserialize;

use super::ImageService;
use crate::error::{Error, Result};
use crate::image::access::{self, Caller};
use crate::image::{Image, ImageId, ImageLocation, ImageStatus, OS_HASH_ALGO};
use crate::import::{WebDownloadPolicy, WebUri};
use crate::store::{GetOptions, ImageStore, StoredImage};
use crate::stream::ByteStream;

/// The lock property held while an import runs.
pub const IMPORT_TASK_PROP: &str = "os_glance_import_task";
/// Stores an import still has to write.
pub const IMPORTING_TO_PROP: &str = "os_glance_importing_to_stores";
/// Stores an import failed to write.
pub const FAILED_IMPORT_PROP: &str = "os_glance_failed_import";

/// Import options.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    /// Enabled methods, in the order advertised (`enabled_import_methods`).
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// URI filtering for web-download.
    #[serde(default)]
    pub web_download: WebDownloadPolicy,
}

fn default_methods() -> Vec<String> {
    ["glance-direct", "web-download", "copy-image"]
        .map(String::from)
        .to_vec()
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            methods: default_methods(),
            web_download: WebDownloadPolicy::default(),
        }
    }
}

/// How an import gets its data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportMethod {
    /// From the staging store (`PUT /stage` first).
    GlanceDirect,
    /// Glance fetches `uri` itself.
    WebDownload {
        /// The URI to fetch.
        uri: String,
    },
    /// Copies an active image's data to more stores.
    CopyImage,
}

impl ImportMethod {
    /// The wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::GlanceDirect => "glance-direct",
            Self::WebDownload { .. } => "web-download",
            Self::CopyImage => "copy-image",
        }
    }
}

/// A `POST /import` body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImportRequest {
    /// The method.
    pub method: ImportMethod,
    /// Target stores; the default store when empty (and not `all_stores`).
    pub stores: Vec<String>,
    /// Every writable store.
    pub all_stores: bool,
    /// Fail (and roll back) if any store fails; else keep the successes.
    pub all_stores_must_succeed: bool,
}

impl ImportRequest {
    /// An import with `method` into the default store.
    pub fn new(method: ImportMethod) -> Self {
        Self {
            method,
            stores: Vec::new(),
            all_stores: false,
            all_stores_must_succeed: true,
        }
    }
}

/// A running import; dropping it leaves the task running.
#[derive(Debug)]
pub struct ImportTask {
    /// The task id (the value of `os_glance_import_task` while it runs).
    pub id: String,
    handle: tokio::task::JoinHandle<Result<Image>>,
}

impl ImportTask {
    /// Waits for the import to end: the active image, or the error that
    /// sent it back (the image then carries `os_glance_failed_import`).
    pub async fn wait(self) -> Result<Image> {
        self.handle
            .await
            .map_err(|e| Error::backend("import task", e))?
    }
}

enum Source {
    Staged,
    Web(WebUri),
    Copy(ImageLocation),
}

impl ImageService {
    /// The import methods available (enabled, and web-download only with
    /// a fetcher), for `OpenStack-image-import-methods` and `/v2/info/import`.
    pub fn import_methods(&self) -> Vec<&str> {
        self.import
            .methods
            .iter()
            .map(String::as_str)
            .filter(|m| match *m {
                "glance-direct" | "copy-image" => true,
                "web-download" => self.fetcher.is_some(),
                _ => false,
            })
            .collect()
    }

    fn import_targets(&self, image: &Image, req: &ImportRequest) -> Result<Vec<String>> {
        let held: Vec<&str> = image.locations.iter().map(|l| l.store.as_str()).collect();
        let ids: Vec<String> = if req.all_stores {
            self.stores
                .iter()
                .filter(|(id, s)| s.capabilities().write && !held.contains(id))
                .map(|(id, _)| id.to_owned())
                .collect()
        } else if req.stores.is_empty() {
            if req.method == ImportMethod::CopyImage {
                return Err(Error::invalid("copy-image needs target stores"));
            }
            vec![self.stores.default_id().to_owned()]
        } else {
            for id in &req.stores {
                self.target_store(Some(id))?;
            }
            req.stores.clone()
        };
        if ids.is_empty() {
            return Err(Error::invalid("no store to import to"));
        }
        if req.method == ImportMethod::CopyImage {
            if let Some(id) = ids.iter().find(|id| held.contains(&id.as_str())) {
                return Err(Error::conflict(format!(
                    "image {} is already in store {id}",
                    image.id
                )));
            }
        }
        Ok(ids)
    }

    /// Starts importing image `id`. Checks run now: the method is
    /// available (`InvalidInput`), disk and container formats are set,
    /// no import runs already, and the status fits the method
    /// (`Conflict`: glance-direct needs `uploading` (staged),
    /// web-download `queued`, copy-image `active`); the URI passes the
    /// web-download filter (`InvalidInput`). The image becomes
    /// `importing` (copy-image: stays active) and the work goes on in the
    /// background; on failure the image returns to `queued` with
    /// `os_glance_failed_import` naming the stores.
    pub async fn import(
        &self,
        caller: &Caller,
        id: &ImageId,
        req: ImportRequest,
    ) -> Result<ImportTask> {
        let image = self.registry.get(id).await?;
        access::check_modify(&image, caller, self.member_status(id, caller).await?)?;
        let method = req.method.name();
        if !self.import_methods().contains(&method) {
            return Err(Error::invalid(format!(
                "import method {method} is not supported"
            )));
        }
        if image.disk_format.is_none() || image.container_format.is_none() {
            return Err(Error::conflict(
                "disk_format and container_format must be set before import",
            ));
        }
        if image.properties.contains_key(IMPORT_TASK_PROP) {
            return Err(Error::conflict(format!(
                "image {id} has an import in progress"
            )));
        }
        let source = match &req.method {
            ImportMethod::GlanceDirect => match image.status {
                ImageStatus::Uploading => Source::Staged,
                ImageStatus::Queued => {
                    return Err(Error::conflict(format!("image {id} needs to be staged")))
                }
                s => return Err(Error::conflict(format!("image {id} is {s}; cannot import"))),
            },
            ImportMethod::WebDownload { uri } => {
                if image.status != ImageStatus::Queued {
                    return Err(Error::conflict(format!(
                        "image {id} is {}; web-download needs queued",
                        image.status
                    )));
                }
                Source::Web(self.import.web_download.check_uri(uri)?)
            }
            ImportMethod::CopyImage => {
                let loc = image
                    .locations
                    .first()
                    .filter(|_| image.status == ImageStatus::Active);
                Source::Copy(loc.cloned().ok_or_else(|| {
                    Error::conflict(format!(
                        "image {id} is {}; copy-image needs active",
                        image.status
                    ))
                })?)
            }
        };
        let targets = self.import_targets(&image, &req)?;
        let task_id = uuid::Uuid::new_v4().to_string();
        let mut importing = image.clone();
        if !matches!(source, Source::Copy(_)) {
            importing.set_status(ImageStatus::Importing)?;
        }
        importing
            .properties
            .insert(IMPORT_TASK_PROP.into(), task_id.clone());
        importing
            .properties
            .insert(IMPORTING_TO_PROP.into(), targets.join(","));
        importing
            .properties
            .insert(FAILED_IMPORT_PROP.into(), String::new());
        importing.updated_at = self.now();
        self.registry.update(&importing, image.status).await?;
        let svc = self.clone();
        let must = req.all_stores_must_succeed;
        let handle =
            tokio::spawn(async move { svc.run_import(importing, source, targets, must).await });
        Ok(ImportTask {
            id: task_id,
            handle,
        })
    }

    async fn open_source(&self, image: &Image, source: &Source) -> Result<ByteStream> {
        match source {
            Source::Staged => self.staging.get(&image.id, GetOptions::default()).await,
            Source::Web(uri) => {
                let fetcher = self
                    .fetcher
                    .as_ref()
                    .ok_or_else(|| Error::invalid("web-download is not enabled"))?;
                fetcher.fetch(uri, &self.import.web_download).await
            }
            Source::Copy(loc) => {
                let store = self
                    .stores
                    .get(&loc.store)
                    .ok_or_else(|| Error::Unavailable {
                        reason: format!("store {} is not configured", loc.store),
                    })?;
                store.get(&image.id, GetOptions::default()).await
            }
        }
    }

    /// Writes the data to every target: the first from the source, the
    /// others copied from the first. Returns the successes and failures.
    async fn write_targets(
        &self,
        image: &Image,
        source: &Source,
        targets: &[String],
    ) -> (
        Vec<(String, Arc<dyn ImageStore>, StoredImage, Option<u64>)>,
        Vec<String>,
        Option<Error>,
    ) {
        let mut done = Vec::new();
        let mut failed = Vec::new();
        let mut first_err = None;
        for id in targets {
            let r = async {
                let (_, store) = self.target_store(Some(id))?;
                let data = match done.first() {
                    None => self.open_source(image, source).await?,
                    Some((_, s, _, _)) => {
                        let s: &Arc<dyn ImageStore> = s;
                        s.get(&image.id, GetOptions::default()).await?
                    }
                };
                let (stored, vsize) = self.put_checked(image, store.as_ref(), data, None).await?;
                Ok::<_, Error>((store, stored, vsize))
            }
            .await;
            match r {
                Ok((store, stored, vsize)) => done.push((id.clone(), store, stored, vsize)),
                Err(e) => {
                    failed.push(id.clone());
                    first_err.get_or_insert(e);
                }
            }
        }
        (done, failed, first_err)
    }

    async fn run_import(
        &self,
        image: Image,
        source: Source,
        targets: Vec<String>,
        must_succeed: bool,
    ) -> Result<Image> {
        let (mut done, mut failed, err) = self.write_targets(&image, &source, &targets).await;
        if !failed.is_empty() && must_succeed {
            for (id, store, _, _) in done.drain(..) {
                let _ = store.delete(&image.id).await;
                failed.push(id);
            }
        }
        let mut out = image.clone();
        out.properties.remove(IMPORT_TASK_PROP);
        out.properties
            .insert(IMPORTING_TO_PROP.into(), String::new());
        out.properties
            .insert(FAILED_IMPORT_PROP.into(), failed.join(","));
        out.updated_at = self.now();
        let copying = matches!(source, Source::Copy(_));
        if done.is_empty() && !copying {
            out.status = ImageStatus::Queued;
            out.clear_data();
        } else {
            if let Some((_, _, stored, vsize)) = done.first() {
                if !copying {
                    out.size = Some(stored.size);
                    out.virtual_size = *vsize;
                    out.checksum = Some(stored.md5.clone());
                    out.os_hash_algo = Some(OS_HASH_ALGO.to_string());
                    out.os_hash_value = Some(stored.sha512.clone());
                    out.status = ImageStatus::Active;
                }
            }
            for (id, _, stored, _) in &done {
                out.locations.push(ImageLocation {
                    url: stored.location.clone(),
                    store: id.clone(),
                });
            }
        }
        if !copying {
            // Staged data is consumed (or useless) either way.
            let _ = self.staging.delete(&image.id).await;
        }
        if let Err(e) = self.registry.update(&out, image.status).await {
            for (_, store, _, _) in &done {
                let _ = store.delete(&image.id).await;
            }
            return Err(e);
        }
        match err {
            Some(e) if out.status != ImageStatus::Active || must_succeed => Err(e),
            _ => Ok(out),
        }
    }
}
