//! The `identity-server` TOML configuration.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use identity_core::backend::Location;
use identity_core::service::BootstrapConfig;
use serde::Deserialize;

/// Environment variable overriding `bootstrap.admin_password`.
pub const ADMIN_PASSWORD_ENV: &str = "IDENTITY_ADMIN_PASSWORD";

/// One service endpoint to put in the catalog (all three interfaces).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Service type, e.g. `compute`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name, e.g. `nova`.
    pub name: String,
    /// URL; may hold `$(project_id)s`.
    pub url: String,
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address (default `127.0.0.1:5000`).
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    /// Where identity state lives: `memory:` (or `:memory:`, the default),
    /// `sqlite:PATH` or a plain path, or `postgres://user:password@host/db`.
    /// Its `Debug` hides the password.
    #[serde(default = "default_database")]
    pub database: Location,
    /// Base URL clients reach this server at (default `http://{bind}`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Token lifetime in seconds (default 3600).
    #[serde(default = "default_ttl")]
    pub token_ttl_secs: u64,
    /// Region of every catalog endpoint (default `RegionOne`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Admin user, password and project created at startup.
    pub bootstrap: BootstrapConfig,
    /// Other services' endpoints.
    #[serde(default)]
    pub catalog: Vec<CatalogEntry>,
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5000))
}
fn default_database() -> Location {
    Location::Memory
}
fn default_ttl() -> u64 {
    3600
}
fn default_region() -> String {
    "RegionOne".to_owned()
}

impl ServerConfig {
    /// Parses TOML text and checks it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let cfg: Self = toml::from_str(text)?;
        cfg.bootstrap.validate()?;
        Ok(cfg)
    }

    /// Reads and parses the file at `path`; a non-empty
    /// [`ADMIN_PASSWORD_ENV`] overrides `bootstrap.admin_password`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut text: toml::Table = text
            .parse()
            .with_context(|| format!("invalid config {}", path.display()))?;
        if let Some(pw) = std::env::var(ADMIN_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
        {
            if let Some(toml::Value::Table(b)) = text.get_mut("bootstrap") {
                b.insert("admin_password".into(), toml::Value::String(pw));
            }
        }
        Self::parse(&text.to_string()).with_context(|| format!("invalid config {}", path.display()))
    }

    /// The public URL, defaulting to `http://{bind}`.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_fields() {
        let cfg = ServerConfig::parse(
            "bind = \"0.0.0.0:5001\"\n[bootstrap]\nadmin_password = \"pw\"\n\
             [[catalog]]\ntype = \"compute\"\nname = \"nova\"\nurl = \"http://h:8774/v2.1\"\n",
        )
        .unwrap();
        assert_eq!(cfg.database, Location::Memory);
        assert_eq!(cfg.public_url(), "http://0.0.0.0:5001");
        assert_eq!(cfg.catalog.len(), 1);
        assert!(ServerConfig::parse("bogus = 1\n[bootstrap]\nadmin_password = \"pw\"\n").is_err());
        assert!(ServerConfig::parse("[bootstrap]\nadmin_password = \"\"\n").is_err());
        assert!(!format!("{cfg:?}").contains("\"pw\""));
    }

    #[test]
    fn database_is_a_location_with_its_password_hidden() {
        let cfg = ServerConfig::parse(
            "database = \"postgres://ks:s3cret@db/keystone\"\n[bootstrap]\nadmin_password = \"pw\"\n",
        )
        .unwrap();
        assert!(matches!(cfg.database, Location::Postgres(_)));
        assert!(!format!("{cfg:?}").contains("s3cret"));
        let cfg = ServerConfig::parse(
            "database = \"/var/lib/ks.db\"\n[bootstrap]\nadmin_password = \"pw\"\n",
        )
        .unwrap();
        assert_eq!(cfg.database, Location::Sqlite("/var/lib/ks.db".into()));
        assert!(ServerConfig::parse(
            "database = \"mysql://h/x\"\n[bootstrap]\nadmin_password = \"pw\"\n"
        )
        .is_err());
    }
}
