//! The server's TOML config file.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use glance_core::registry::Location;
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
    pub store_dir: Option<PathBuf>,
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
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("project", &self.project)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Parses a config file's text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::{Config, Location};

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
}
