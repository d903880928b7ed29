//! Files under the data directory that hold secrets: written once with
//! mode 0600, atomically, and reused on every restart.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The cluster secrets kept in `DIR/swift.toml`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterSecrets {
    pub(crate) hash: HashSecret,
}

/// `[hash]`: `swift_hash_path_prefix` / `_suffix`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct HashSecret {
    pub(crate) prefix: String,
    pub(crate) suffix: String,
}

impl std::fmt::Debug for ClusterSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecrets(<redacted>)")
    }
}

/// 32 random hex characters from the OS generator.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes `data` to `path` with mode 0600: temp file, fsync, rename.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("path has no parent")?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Loads the secrets at `path`, creating them on first start.
pub(crate) fn load_or_create_cluster(path: &Path) -> anyhow::Result<ClusterSecrets> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return toml::from_str(&text).with_context(|| format!("parsing {}", path.display()));
    }
    let s = ClusterSecrets {
        hash: HashSecret {
            prefix: random_token(),
            suffix: random_token(),
        },
    };
    let text = format!(
        "# ferrostack cluster secrets: never change them, or stored data becomes unreachable\n{}",
        toml::to_string(&s)?
    );
    write_private(path, text.as_bytes())?;
    Ok(s)
}

/// Loads the one-line key at `path`, creating a random one on first start.
pub(crate) fn load_or_create_key(path: &Path) -> anyhow::Result<String> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let key = text.trim().to_string();
        anyhow::ensure!(!key.is_empty(), "{} is empty", path.display());
        return Ok(key);
    }
    let key = random_token();
    write_private(path, format!("{key}\n").as_bytes())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("swift.toml");
        let a = load_or_create_cluster(&p).unwrap();
        let b = load_or_create_cluster(&p).unwrap();
        assert!(a == b);
        assert_eq!(a.hash.prefix.len(), 32);
        assert_ne!(a.hash.prefix, a.hash.suffix);
        assert!(!format!("{a:?}").contains(&a.hash.prefix));
        let k = dir.path().join("key");
        let k1 = load_or_create_key(&k).unwrap();
        assert_eq!(load_or_create_key(&k).unwrap(), k1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [&p, &k] {
                let mode = std::fs::metadata(f).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", f.display());
            }
        }
    }
}
