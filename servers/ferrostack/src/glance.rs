//! The image part of `ferrostack up`: the Images API v2 on port 9292 with a
//! SQLite registry, a filesystem store under the data dir and a store in the
//! cloud's own Swift, authenticating callers through the in-process identity
//! service.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use glance_core::import::ReqwestWebFetcher;
use glance_core::registry::Location;
use glance_core::store::{
    FsImageStore, FsImageStoreConfig, ImageStore, Secret, SwiftAuthConfig, SwiftStoreConfig,
};
use glance_core::{ImageService, QuotaConfig};
use glance_server::config::StoreConfig;
use glance_server::{AppState, KeystoneAuthenticator};
use identity_core::IdentityService;

use crate::config::GlanceUpConfig;
use crate::up::Service;

/// The admin's credentials, for the default Swift image store.
#[derive(Clone)]
pub(crate) struct SwiftStoreAuth {
    pub(crate) identity_url: String,
    pub(crate) admin_password: String,
    pub(crate) region: String,
}

/// `fs` in `dir` (the default) and `swift`, this cloud's own Swift reached
/// through the admin's Keystone token (objects in the admin project's
/// account, container `glance`).
fn default_stores(dir: &Path, swift: &SwiftStoreAuth) -> Vec<StoreConfig> {
    let auth = SwiftAuthConfig::Keystone {
        auth_url: swift.identity_url.clone(),
        user: "admin".into(),
        password: Secret::new(swift.admin_password.clone()),
        project: "admin".into(),
        user_domain: "Default".into(),
        project_domain: "Default".into(),
        region: Some(swift.region.clone()),
        interface: "public".into(),
    };
    vec![
        StoreConfig::File {
            id: "fs".into(),
            path: dir.to_path_buf(),
            default: true,
            description: Some("local filesystem".into()),
        },
        StoreConfig::Swift {
            id: "swift".into(),
            default: false,
            description: Some("this cloud's Swift".into()),
            swift: SwiftStoreConfig::new(auth),
        },
    ]
}

/// The Glance app state: registry, stores and authenticator.
pub(crate) async fn build(
    cfg: &GlanceUpConfig,
    dir: &Path,
    identity: Arc<IdentityService>,
    swift: &SwiftStoreAuth,
) -> anyhow::Result<AppState> {
    let root = dir.join("glance");
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let location = cfg
        .registry
        .clone()
        .unwrap_or_else(|| Location::Sqlite(root.join("registry.db")));
    let registry = glance_core::registry::open_location(&location)
        .await
        .with_context(|| format!("opening image registry {location}"))?;
    let configured = if cfg.stores.is_empty() {
        let store_dir = cfg.store_dir.clone().unwrap_or_else(|| root.join("images"));
        default_stores(&store_dir, swift)
    } else {
        cfg.stores.clone()
    };
    let stores = glance_server::config::open_stores(&configured).context("glance stores")?;
    let staging_dir = root.join("staging");
    let staging: Arc<dyn ImageStore> = Arc::new(
        FsImageStore::open(FsImageStoreConfig::new(&staging_dir))
            .with_context(|| format!("opening staging dir {}", staging_dir.display()))?,
    );
    let service = ImageService::new(registry, stores, QuotaConfig::default())
        .context("invalid image service settings")?
        .with_staging(staging)
        .with_web_fetcher(Arc::new(ReqwestWebFetcher::new()));
    let auth = KeystoneAuthenticator::new(identity);
    Ok(AppState::new(Arc::new(service), Arc::new(auth)).with_auth_url(&swift.identity_url))
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
