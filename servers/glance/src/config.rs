//! The server's TOML config file.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use glance_core::registry::Location;
use glance_core::service::ImportConfig;
use glance_core::store::{
    FsImageStore, FsImageStoreConfig, HttpImageStore, ImageStore, MemoryImageStore, S3ImageStore,
    S3StoreConfig, Stores, SwiftImageStore, SwiftStoreConfig,
};
use glance_core::QuotaConfig;
use serde::Deserialize;

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9292))
}

fn default_token_cache_secs() -> u64 {
    60
}

/// `glance-server --config FILE`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen address; `127.0.0.1:9292` by default.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// The SQLite registry file; an in-memory registry without it.
    pub sqlite_path: Option<PathBuf>,
    /// The registry location, overriding `sqlite_path`: `memory:`,
    /// `sqlite:PATH` or a path, or `postgres://user:password@host/db`.
    /// Its `Debug` hides the password.
    pub registry: Option<Location>,
    /// The filesystem store directory; an in-memory store without it.
    /// Shorthand for one file store `fs` in this directory, used when
    /// `[[stores]]` is empty; an in-memory store `memory` without either.
    pub store_dir: Option<PathBuf>,
    /// The image stores (`enabled_backends`); the one with
    /// `default = true`, else the first, is the default.
    #[serde(default)]
    pub stores: Vec<StoreConfig>,
    /// The staging directory of `glance-direct` imports
    /// (`os_glance_staging_store`); in memory without it.
    pub staging_dir: Option<PathBuf>,
    /// Per-image quotas.
    #[serde(default)]
    pub quota: QuotaConfig,
    /// Import methods and web-download filtering.
    #[serde(default)]
    pub import: ImportConfig,
    /// The base URL in version links; taken from `Host` without it.
    pub public_endpoint: Option<String>,
    /// The identity server validating `X-Auth-Token` (Keystone v3), e.g.
    /// `http://127.0.0.1:5000/v3`. Without it only `tokens` work.
    pub auth_url: Option<String>,
    /// Seconds a validated token is trusted without asking again.
    #[serde(default = "default_token_cache_secs")]
    pub token_cache_secs: u64,
    /// Development only: fixed tokens.
    #[serde(default)]
    pub tokens: Vec<StaticToken>,
}

/// One image store: `type` selects the backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum StoreConfig {
    /// A filesystem store (`file`): one file per image in `path`.
    File {
        /// The store id clients name in `X-Image-Meta-Store`.
        id: String,
        /// The directory.
        path: PathBuf,
        /// Whether this is the default store.
        #[serde(default)]
        default: bool,
        /// Shown in `/v2/info/stores`.
        description: Option<String>,
    },
    /// An in-memory store (`memory`), for tests and demos.
    Memory {
        /// The store id.
        id: String,
        /// Whether this is the default store.
        #[serde(default)]
        default: bool,
        /// Shown in `/v2/info/stores`.
        description: Option<String>,
    },
    /// A Swift store (`swift`): any Swift API, tempauth or Keystone, settings
    /// under `[stores.swift]`.
    Swift {
        /// The store id.
        id: String,
        /// Whether this is the default store.
        #[serde(default)]
        default: bool,
        /// Shown in `/v2/info/stores`.
        description: Option<String>,
        /// Auth, container and segmenting.
        swift: SwiftStoreConfig,
    },
    /// An S3 store (`s3`): SigV4, settings under `[stores.s3]`.
    S3 {
        /// The store id.
        id: String,
        /// Whether this is the default store.
        #[serde(default)]
        default: bool,
        /// Shown in `/v2/info/stores`.
        description: Option<String>,
        /// Endpoint, keys, bucket and multipart.
        s3: S3StoreConfig,
    },
    /// A read-only HTTP store (`http`) for images added by location.
    Http {
        /// The store id.
        id: String,
        /// Whether this is the default store.
        #[serde(default)]
        default: bool,
        /// Shown in `/v2/info/stores`.
        description: Option<String>,
    },
}

impl StoreConfig {
    /// The store id.
    pub fn id(&self) -> &str {
        match self {
            Self::File { id, .. }
            | Self::Memory { id, .. }
            | Self::Swift { id, .. }
            | Self::S3 { id, .. }
            | Self::Http { id, .. } => id,
        }
    }

    /// Whether it is marked default.
    pub fn is_default(&self) -> bool {
        match self {
            Self::File { default, .. }
            | Self::Memory { default, .. }
            | Self::Swift { default, .. }
            | Self::S3 { default, .. }
            | Self::Http { default, .. } => *default,
        }
    }

    /// Its description, if any.
    pub fn description(&self) -> Option<&str> {
        match self {
            Self::File { description, .. }
            | Self::Memory { description, .. }
            | Self::Swift { description, .. }
            | Self::S3 { description, .. }
            | Self::Http { description, .. } => description.as_deref(),
        }
    }

    /// Opens the store (blocking I/O: call at startup).
    pub fn open(&self) -> anyhow::Result<Arc<dyn ImageStore>> {
        Ok(match self {
            Self::File { path, id, .. } => Arc::new(
                FsImageStore::open(FsImageStoreConfig::new(path))
                    .with_context(|| format!("cannot open store {id} at {}", path.display()))?,
            ),
            Self::Memory { .. } => Arc::new(MemoryImageStore::new()),
            Self::Swift { id, swift, .. } => Arc::new(
                SwiftImageStore::new(swift.clone())
                    .with_context(|| format!("bad swift settings of store {id}"))?,
            ),
            Self::S3 { id, s3, .. } => Arc::new(
                S3ImageStore::new(s3.clone())
                    .with_context(|| format!("bad s3 settings of store {id}"))?,
            ),
            Self::Http { .. } => Arc::new(HttpImageStore::new()?),
        })
    }
}

/// Checks a store list: ids non-empty, unique and not Glance's reserved
/// `os_glance*`; at most one `default = true`.
pub fn validate_stores(stores: &[StoreConfig]) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for s in stores {
        if s.id().is_empty() || s.id().starts_with("os_glance") {
            bail!("bad store id {:?}", s.id());
        }
        if !seen.insert(s.id()) {
            bail!("store id {} appears twice", s.id());
        }
    }
    if stores.iter().filter(|s| s.is_default()).count() > 1 {
        bail!("more than one store has default = true");
    }
    Ok(())
}

/// Validates and opens `stores`; the default is the one marked `default`,
/// else the first. An empty list is an error.
pub fn open_stores(stores: &[StoreConfig]) -> anyhow::Result<Stores> {
    validate_stores(stores)?;
    let Some(first) = stores.first() else {
        bail!("at least one image store is needed");
    };
    let default = stores.iter().find(|s| s.is_default()).unwrap_or(first);
    let mut opened = Stores::new(default.id(), default.open()?);
    for s in stores.iter().filter(|s| s.id() != default.id()) {
        opened = opened.with(s.id(), s.open()?);
    }
    Ok(opened)
}

/// A fixed token and who it stands for (development only).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticToken {
    /// The token.
    pub token: String,
    /// Its project.
    pub project: String,
    /// Whether it has the admin role.
    #[serde(default)]
    pub admin: bool,
    /// Whether it has only the reader role.
    #[serde(default)]
    pub reader: bool,
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("project", &self.project)
            .field("admin", &self.admin)
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Parses a config file's text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let c: Self = toml::from_str(text)?;
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.quota.validate()?;
        validate_stores(&self.stores)
    }

    /// The configured stores, opened; the default is the one marked
    /// `default`, else the first.
    pub fn open_stores(&self) -> anyhow::Result<Stores> {
        if self.stores.is_empty() {
            return Ok(match &self.store_dir {
                Some(dir) => Stores::new(
                    "fs",
                    Arc::new(
                        FsImageStore::open(FsImageStoreConfig::new(dir))
                            .context("cannot open the store")?,
                    ),
                ),
                None => Stores::new("memory", Arc::new(MemoryImageStore::new())),
            });
        }
        open_stores(&self.stores)
    }

    /// The staging store of imports.
    pub fn open_staging(&self) -> anyhow::Result<Arc<dyn ImageStore>> {
        Ok(match &self.staging_dir {
            Some(dir) => Arc::new(
                FsImageStore::open(FsImageStoreConfig::new(dir))
                    .context("cannot open the staging dir")?,
            ),
            None => Arc::new(MemoryImageStore::new()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Config, Location};

    #[test]
    fn open_stores_checks_the_list() {
        use super::{open_stores, StoreConfig};
        let mem = |id: &str, default: bool| StoreConfig::Memory {
            id: id.into(),
            default,
            description: None,
        };
        assert!(open_stores(&[]).is_err());
        assert!(open_stores(&[mem("a", false), mem("a", false)]).is_err());
        assert!(open_stores(&[mem("a", true), mem("b", true)]).is_err());
        assert!(open_stores(&[mem("os_glance_staging_store", false)]).is_err());
        let s = open_stores(&[mem("a", false), mem("b", true)]).unwrap();
        assert_eq!(s.default_id(), "b");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn remote_store_types_parse_and_open() {
        let c = Config::parse(
            r#"
            [[stores]]
            id = "swift"
            type = "swift"
            default = true
            [stores.swift]
            container = "images"
            [stores.swift.auth]
            type = "keystone"
            auth_url = "http://127.0.0.1:5000/v3"
            user = "glance"
            password = "s3cret-pw"
            project = "service"
            [[stores]]
            id = "s3"
            type = "s3"
            [stores.s3]
            endpoint = "http://127.0.0.1:5055"
            access_key = "ak"
            secret_key = "s3cret-key"
            bucket = "images"
            [[stores]]
            id = "web"
            type = "http"
            "#,
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
        let stores = c.open_stores().unwrap();
        assert_eq!(stores.default_id(), "swift");
        assert_eq!(stores.len(), 3);
        assert!(stores.get("s3").is_some() && stores.get("web").is_some());
        assert!(Config::parse("[[stores]]\nid = \"x\"\ntype = \"swift\"\n").is_err());
    }

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c = Config::parse(
            "bind = \"127.0.0.1:0\"\n[[tokens]]\ntoken = \"s3cret\"\nproject = \"demo\"\n",
        )
        .unwrap();
        assert_eq!(c.tokens.len(), 1);
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(Config::parse("bogus = 1").is_err());
        let c = Config::parse("registry = \"postgres://g:s3cret@db/glance\"").unwrap();
        assert!(matches!(c.registry, Some(Location::Postgres(_))));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn stores_pick_the_default_and_reject_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[[stores]]\nid = \"a\"\ntype = \"memory\"\n\n[[stores]]\nid = \"b\"\ntype = \"file\"\npath = {:?}\ndefault = true\ndescription = \"disk\"\n",
            dir.path().display().to_string()
        );
        let c = Config::parse(&text).unwrap();
        let s = c.open_stores().unwrap();
        assert_eq!(s.default_id(), "b");
        assert_eq!(s.ids().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(c.stores[1].description(), Some("disk"));
        let s = Config::parse("").unwrap().open_stores().unwrap();
        assert_eq!(s.default_id(), "memory");
        assert!(Config::parse("[[stores]]\nid = \"a\"\ntype = \"tape\"\n").is_err());
        assert!(Config::parse("[[stores]]\nid = \"a\"\ntype = \"memory\"\ncolor = 1\n").is_err());
        assert!(Config::parse(
            "[[stores]]\nid = \"a\"\ntype = \"memory\"\n[[stores]]\nid = \"a\"\ntype = \"memory\"\n"
        )
        .is_err());
        let c = Config::parse(
            "[quota]\nimage_size_cap = 10\n[import]\nmethods = [\"glance-direct\"]\n",
        )
        .unwrap();
        assert_eq!(c.quota.image_size_cap, 10);
    }
}
