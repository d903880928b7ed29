//! The image part of `ferrostack up`: the Images API v2 on port 9292 with a
//! SQLite registry and a filesystem store under the data dir, authenticating
//! callers through the in-process identity service.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use glance_core::import::ReqwestWebFetcher;
use glance_core::registry::{ImageRegistry, SqliteImageRegistry};
use glance_core::store::{FsImageStore, FsImageStoreConfig, ImageStore, Stores};
use glance_core::{ImageService, QuotaConfig};
use glance_server::{AppState, KeystoneAuthenticator};
use identity_core::IdentityService;

use crate::config::GlanceUpConfig;
use crate::up::Service;

/// The Glance app state: registry, store and authenticator.
pub(crate) fn build(
    cfg: &GlanceUpConfig,
    dir: &Path,
    identity: Arc<IdentityService>,
    identity_url: &str,
) -> anyhow::Result<AppState> {
    let root = dir.join("glance");
    let registry_path = cfg
        .registry
        .clone()
        .unwrap_or_else(|| root.join("registry.db"));
    if let Some(parent) = registry_path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let registry: Arc<dyn ImageRegistry> = Arc::new(
        SqliteImageRegistry::open(&registry_path)
            .with_context(|| format!("opening image registry {}", registry_path.display()))?,
    );
    let store_dir = cfg.store_dir.clone().unwrap_or_else(|| root.join("images"));
    let store: Arc<dyn ImageStore> = Arc::new(
        FsImageStore::open(FsImageStoreConfig::new(&store_dir))
            .with_context(|| format!("opening image store {}", store_dir.display()))?,
    );
    let staging_dir = root.join("staging");
    let staging: Arc<dyn ImageStore> = Arc::new(
        FsImageStore::open(FsImageStoreConfig::new(&staging_dir))
            .with_context(|| format!("opening staging dir {}", staging_dir.display()))?,
    );
    let service = ImageService::new(registry, Stores::new("fs", store), QuotaConfig::default())
        .context("invalid image service settings")?
        .with_staging(staging)
        .with_web_fetcher(Arc::new(ReqwestWebFetcher::new()));
    let auth = KeystoneAuthenticator::new(identity);
    Ok(AppState::new(Arc::new(service), Arc::new(auth)).with_auth_url(identity_url))
}

/// The image service once it listens.
#[derive(Debug)]
pub(crate) struct GlanceUp {
    pub(crate) url: String,
}

impl Service for GlanceUp {
    fn name(&self) -> &str {
        "image"
    }

    fn endpoints(&self) -> Vec<(String, String)> {
        vec![("image (glance v2)".into(), self.url.clone())]
    }

    fn openrc_vars(&self) -> Vec<(String, String)> {
        vec![("OS_IMAGE_API_VERSION".into(), "2".into())]
    }
}
