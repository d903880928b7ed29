//! The proxy's configuration (`swift-proxy --config FILE`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;
use swift_core::proxy::ProxyConfig;

use super::storage::{default_connect_timeout_ms, default_node_timeout};
use super::{apply_common_env, parse_u64, read_toml, EnvLookup, HashSettings, RingPaths};

/// The proxy server: where it listens, where the rings are, the cluster
/// secret, and the core proxy's own settings under `[proxy]`.
///
/// ```toml
/// bind = "127.0.0.1:8080"
/// swift_dir = "/etc/ferrostack/swift"
/// memcache_servers = ["127.0.0.1:11211"]
/// [hash]
/// prefix = "changeme"
/// [proxy]
/// account_autocreate = true
/// [[proxy.tempauth.users]]
/// account = "test"
/// user = "tester"
/// key = "testing"
/// groups = [".admin"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyServerConfig {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// The cluster's path-hash secret.
    #[serde(default)]
    pub hash: HashSettings,
    /// Directory holding the three rings.
    #[serde(default)]
    pub swift_dir: Option<PathBuf>,
    /// Explicit ring files (win over `swift_dir`).
    #[serde(default)]
    pub rings: RingPaths,
    /// Connect timeout towards storage nodes, in milliseconds.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Seconds between checks of the ring files for changes (0: never).
    #[serde(default = "default_ring_check_secs")]
    pub ring_check_secs: u64,
    /// memcached servers (`host:port`) holding tokens and account and
    /// container info, shared with other proxies; empty keeps them in
    /// this process's memory.
    #[serde(default)]
    pub memcache_servers: Vec<String>,
    /// The core proxy's settings (tempauth users, timeouts, constraints).
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// Also accept Keystone tokens of this identity server.
    #[serde(default)]
    pub keystone: Option<crate::keystone::KeystoneSettings>,
    /// Also serve S3 (SigV4) with these access keys.
    #[serde(default)]
    pub s3: Option<crate::s3::S3Settings>,
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_ring_check_secs() -> u64 {
    15
}

impl ProxyServerConfig {
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
    /// `FERROSTACK_CONNECT_TIMEOUT_MS`.
    pub fn apply_env(&mut self, env: EnvLookup<'_>) -> anyhow::Result<()> {
        apply_common_env(env, &mut self.bind, &mut self.swift_dir, &mut self.hash)?;
        if let Some(v) = env("FERROSTACK_CONNECT_TIMEOUT_MS") {
            self.connect_timeout_ms = parse_u64("FERROSTACK_CONNECT_TIMEOUT_MS", &v)?;
        }
        Ok(())
    }

    /// Checks every value; the message names the bad field.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.hash.validate()?;
        self.rings.validate(self.swift_dir.as_deref())?;
        if self.connect_timeout_ms == 0 {
            bail!("connect_timeout_ms must be positive");
        }
        for s in &self.memcache_servers {
            if !s
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            {
                bail!("memcache_servers: {s:?} is not host:port");
            }
        }
        Ok(())
    }

    /// The core proxy's config with the cluster secret filled in.
    pub fn proxy_config(&self) -> ProxyConfig {
        let mut p = self.proxy.clone();
        p.hash = self.hash.to_hash_config();
        p
    }

    /// Connect timeout towards storage nodes.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// Timeout of one request to a storage node (the proxy's
    /// `node_timeout_secs`, or 10 s when it is unset).
    pub fn node_timeout(&self) -> Duration {
        let secs = self.proxy.node_timeout_secs;
        if secs.is_finite() && secs > 0.0 {
            Duration::from_secs_f64(secs)
        } else {
            Duration::from_secs(default_node_timeout())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
        bind = "127.0.0.1:0"
        swift_dir = "/etc/swift"
        [hash]
        prefix = "very-secret"
        [proxy]
        account_autocreate = true
        [[proxy.tempauth.users]]
        account = "test"
        user = "tester"
        key = "testing"
        groups = [".admin"]
    "#;

    #[test]
    fn parses_with_core_proxy_section() {
        let cfg: ProxyServerConfig = toml::from_str(CFG).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.bind.port(), 0);
        let p = cfg.proxy_config();
        assert_eq!(p.hash, swift_core::hash::HashConfig::new("very-secret", ""));
        assert_eq!(p.tempauth.users.len(), 1);
        assert_eq!(p.tempauth.users[0].user, "tester");
        assert!(!format!("{cfg:?}").contains("very-secret"));
    }

    #[test]
    fn keystone_section_is_optional() {
        assert!(toml::from_str::<ProxyServerConfig>(CFG)
            .unwrap()
            .keystone
            .is_none());
        let text = format!(
            "{CFG}\n[keystone]\nauth_url = \"http://127.0.0.1:5000/v3\"\n[keystone.roles]\nreader_roles = [\"observer\"]\n"
        );
        let cfg: ProxyServerConfig = toml::from_str(&text).unwrap();
        let ks = cfg.keystone.unwrap();
        assert_eq!(ks.cache_secs, 60);
        assert_eq!(ks.roles.reader_roles, vec!["observer".to_string()]);
        assert_eq!(ks.roles.reseller_prefix, "AUTH_");
        assert!(ks.validator().is_ok());
    }

    #[test]
    fn s3_section_lists_keys() {
        assert!(toml::from_str::<ProxyServerConfig>(CFG)
            .unwrap()
            .s3
            .is_none());
        let text = format!(
            "{CFG}\n[[s3.keys]]\naccess = \"AK\"\nsecret = \"s3-very-secret\"\nproject_id = \"test\"\n"
        );
        let cfg: ProxyServerConfig = toml::from_str(&text).unwrap();
        assert_eq!(cfg.s3.as_ref().unwrap().keys[0].project_id, "test");
        assert!(!format!("{cfg:?}").contains("s3-very-secret"));
    }

    #[test]
    fn memcache_servers_are_host_port() {
        let cfg: ProxyServerConfig = toml::from_str(CFG).unwrap();
        assert!(cfg.memcache_servers.is_empty());
        let text = format!("memcache_servers = [\"127.0.0.1:11211\", \"mc2:11211\"]\n{CFG}");
        let cfg: ProxyServerConfig = toml::from_str(&text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.memcache_servers, ["127.0.0.1:11211", "mc2:11211"]);
        let text = format!("memcache_servers = [\"mc2\"]\n{CFG}");
        let cfg: ProxyServerConfig = toml::from_str(&text).unwrap();
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn unknown_fields_and_missing_secret_are_refused() {
        assert!(toml::from_str::<ProxyServerConfig>(&format!("{CFG}\n[bogus]\n")).is_err());
        let text = CFG.replace("prefix = \"very-secret\"", "");
        let cfg: ProxyServerConfig = toml::from_str(&text).unwrap();
        assert!(cfg.validate().is_err());
    }
}
