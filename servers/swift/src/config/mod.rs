//! Server configuration: one TOML file per server, read once at start-up,
//! with `FERROSTACK_*` environment overrides, checked by `validate()`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::Deserialize;
use swift_core::hash::HashConfig;
use swift_core::ring::{Ring, RingKind, Rings};

mod proxy;
mod storage;

pub use proxy::ProxyServerConfig;
pub use storage::StorageServerConfig;

/// The cluster's path-hash secret (`swift_hash_path_prefix`/`_suffix`).
/// Its `Debug` hides both values.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HashSettings {
    /// Secret mixed in before the path.
    #[serde(default)]
    pub prefix: String,
    /// Secret mixed in after the path.
    #[serde(default)]
    pub suffix: String,
}

impl fmt::Debug for HashSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashSettings")
            .field("prefix", &"<redacted>")
            .field("suffix", &"<redacted>")
            .finish()
    }
}

impl HashSettings {
    /// The core's hash configuration.
    pub fn to_hash_config(&self) -> HashConfig {
        HashConfig::new(self.prefix.clone(), self.suffix.clone())
    }

    /// Swift refuses to start without a secret: at least one must be set.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.prefix.is_empty() && self.suffix.is_empty() {
            bail!("hash.prefix or hash.suffix must be set (the cluster's secret)");
        }
        Ok(())
    }
}

/// Where the rings are: a directory (`swift_dir`) holding
/// `account.ring[.gz]`, `container.ring[.gz]` and `object.ring[.gz]`, or
/// one path per ring (which wins over `swift_dir`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RingPaths {
    /// The account ring file.
    pub account: Option<PathBuf>,
    /// The container ring file.
    pub container: Option<PathBuf>,
    /// The object ring file.
    pub object: Option<PathBuf>,
}

/// The file name stem of a ring kind.
pub fn ring_name(kind: RingKind) -> &'static str {
    match kind {
        RingKind::Account => "account",
        RingKind::Container => "container",
        RingKind::Object => "object",
    }
}

impl RingPaths {
    fn explicit(&self, kind: RingKind) -> Option<&PathBuf> {
        match kind {
            RingKind::Account => self.account.as_ref(),
            RingKind::Container => self.container.as_ref(),
            RingKind::Object => self.object.as_ref(),
        }
    }

    /// Checks that every ring can be located.
    pub fn validate(&self, swift_dir: Option<&Path>) -> anyhow::Result<()> {
        for kind in [RingKind::Account, RingKind::Container, RingKind::Object] {
            if self.explicit(kind).is_none() && swift_dir.is_none() {
                bail!(
                    "no {} ring: set swift_dir or rings.{}",
                    ring_name(kind),
                    ring_name(kind)
                );
            }
        }
        Ok(())
    }

    /// The file of one ring: the explicit path, else the first of
    /// `<kind>.ring.gz`, `<kind>.ring` that exists in `swift_dir`.
    pub fn resolve(&self, swift_dir: Option<&Path>, kind: RingKind) -> anyhow::Result<PathBuf> {
        if let Some(p) = self.explicit(kind) {
            return Ok(p.clone());
        }
        let Some(dir) = swift_dir else {
            bail!(
                "no {} ring: set swift_dir or rings.{}",
                ring_name(kind),
                ring_name(kind)
            );
        };
        let name = ring_name(kind);
        let candidates = [
            dir.join(format!("{name}.ring.gz")),
            dir.join(format!("{name}.ring")),
        ];
        match candidates.iter().find(|p| p.exists()) {
            Some(p) => Ok(p.clone()),
            None => bail!(
                "no {name} ring in {} (looked for {name}.ring.gz, {name}.ring)",
                dir.display()
            ),
        }
    }

    /// Loads the three rings.
    pub fn load(&self, swift_dir: Option<&Path>) -> anyhow::Result<Arc<Rings>> {
        let load = |kind| -> anyhow::Result<Ring> {
            let path = self.resolve(swift_dir, kind)?;
            Ring::load(&path).with_context(|| format!("loading ring {}", path.display()))
        };
        Ok(Arc::new(Rings::new(
            load(RingKind::Account)?,
            load(RingKind::Container)?,
            load(RingKind::Object)?,
        )))
    }
}

/// Reads a TOML file into a config type.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))
}

/// Environment lookup, injectable for tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Applies the overrides common to every server: `FERROSTACK_BIND`,
/// `FERROSTACK_SWIFT_DIR`, `FERROSTACK_HASH_PREFIX`, `FERROSTACK_HASH_SUFFIX`.
pub(crate) fn apply_common_env(
    env: EnvLookup<'_>,
    bind: &mut SocketAddr,
    swift_dir: &mut Option<PathBuf>,
    hash: &mut HashSettings,
) -> anyhow::Result<()> {
    if let Some(v) = env("FERROSTACK_BIND") {
        *bind = v
            .parse()
            .with_context(|| format!("FERROSTACK_BIND: invalid address {v:?}"))?;
    }
    if let Some(v) = env("FERROSTACK_SWIFT_DIR") {
        *swift_dir = Some(PathBuf::from(v));
    }
    if let Some(v) = env("FERROSTACK_HASH_PREFIX") {
        hash.prefix = v;
    }
    if let Some(v) = env("FERROSTACK_HASH_SUFFIX") {
        hash.suffix = v;
    }
    Ok(())
}

/// Parses a boolean override (`1/0/true/false/yes/no`).
pub(crate) fn parse_bool(name: &str, v: &str) -> anyhow::Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name}: expected a boolean, got {v:?}"),
    }
}

/// Parses an integer override.
pub(crate) fn parse_u64(name: &str, v: &str) -> anyhow::Result<u64> {
    v.parse()
        .with_context(|| format!("{name}: expected a whole number, got {v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_debug_hides_secrets_and_validate_needs_one() {
        let h = HashSettings {
            prefix: "pre-secret".into(),
            suffix: "suf-secret".into(),
        };
        let d = format!("{h:?}");
        assert!(!d.contains("pre-secret") && !d.contains("suf-secret"));
        assert!(h.validate().is_ok());
        assert!(HashSettings::default().validate().is_err());
    }

    #[test]
    fn ring_paths_resolve_explicit_then_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("account.ring.gz"), b"x").unwrap();
        std::fs::write(dir.path().join("container.ring"), b"x").unwrap();
        let paths = RingPaths {
            object: Some(PathBuf::from("/elsewhere/object.ring")),
            ..Default::default()
        };
        let d = Some(dir.path());
        assert_eq!(
            paths.resolve(d, RingKind::Account).unwrap(),
            dir.path().join("account.ring.gz")
        );
        assert_eq!(
            paths.resolve(d, RingKind::Container).unwrap(),
            dir.path().join("container.ring")
        );
        assert_eq!(
            paths.resolve(d, RingKind::Object).unwrap(),
            PathBuf::from("/elsewhere/object.ring")
        );
        std::fs::remove_file(dir.path().join("container.ring")).unwrap();
        let err = paths.resolve(d, RingKind::Container).unwrap_err();
        assert!(err.to_string().contains("no container ring"), "{err}");
        assert!(RingPaths::default().validate(None).is_err());
        assert!(paths.validate(Some(dir.path())).is_ok());
    }
}
