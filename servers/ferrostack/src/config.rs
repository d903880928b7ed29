//! `ferrostack up --config FILE`: optional TOML overriding the embedded
//! defaults (ports, tempauth users, the proxy's settings).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use glance_server::config::StoreConfig;
use identity_core::backend::Location;
use serde::Deserialize;
use swift_core::proxy::ProxyConfig;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpConfig {
    /// The Swift cluster.
    #[serde(default)]
    pub(crate) swift: SwiftUpConfig,
    /// The identity service.
    #[serde(default)]
    pub(crate) identity: IdentityUpConfig,
    /// The image service.
    #[serde(default)]
    pub(crate) glance: GlanceUpConfig,
    /// The compute service (with its Block Storage and Networking APIs).
    #[serde(default)]
    pub(crate) nova: NovaUpConfig,
}

/// `[nova]`: the Compute v2.1, Block Storage v3 and Networking v2.0 APIs
/// over the embedded nova stack.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NovaUpConfig {
    /// Compute API listen address (port 0: any free port).
    #[serde(default = "default_compute_bind")]
    pub(crate) compute_bind: SocketAddr,
    /// Block Storage API listen address.
    #[serde(default = "default_volume_bind")]
    pub(crate) volume_bind: SocketAddr,
    /// Networking API listen address.
    #[serde(default = "default_network_bind")]
    pub(crate) network_bind: SocketAddr,
    /// EC2 query API listen address.
    #[serde(default = "default_ec2_bind")]
    pub(crate) ec2_bind: SocketAddr,
    /// The nova database: `sqlite:PATH`, a path, `memory:`, or a
    /// `postgres://` URL; `DIR/nova.db` when absent.
    #[serde(default)]
    pub(crate) database: Option<nova_core::db::Location>,
    /// Hypervisor driver of the compute hosts: `fake`.
    #[serde(default = "default_driver")]
    pub(crate) driver: String,
    /// How many compute hosts to run (`compute-1`, `compute-2`, ...).
    #[serde(default = "default_hosts")]
    pub(crate) hosts: usize,
}

impl Default for NovaUpConfig {
    fn default() -> Self {
        Self {
            compute_bind: default_compute_bind(),
            volume_bind: default_volume_bind(),
            network_bind: default_network_bind(),
            ec2_bind: default_ec2_bind(),
            database: None,
            driver: default_driver(),
            hosts: default_hosts(),
        }
    }
}

fn default_compute_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8774))
}
fn default_volume_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8776))
}
fn default_network_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9696))
}
fn default_ec2_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8773))
}
fn default_driver() -> String {
    "fake".into()
}
fn default_hosts() -> usize {
    2
}

/// `[identity]`: the Keystone v3 server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentityUpConfig {
    /// Listen address (port 0: any free port).
    #[serde(default = "default_identity_bind")]
    pub(crate) bind: SocketAddr,
    /// The identity database: `sqlite:PATH`, a path, or
    /// `postgres://user:password@host/db`; `DIR/identity.db` when absent.
    #[serde(default)]
    pub(crate) database: Option<Location>,
    /// Token lifetime in seconds.
    #[serde(default = "default_token_ttl")]
    pub(crate) token_ttl_secs: u64,
    /// Region of every catalog endpoint.
    #[serde(default = "default_region")]
    pub(crate) region: String,
    /// More users to create at startup (tests and demos), each with a
    /// project of its own.
    #[serde(default)]
    pub(crate) users: Vec<ExtraUser>,
}

/// `[[identity.users]]`: a user with a password and roles on a project
/// (created if missing; the password is reset on every start).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtraUser {
    /// The user name (domain `Default`).
    pub(crate) name: String,
    /// The password.
    pub(crate) password: String,
    /// The project name (domain `Default`).
    pub(crate) project: String,
    /// Role names on the project.
    #[serde(default = "default_roles")]
    pub(crate) roles: Vec<String>,
}

impl std::fmt::Debug for ExtraUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraUser")
            .field("name", &self.name)
            .field("project", &self.project)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

fn default_roles() -> Vec<String> {
    vec!["member".into()]
}

impl Default for IdentityUpConfig {
    fn default() -> Self {
        Self {
            bind: default_identity_bind(),
            database: None,
            token_ttl_secs: default_token_ttl(),
            region: default_region(),
            users: Vec::new(),
        }
    }
}

/// `[glance]`: the Images API v2 server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GlanceUpConfig {
    /// Listen address (port 0: any free port).
    #[serde(default = "default_glance_bind")]
    pub(crate) bind: SocketAddr,
    /// The image registry: `sqlite:PATH`, a path, or a `postgres://` URL;
    /// `DIR/glance/registry.db` when absent.
    #[serde(default)]
    pub(crate) registry: Option<Location>,
    /// The filesystem store's directory when `stores` is empty;
    /// `DIR/glance/images` when absent.
    #[serde(default)]
    pub(crate) store_dir: Option<PathBuf>,
    /// The image stores (`[[glance.stores]]`, as in glance-server). When
    /// empty: `fs` (default, in `store_dir`) and `swift` (this cloud's Swift,
    /// through the admin's Keystone token).
    #[serde(default)]
    pub(crate) stores: Vec<StoreConfig>,
}

impl Default for GlanceUpConfig {
    fn default() -> Self {
        Self {
            bind: default_glance_bind(),
            registry: None,
            store_dir: None,
            stores: Vec::new(),
        }
    }
}

fn default_identity_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5000))
}
fn default_glance_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9292))
}
fn default_token_ttl() -> u64 {
    3600
}
fn default_region() -> String {
    "RegionOne".into()
}

/// `[swift]`: the proxy and the three storage nodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SwiftUpConfig {
    /// The proxy's address (port 0: any free port).
    #[serde(default = "default_proxy_bind")]
    pub(crate) proxy_bind: SocketAddr,
    /// One address per storage node, at least three (port 0: any free port).
    #[serde(default = "default_storage_binds")]
    pub(crate) storage_binds: Vec<SocketAddr>,
    /// fsync data before acknowledging writes.
    #[serde(default = "default_true")]
    pub(crate) fsync: bool,
    /// Seconds between container-updater passes.
    #[serde(default = "default_interval")]
    pub(crate) updater_interval_secs: u64,
    /// Seconds between async-pending retry passes.
    #[serde(default = "default_interval")]
    pub(crate) async_pending_interval_secs: u64,
    /// Replicators, auditors and ring reloading of every storage node
    /// (`[swift.daemons]`).
    #[serde(default)]
    pub(crate) daemons: swift_server::daemons::DaemonSettings,
    /// memcached servers (`host:port`) for the proxy's cache; empty (the
    /// default) caches in memory.
    #[serde(default)]
    pub(crate) memcache_servers: Vec<String>,
    /// The core proxy's settings (`[swift.proxy]`, with
    /// `[[swift.proxy.tempauth.users]]`). When absent: account auto-create
    /// on and one user `admin:admin` with a generated key.
    #[serde(default)]
    pub(crate) proxy: Option<ProxyConfig>,
}

impl Default for SwiftUpConfig {
    fn default() -> Self {
        Self {
            proxy_bind: default_proxy_bind(),
            storage_binds: default_storage_binds(),
            fsync: true,
            updater_interval_secs: default_interval(),
            async_pending_interval_secs: default_interval(),
            daemons: Default::default(),
            memcache_servers: Vec::new(),
            proxy: None,
        }
    }
}

fn default_proxy_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_storage_binds() -> Vec<SocketAddr> {
    (6201..=6203)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
        .collect()
}
fn default_true() -> bool {
    true
}
fn default_interval() -> u64 {
    30
}

impl UpConfig {
    /// Reads and validates `path`, or the embedded defaults when `None`.
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let cfg = match path {
            None => Self::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing config {}", p.display()))?
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        let s = &self.swift;
        if s.storage_binds.len() < 3 {
            bail!("swift.storage_binds needs at least 3 addresses (3 replicas)");
        }
        let n = &self.nova;
        let others = [
            &s.proxy_bind,
            &self.identity.bind,
            &self.glance.bind,
            &n.compute_bind,
            &n.volume_bind,
            &n.network_bind,
            &n.ec2_bind,
        ];
        for a in s.storage_binds.iter().chain(others) {
            if !a.ip().is_loopback() {
                bail!("{a}: ferrostack up only listens on loopback addresses");
            }
        }
        if s.updater_interval_secs == 0 || s.async_pending_interval_secs == 0 {
            bail!("swift intervals must be at least 1 second");
        }
        if self.identity.token_ttl_secs < 60 {
            bail!("identity.token_ttl_secs must be at least 60");
        }
        if self.identity.region.is_empty() {
            bail!("identity.region must not be empty");
        }
        if n.driver != "fake" {
            bail!(
                "nova.driver {:?} is not available (only \"fake\")",
                n.driver
            );
        }
        if n.hosts == 0 || n.hosts > 64 {
            bail!("nova.hosts must be between 1 and 64");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ports() {
        let cfg = UpConfig::load(None).unwrap();
        assert_eq!(cfg.swift.proxy_bind.port(), 8080);
        let ports: Vec<u16> = cfg.swift.storage_binds.iter().map(|a| a.port()).collect();
        assert_eq!(ports, vec![6201, 6202, 6203]);
        assert!(cfg.swift.proxy.is_none());
        assert!(cfg.swift.memcache_servers.is_empty());
        assert!(cfg.swift.daemons.enabled);
        assert_eq!(cfg.identity.bind.port(), 5000);
        assert_eq!(cfg.glance.bind.port(), 9292);
        assert_eq!(cfg.identity.region, "RegionOne");
    }

    #[test]
    fn file_overrides_ports_and_users() {
        let text = r#"
            [swift]
            proxy_bind = "127.0.0.1:0"
            storage_binds = ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"]
            memcache_servers = ["127.0.0.1:11211"]
            [swift.daemons]
            container_replicator_secs = 5
            account_auditor_secs = 0
            [swift.proxy]
            account_autocreate = true
            [[swift.proxy.tempauth.users]]
            account = "test"
            user = "tester"
            key = "testing"
            groups = [".admin"]
        "#;
        let cfg: UpConfig = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.swift.proxy_bind.port(), 0);
        assert_eq!(cfg.swift.memcache_servers, ["127.0.0.1:11211"]);
        assert_eq!(cfg.swift.daemons.container_replicator_secs, 5);
        assert_eq!(cfg.swift.daemons.account_auditor_secs, 0);
        let proxy = cfg.swift.proxy.unwrap();
        assert_eq!(proxy.tempauth.users[0].user, "tester");
    }

    #[test]
    fn deploy_example_is_valid() {
        let text = include_str!("../../../deploy/ferrostack-up.toml");
        let cfg: UpConfig = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.swift.storage_binds.len(), 3);
        assert!(cfg.swift.proxy.is_some());
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(toml::from_str::<UpConfig>("[swift]\nbogus = 1\n").is_err());
        let cfg: UpConfig = toml::from_str("[swift]\nstorage_binds = [\"127.0.0.1:1\"]\n").unwrap();
        assert!(cfg.validate().is_err());
        let cfg: UpConfig = toml::from_str("[swift]\nproxy_bind = \"0.0.0.0:8080\"\n").unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("loopback"));
        let cfg: UpConfig = toml::from_str("[glance]\nbind = \"10.0.0.1:9292\"\n").unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("loopback"));
        let cfg: UpConfig = toml::from_str("[identity]\ntoken_ttl_secs = 5\n").unwrap();
        assert!(cfg.validate().is_err());
        assert!(toml::from_str::<UpConfig>("[identity]\nbogus = 1\n").is_err());
        let cfg: UpConfig = toml::from_str("[nova]\ndriver = \"libvirt\"\n").unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("fake"));
        let cfg: UpConfig = toml::from_str("[nova]\nhosts = 0\n").unwrap();
        assert!(cfg.validate().is_err());
        let cfg: UpConfig = toml::from_str("[nova]\nvolume_bind = \"10.0.0.1:8776\"\n").unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("loopback"));
    }

    #[test]
    fn nova_defaults_and_overrides() {
        let cfg = UpConfig::load(None).unwrap();
        let ports = [
            cfg.nova.compute_bind,
            cfg.nova.volume_bind,
            cfg.nova.network_bind,
        ];
        assert_eq!(ports.map(|a| a.port()), [8774, 8776, 9696]);
        assert_eq!((cfg.nova.driver.as_str(), cfg.nova.hosts), ("fake", 2));
        assert!(cfg.nova.database.is_none());
        let text = "[nova]\ncompute_bind = \"127.0.0.1:0\"\nhosts = 3\ndatabase = \"memory:\"\n";
        let cfg: UpConfig = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        assert_eq!((cfg.nova.compute_bind.port(), cfg.nova.hosts), (0, 3));
        assert!(cfg.nova.database.is_some());
    }
}
