//! SQLite plumbing shared by the brokers: opening, atomic creation, error
//! mapping and running work on the blocking pool.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, Result};

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(25);

/// Maps a SQLite error to a swift-core error kind.
pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return Error::Unavailable {
                    reason: "database busy".into(),
                }
            }
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                return Error::Corrupt {
                    what: "database".into(),
                }
            }
            ErrorCode::DiskFull => {
                return Error::InsufficientStorage {
                    device: "database".into(),
                }
            }
            _ => {}
        }
    }
    Error::Backend {
        backend: "sqlite",
        source: Box::new(e),
    }
}

/// A count for SQLite's signed integers (saturating).
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A count read from SQLite (negative reads as zero).
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Runs blocking work on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    crate::error::run_blocking("sqlite", f).await
}

fn set_pragmas(conn: &Connection, durable: bool) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    // WAL with synchronous=FULL fsyncs the log on every commit: a commit
    // is on disk before we answer. NORMAL is only for fsync=false setups.
    let sync = if durable { "FULL" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(sql_err)?;
    Ok(())
}

/// A database file and a lazily opened, reused connection to it.
#[derive(Debug)]
pub(crate) struct DbFile {
    path: PathBuf,
    tmp_dir: PathBuf,
    durable: bool,
    conn: Mutex<Option<Connection>>,
}

impl DbFile {
    pub(crate) fn new(path: PathBuf, tmp_dir: PathBuf, durable: bool) -> Arc<Self> {
        Arc::new(Self {
            path,
            tmp_dir,
            durable,
            conn: Mutex::new(None),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool. Fails with
    /// [`Error::NotFound`] when the file does not exist.
    pub(crate) async fn with_conn<T, F>(self: &Arc<Self>, what: String, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let me = Arc::clone(self);
        blocking(move || {
            let mut guard = me.conn.lock().map_err(|_| Error::Unavailable {
                reason: "database handle poisoned".into(),
            })?;
            if guard.is_none() {
                if !me.path.exists() {
                    return Err(Error::not_found(what));
                }
                let conn = Connection::open_with_flags(
                    &me.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(sql_err)?;
                set_pragmas(&conn, me.durable)?;
                *guard = Some(conn);
            }
            match guard.as_mut() {
                Some(conn) => f(conn),
                None => Err(Error::not_found(what)),
            }
        })
        .await
    }

    /// Creates the database atomically: builds it in the device's `tmp/`
    /// with `init`, fsyncs it, then links it into place. Returns false (and
    /// changes nothing) when the file already exists.
    pub(crate) async fn create<F>(self: &Arc<Self>, init: F) -> Result<bool>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<()> + Send + 'static,
    {
        let me = Arc::clone(self);
        blocking(move || me.create_blocking(init)).await
    }

    fn create_blocking<F>(&self, init: F) -> Result<bool>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    {
        if self.path.exists() {
            return Ok(false);
        }
        fs::create_dir_all(&self.tmp_dir).map_err(|e| Error::io("tmp dir", e))?;
        let tmp = self
            .tmp_dir
            .join(format!("{}.db", uuid::Uuid::new_v4().simple()));
        let result = self.build_and_link(&tmp, init);
        // The temp name is gone after a successful link; on failure clean up.
        let _ = fs::remove_file(&tmp);
        result
    }

    fn build_and_link<F>(&self, tmp: &Path, init: F) -> Result<bool>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    {
        {
            let mut conn = Connection::open(tmp).map_err(sql_err)?;
            conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
                .map_err(sql_err)?;
            set_pragmas(&conn, self.durable)?;
            let tx = conn.transaction().map_err(sql_err)?;
            init(&tx)?;
            tx.commit().map_err(sql_err)?;
            // Closing checkpoints the log into the main file.
            conn.close().map_err(|(_, e)| sql_err(e))?;
        }
        if self.durable {
            File::open(tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io("database", e))?;
        }
        let dir = self
            .path
            .parent()
            .ok_or_else(|| Error::invalid("database path has no parent"))?;
        fs::create_dir_all(dir).map_err(|e| Error::io("database dir", e))?;
        // A hard link never replaces an existing file: concurrent creators
        // race safely and exactly one wins.
        match fs::hard_link(tmp, &self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(Error::io("database", e)),
        }
        if self.durable {
            let mut d = Some(dir);
            // hash dir, suffix dir, partition dir: all may be new.
            for _ in 0..3 {
                let Some(cur) = d else { break };
                File::open(cur)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| Error::io("database dir", e))?;
                d = cur.parent();
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_is_atomic_and_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c/x.db");
        let db = DbFile::new(path.clone(), dir.path().join("tmp"), true);
        let init = |tx: &rusqlite::Transaction<'_>| {
            tx.execute_batch("CREATE TABLE t (x INTEGER)")
                .map_err(sql_err)
        };
        assert!(db.create(init).await.unwrap());
        assert!(!db.create(init).await.unwrap());
        assert!(path.exists());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        let n: i64 = db
            .with_conn("db".into(), |c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(sql_err)
            })
            .await
            .unwrap();
        assert_eq!(n, 0);
        let missing = DbFile::new(dir.path().join("nope.db"), dir.path().join("tmp"), false);
        let err = missing
            .with_conn("nope".into(), |_| Ok(()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));
    }
}
