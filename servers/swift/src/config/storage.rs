//! The storage node's configuration (`swift-storage --config FILE`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;
use swift_core::node::NodeConfig;

use super::{
    apply_common_env, parse_bool, parse_u64, read_toml, EnvLookup, HashSettings, RingPaths,
};

/// One storage node: account, container and object servers for the
/// devices under `devices`, on one port.
///
/// ```toml
/// bind = "127.0.0.1:6201"
/// devices = "/srv/node1"
/// swift_dir = "/etc/ferrostack/swift"
/// [hash]
/// prefix = "changeme"
/// suffix = "changeme"
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageServerConfig {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// Directory with one subdirectory per device.
    pub devices: PathBuf,
    /// Answer 507 for a device whose directory is missing.
    #[serde(default = "default_true")]
    pub mount_check: bool,
    /// fsync data and directories before answering success.
    #[serde(default = "default_true")]
    pub fsync: bool,
    /// The cluster's path-hash secret.
    #[serde(default)]
    pub hash: HashSettings,
    /// Directory holding the three rings.
    #[serde(default)]
    pub swift_dir: Option<PathBuf>,
    /// Explicit ring files (win over `swift_dir`).
    #[serde(default)]
    pub rings: RingPaths,
    /// Seconds between container-updater passes (container stats to accounts).
    #[serde(default = "default_interval")]
    pub updater_interval_secs: u64,
    /// Seconds between retries of async-pending container updates.
    #[serde(default = "default_interval")]
    pub async_pending_interval_secs: u64,
    /// Connect timeout towards other nodes, in milliseconds.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Timeout of one request to another node, in seconds.
    #[serde(default = "default_node_timeout")]
    pub node_timeout_secs: u64,
    /// Replicators, auditors and ring reloading (`[daemons]`).
    #[serde(default)]
    pub daemons: crate::daemons::DaemonSettings,
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 6200))
}
fn default_true() -> bool {
    true
}
fn default_interval() -> u64 {
    30
}
pub(super) fn default_connect_timeout_ms() -> u64 {
    500
}
pub(super) fn default_node_timeout() -> u64 {
    10
}

impl StorageServerConfig {
    /// Reads `path`, applies the process environment's overrides and
    /// validates.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let mut cfg: Self = read_toml(path)?;
        cfg.apply_env(&super::process_env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Applies `FERROSTACK_BIND`, `FERROSTACK_SWIFT_DIR`,
    /// `FERROSTACK_HASH_PREFIX`, `FERROSTACK_HASH_SUFFIX`,
    /// `FERROSTACK_DEVICES`, `FERROSTACK_MOUNT_CHECK`, `FERROSTACK_FSYNC`,
    /// `FERROSTACK_UPDATER_INTERVAL_SECS`, `FERROSTACK_ASYNC_PENDING_INTERVAL_SECS`.
    pub fn apply_env(&mut self, env: EnvLookup<'_>) -> anyhow::Result<()> {
        apply_common_env(env, &mut self.bind, &mut self.swift_dir, &mut self.hash)?;
        if let Some(v) = env("FERROSTACK_DEVICES") {
            self.devices = PathBuf::from(v);
        }
        if let Some(v) = env("FERROSTACK_MOUNT_CHECK") {
            self.mount_check = parse_bool("FERROSTACK_MOUNT_CHECK", &v)?;
        }
        if let Some(v) = env("FERROSTACK_FSYNC") {
            self.fsync = parse_bool("FERROSTACK_FSYNC", &v)?;
        }
        if let Some(v) = env("FERROSTACK_UPDATER_INTERVAL_SECS") {
            self.updater_interval_secs = parse_u64("FERROSTACK_UPDATER_INTERVAL_SECS", &v)?;
        }
        if let Some(v) = env("FERROSTACK_ASYNC_PENDING_INTERVAL_SECS") {
            self.async_pending_interval_secs =
                parse_u64("FERROSTACK_ASYNC_PENDING_INTERVAL_SECS", &v)?;
        }
        Ok(())
    }

    /// Checks every value; the message names the bad field.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.devices.as_os_str().is_empty() {
            bail!("devices must name a directory");
        }
        self.hash.validate()?;
        self.rings.validate(self.swift_dir.as_deref())?;
        if self.updater_interval_secs == 0 {
            bail!("updater_interval_secs must be at least 1");
        }
        if self.async_pending_interval_secs == 0 {
            bail!("async_pending_interval_secs must be at least 1");
        }
        if self.node_timeout_secs == 0 || self.connect_timeout_ms == 0 {
            bail!("node_timeout_secs and connect_timeout_ms must be positive");
        }
        Ok(())
    }

    /// The core's node settings.
    pub fn node_config(&self) -> NodeConfig {
        NodeConfig {
            devices: self.devices.clone(),
            mount_check: self.mount_check,
            hash: self.hash.to_hash_config(),
            fsync: self.fsync,
        }
    }

    /// `ip:port` under which this node appears in the rings: the
    /// configured `daemons.ring_hosts`, else the bind address.
    pub fn ring_hosts(&self) -> Vec<String> {
        if self.daemons.ring_hosts.is_empty() {
            vec![self.bind.to_string()]
        } else {
            self.daemons.ring_hosts.clone()
        }
    }

    /// Connect timeout towards other nodes.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// Timeout of one request to another node.
    pub fn node_timeout(&self) -> Duration {
        Duration::from_secs(self.node_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const MINIMAL: &str = r#"
        devices = "/srv/node1"
        swift_dir = "/etc/swift"
        [hash]
        suffix = "s3cret"
    "#;

    #[test]
    fn minimal_config_gets_defaults() {
        let cfg: StorageServerConfig = toml::from_str(MINIMAL).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.bind, "127.0.0.1:6200".parse().unwrap());
        assert!(cfg.mount_check && cfg.fsync);
        assert_eq!(cfg.updater_interval_secs, 30);
        assert!(cfg.daemons.enabled);
        assert_eq!(cfg.daemons.container_replicator_secs, 30);
        assert_eq!(cfg.ring_hosts(), vec!["127.0.0.1:6200".to_string()]);
        let node = cfg.node_config();
        assert_eq!(node.devices, PathBuf::from("/srv/node1"));
        assert_eq!(node.hash, swift_core::hash::HashConfig::new("", "s3cret"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = format!("{MINIMAL}\nbogus = 1\n");
        let err = toml::from_str::<StorageServerConfig>(&text).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn env_overrides_apply_and_bad_values_fail() {
        let mut cfg: StorageServerConfig = toml::from_str(MINIMAL).unwrap();
        let vars: HashMap<&str, &str> = [
            ("FERROSTACK_BIND", "127.0.0.1:7000"),
            ("FERROSTACK_DEVICES", "/data"),
            ("FERROSTACK_FSYNC", "false"),
            ("FERROSTACK_HASH_PREFIX", "p"),
            ("FERROSTACK_UPDATER_INTERVAL_SECS", "5"),
        ]
        .into_iter()
        .collect();
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        cfg.apply_env(&env).unwrap();
        assert_eq!(cfg.bind.port(), 7000);
        assert_eq!(cfg.devices, PathBuf::from("/data"));
        assert!(!cfg.fsync);
        assert_eq!(cfg.hash.prefix, "p");
        assert_eq!(cfg.updater_interval_secs, 5);

        let bad = |k: &str| (k == "FERROSTACK_FSYNC").then(|| "maybe".to_string());
        assert!(cfg.apply_env(&bad).is_err());
    }

    #[test]
    fn validate_names_the_problem() {
        let mut cfg: StorageServerConfig = toml::from_str(MINIMAL).unwrap();
        cfg.hash = HashSettings::default();
        assert!(cfg.validate().unwrap_err().to_string().contains("hash"));
        let mut cfg: StorageServerConfig = toml::from_str(MINIMAL).unwrap();
        cfg.swift_dir = None;
        assert!(cfg.validate().unwrap_err().to_string().contains("ring"));
        let mut cfg: StorageServerConfig = toml::from_str(MINIMAL).unwrap();
        cfg.updater_interval_secs = 0;
        assert!(cfg.validate().is_err());
    }
}
