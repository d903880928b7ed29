//! `ferrostack up --config FILE`: optional TOML overriding the embedded
//! defaults (ports, tempauth users, the proxy's settings).

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;
use swift_core::proxy::ProxyConfig;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpConfig {
    /// The Swift cluster.
    #[serde(default)]
    pub(crate) swift: SwiftUpConfig,
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
        for a in s.storage_binds.iter().chain([&s.proxy_bind]) {
            if !a.ip().is_loopback() {
                bail!("{a}: ferrostack up only listens on loopback addresses");
            }
        }
        if s.updater_interval_secs == 0 || s.async_pending_interval_secs == 0 {
            bail!("swift intervals must be at least 1 second");
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
    }

    #[test]
    fn file_overrides_ports_and_users() {
        let text = r#"
            [swift]
            proxy_bind = "127.0.0.1:0"
            storage_binds = ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"]
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
    }
}
