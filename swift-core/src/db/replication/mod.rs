//! Database replication, the SQL side: a replica's identity and sync
//! summary, rows since a `ROWID`, merging rows and status from another
//! replica, and sync points.
//!
//! Every database gets a random id (table `repl_id`) the first time it
//! takes part in replication, and a table `repl_sync` of sync points: for
//! each remote replica id, the highest local `ROWID` known to be on the
//! other side (`incoming = 0`, rows we sent) or the highest remote `ROWID`
//! merged here (`incoming = 1`). Rows are never updated in place (a newer
//! row gets a new `ROWID`), so "rows with `ROWID` above the sync point" is
//! exactly what the other side may lack. Both tables are created on
//! demand, so databases made before replication existed take part too.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::sqlite::sql_err;
use super::{parse_ts, DbKind};
use crate::error::Result;

mod rows;
pub(crate) mod serve;

pub(crate) use rows::{merge_rows, rows_since, Rows};

/// A replica's summary, sent with the `sync` operation and answered by the
/// other side with its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SyncInfo {
    /// The replica's random id.
    pub(crate) id: String,
    /// Highest `ROWID` of its rows table (0 when empty).
    pub(crate) max_row: i64,
    /// XOR of the MD5s of every row's identity: equal hashes mean equal rows.
    pub(crate) hash: String,
    pub(crate) created_at: String,
    pub(crate) put_timestamp: String,
    pub(crate) delete_timestamp: String,
    pub(crate) status_changed_at: String,
    /// Raw metadata JSON.
    pub(crate) metadata: String,
    /// Account status (`DELETED`), empty for containers.
    #[serde(default)]
    pub(crate) status: String,
    /// In answers: the answering side's incoming sync point for the
    /// asking replica's id (its rows up to this `ROWID` are here).
    #[serde(default)]
    pub(crate) point: i64,
}

/// The body of a `merge_items` operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MergeItems {
    /// The sending replica's id.
    pub(crate) source_id: String,
    /// The sender's `ROWID` of the last row in `rows`.
    pub(crate) last_row: i64,
    pub(crate) rows: Rows,
}

fn stat_table(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Container => "container_stat",
        DbKind::Account => "account_stat",
    }
}

fn rows_table(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Container => "object",
        DbKind::Account => "container",
    }
}

/// Creates the replication tables if missing and gives the database an id.
pub(crate) fn ensure_tables(c: &Connection) -> Result<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS repl_id (id TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS repl_sync (
             remote_id TEXT NOT NULL,
             incoming INTEGER NOT NULL,
             sync_point INTEGER NOT NULL,
             PRIMARY KEY (remote_id, incoming));",
    )
    .map_err(sql_err)?;
    c.execute(
        "INSERT INTO repl_id (id) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM repl_id)",
        [uuid::Uuid::new_v4().to_string()],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// Gives the database a fresh id and forgets every sync point: done to a
/// whole-file copy, which must not pass for its source.
pub(crate) fn new_id(c: &Connection) -> Result<String> {
    ensure_tables(c)?;
    let id = uuid::Uuid::new_v4().to_string();
    c.execute("UPDATE repl_id SET id = ?1", [&id])
        .map_err(sql_err)?;
    c.execute("DELETE FROM repl_sync", []).map_err(sql_err)?;
    Ok(id)
}

/// The sync point recorded for `remote_id` (0 when none).
pub(crate) fn sync_point(c: &Connection, remote_id: &str, incoming: bool) -> Result<i64> {
    ensure_tables(c)?;
    let p: Option<i64> = c
        .query_row(
            "SELECT sync_point FROM repl_sync WHERE remote_id = ?1 AND incoming = ?2",
            params![remote_id, i64::from(incoming)],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    Ok(p.unwrap_or(0))
}

/// Records a sync point; it only ever moves forward.
pub(crate) fn set_sync_point(
    c: &Connection,
    remote_id: &str,
    incoming: bool,
    point: i64,
) -> Result<()> {
    ensure_tables(c)?;
    c.execute(
        "INSERT INTO repl_sync (remote_id, incoming, sync_point) VALUES (?1, ?2, ?3)
         ON CONFLICT (remote_id, incoming)
         DO UPDATE SET sync_point = max(sync_point, excluded.sync_point)",
        params![remote_id, i64::from(incoming), point],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// The replica's summary (with `point` 0).
pub(crate) fn sync_info(c: &Connection, kind: DbKind) -> Result<SyncInfo> {
    ensure_tables(c)?;
    let id: String = c
        .query_row("SELECT id FROM repl_id", [], |r| r.get(0))
        .map_err(sql_err)?;
    let max_row: Option<i64> = c
        .query_row(
            &format!("SELECT max(ROWID) FROM {}", rows_table(kind)),
            [],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    let status_col = match kind {
        DbKind::Account => "status",
        DbKind::Container => "''",
    };
    let (created_at, put_timestamp, delete_timestamp, status_changed_at, metadata, status) = c
        .query_row(
            &format!(
                "SELECT created_at, put_timestamp, delete_timestamp, status_changed_at,
                        metadata, {status_col} FROM {}",
                stat_table(kind)
            ),
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .map_err(sql_err)?;
    Ok(SyncInfo {
        id,
        max_row: max_row.unwrap_or(0),
        hash: rows_hash(c, kind)?,
        created_at,
        put_timestamp,
        delete_timestamp,
        status_changed_at,
        metadata,
        status,
        point: 0,
    })
}

/// XOR of MD5(row identity) over all rows: independent of `ROWID`s and
/// order, so two replicas with the same rows hash the same.
fn rows_hash(c: &Connection, kind: DbKind) -> Result<String> {
    use md5::{Digest, Md5};
    let sql = match kind {
        DbKind::Container => "SELECT name || '-' || created_at FROM object",
        DbKind::Account => {
            "SELECT name || '-' || put_timestamp || '-' || delete_timestamp || '-' ||
                    object_count || '-' || bytes_used FROM container"
        }
    };
    let mut stmt = c.prepare_cached(sql).map_err(sql_err)?;
    let mut rows = stmt.query([]).map_err(sql_err)?;
    let mut acc = [0u8; 16];
    while let Some(r) = rows.next().map_err(sql_err)? {
        let key: String = r.get(0).map_err(sql_err)?;
        let d = Md5::digest(key.as_bytes());
        for (a, b) in acc.iter_mut().zip(d.iter()) {
            *a ^= b;
        }
    }
    Ok(hex::encode(acc))
}

/// Merges another replica's status: timestamps move forward only,
/// metadata keeps the newest value per key, an account's `DELETED` status
/// sticks.
pub(crate) fn merge_info(c: &mut Connection, kind: DbKind, remote: &SyncInfo) -> Result<()> {
    let table = stat_table(kind);
    for ts in [
        &remote.put_timestamp,
        &remote.delete_timestamp,
        &remote.status_changed_at,
    ] {
        parse_ts(ts)?;
    }
    for (col, v) in [
        ("put_timestamp", &remote.put_timestamp),
        ("delete_timestamp", &remote.delete_timestamp),
        ("status_changed_at", &remote.status_changed_at),
    ] {
        c.execute(
            &format!("UPDATE {table} SET {col} = ?1 WHERE {col} < ?1"),
            [v],
        )
        .map_err(sql_err)?;
    }
    if kind == DbKind::Account && remote.status == "DELETED" {
        c.execute("UPDATE account_stat SET status = 'DELETED'", [])
            .map_err(sql_err)?;
    }
    let md = super::load_metadata(&remote.metadata)?;
    if !md.is_empty() {
        super::update_metadata_tx(c, table, md)?;
    }
    Ok(())
}

/// Removes deletion rows older than `before` (internal timestamp text).
pub(crate) fn reclaim_rows(c: &Connection, kind: DbKind, before: &str) -> Result<usize> {
    let sql = match kind {
        DbKind::Container => "DELETE FROM object WHERE deleted = 1 AND created_at < ?1",
        DbKind::Account => "DELETE FROM container WHERE deleted = 1 AND delete_timestamp < ?1",
    };
    c.execute(sql, [before]).map_err(sql_err)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
