//! Finding the databases on a node's devices.

use std::path::{Path, PathBuf};

use crate::db::DbKind;

/// One database file found on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbLocation {
    /// Device directory name.
    pub(crate) device: String,
    /// The partition directory it sits in.
    pub(crate) partition: u32,
    /// Hex path hash (the hash directory's name).
    pub(crate) hash: String,
    /// `<devices>/<device>/<datadir>/<part>/<suffix>/<hash>/<hash>.db`.
    pub(crate) path: PathBuf,
}

impl DbLocation {
    /// The device's `tmp/` directory.
    pub(crate) fn tmp_dir(&self, devices: &Path) -> PathBuf {
        devices.join(&self.device).join("tmp")
    }
}

fn dirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn name(p: &Path) -> Option<String> {
    p.file_name().and_then(|n| n.to_str()).map(str::to_string)
}

/// Every database of `kind` under `devices`, sorted. Blocking.
pub(crate) fn walk_dbs(devices: &Path, kind: DbKind) -> Vec<DbLocation> {
    let mut out = Vec::new();
    for dev in dirs(devices) {
        let Some(device) = name(&dev) else { continue };
        for part in dirs(&dev.join(kind.datadir())) {
            let Some(partition) = name(&part).and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            for suffix in dirs(&part) {
                for hash_dir in dirs(&suffix) {
                    let Some(hash) = name(&hash_dir) else {
                        continue;
                    };
                    let path = hash_dir.join(format!("{hash}.db"));
                    if path.is_file() {
                        out.push(DbLocation {
                            device: device.clone(),
                            partition,
                            hash,
                            path,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Removes a database's hash directory, then its suffix and partition
/// directories when they became empty. Blocking.
pub(crate) fn remove_db(db: &Path) -> std::io::Result<()> {
    let Some(hash_dir) = db.parent() else {
        return Ok(());
    };
    std::fs::remove_dir_all(hash_dir)?;
    let mut d = hash_dir.parent();
    for _ in 0..2 {
        let Some(cur) = d else { break };
        if std::fs::remove_dir(cur).is_err() {
            break;
        }
        d = cur.parent();
    }
    Ok(())
}
