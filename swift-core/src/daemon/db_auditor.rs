//! The container and account auditors: SQLite's own check of every
//! database; a database that fails it is moved to
//! `<device>/quarantined/<containers|accounts>/<hash>` so the replicator
//! restores a good copy from another replica.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::walk::{walk_dbs, DbLocation};
use super::{Daemon, PassReport};
use crate::db::sqlite::blocking;
use crate::db::DbKind;
use crate::error::{Error, Result};

/// Audits the databases of one kind on a node's devices.
///
/// Counters: `dbs_checked`, `passed`, `quarantined`; `errors` for
/// databases that could not be checked (busy, I/O), retried next pass.
#[derive(Debug, Clone)]
pub struct DbAuditor {
    kind: DbKind,
    devices: PathBuf,
    full_check: bool,
}

impl DbAuditor {
    /// An auditor of `kind` databases under `devices` running
    /// `PRAGMA quick_check`.
    pub fn new(kind: DbKind, devices: PathBuf) -> Self {
        Self {
            kind,
            devices,
            full_check: false,
        }
    }

    /// Runs the slower `PRAGMA integrity_check` (indexes too) instead.
    pub fn with_integrity_check(mut self) -> Self {
        self.full_check = true;
        self
    }
}

/// What checking one database found.
enum Verdict {
    Good,
    Bad(String),
}

fn check(path: &Path, full: bool) -> Result<Verdict> {
    use rusqlite::{ErrorCode, OpenFlags};
    let corrupt = |e: &rusqlite::Error| {
        matches!(e, rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase))
    };
    let conn = match rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
    {
        Ok(c) => c,
        Err(e) if corrupt(&e) => return Ok(Verdict::Bad(e.to_string())),
        Err(e) => return Err(crate::db::sqlite::sql_err(e)),
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(25));
    let pragma = if full {
        "PRAGMA integrity_check"
    } else {
        "PRAGMA quick_check"
    };
    let mut stmt = match conn.prepare(pragma) {
        Ok(s) => s,
        Err(e) if corrupt(&e) => return Ok(Verdict::Bad(e.to_string())),
        Err(e) => return Err(crate::db::sqlite::sql_err(e)),
    };
    let rows: rusqlite::Result<Vec<String>> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|it| it.collect());
    match rows {
        Ok(v) if v.len() == 1 && v[0] == "ok" => Ok(Verdict::Good),
        Ok(v) => Ok(Verdict::Bad(v.join("; "))),
        Err(e) if corrupt(&e) => Ok(Verdict::Bad(e.to_string())),
        Err(e) => Err(crate::db::sqlite::sql_err(e)),
    }
}

/// Moves the database's hash directory under `quarantined/`.
fn quarantine(devices: &Path, kind: DbKind, loc: &DbLocation) -> Result<PathBuf> {
    let dir = devices
        .join(&loc.device)
        .join("quarantined")
        .join(kind.datadir());
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("quarantine dir", e))?;
    let mut dest = dir.join(&loc.hash);
    if dest.exists() {
        dest = dir.join(format!("{}-{}", loc.hash, uuid::Uuid::new_v4().simple()));
    }
    let src = loc
        .path
        .parent()
        .ok_or_else(|| Error::invalid("database path has no parent"))?;
    std::fs::rename(src, &dest).map_err(|e| Error::io("quarantine", e))?;
    Ok(dest)
}

#[async_trait]
impl Daemon for DbAuditor {
    fn name(&self) -> &'static str {
        match self.kind {
            DbKind::Account => "account-auditor",
            DbKind::Container => "container-auditor",
        }
    }

    async fn run_once(&self) -> Result<PassReport> {
        let mut report = PassReport::start();
        let (devices, kind, full) = (self.devices.clone(), self.kind, self.full_check);
        let name = self.name();
        let counts = blocking(move || {
            let (mut checked, mut passed, mut quarantined, mut errors) = (0u64, 0u64, 0u64, 0u64);
            for loc in walk_dbs(&devices, kind) {
                checked += 1;
                match check(&loc.path, full) {
                    Ok(Verdict::Good) => passed += 1,
                    Ok(Verdict::Bad(why)) => match quarantine(&devices, kind, &loc) {
                        Ok(dest) => {
                            tracing::warn!(
                                daemon = name,
                                db = %loc.path.display(),
                                to = %dest.display(),
                                reason = %why,
                                "database quarantined"
                            );
                            quarantined += 1;
                        }
                        Err(e) => {
                            tracing::error!(daemon = name, error = %e, "quarantine failed");
                            errors += 1;
                        }
                    },
                    Err(e) => {
                        tracing::warn!(daemon = name, db = %loc.path.display(), error = %e, "audit failed");
                        errors += 1;
                    }
                }
            }
            Ok((checked, passed, quarantined, errors))
        })
        .await?;
        report.add("dbs_checked", counts.0);
        report.add("passed", counts.1);
        report.add("quarantined", counts.2);
        report.errors = counts.3;
        Ok(report.finish())
    }
}
