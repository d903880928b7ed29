//! SQL of the account database: schema, row merge and range queries.

use rusqlite::{params, Transaction};

use super::account::*;
use super::listing::RangeQuery;
use super::sqlite::{sql_err, to_i64, to_u64};
use super::{load_metadata, parse_ts};
use crate::error::Result;

pub(super) const SCHEMA: &str = "
CREATE TABLE account_stat (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    account TEXT NOT NULL,
    created_at TEXT NOT NULL,
    put_timestamp TEXT NOT NULL,
    delete_timestamp TEXT NOT NULL DEFAULT '0',
    status_changed_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    container_count INTEGER NOT NULL DEFAULT 0,
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT ''
);
CREATE TABLE container (
    ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    put_timestamp TEXT NOT NULL,
    delete_timestamp TEXT NOT NULL,
    object_count INTEGER NOT NULL,
    bytes_used INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    storage_policy_index INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_container_deleted_name ON container (deleted, name);
CREATE TABLE policy_stat (
    storage_policy_index INTEGER PRIMARY KEY,
    container_count INTEGER NOT NULL DEFAULT 0,
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER container_insert AFTER INSERT ON container BEGIN
    UPDATE account_stat SET
        container_count = container_count + (1 - new.deleted),
        object_count = object_count + new.object_count,
        bytes_used = bytes_used + new.bytes_used;
    INSERT OR IGNORE INTO policy_stat (storage_policy_index)
        VALUES (new.storage_policy_index);
    UPDATE policy_stat SET
        container_count = container_count + (1 - new.deleted),
        object_count = object_count + new.object_count,
        bytes_used = bytes_used + new.bytes_used
    WHERE storage_policy_index = new.storage_policy_index;
END;
CREATE TRIGGER container_delete AFTER DELETE ON container BEGIN
    UPDATE account_stat SET
        container_count = container_count - (1 - old.deleted),
        object_count = object_count - old.object_count,
        bytes_used = bytes_used - old.bytes_used;
    UPDATE policy_stat SET
        container_count = container_count - (1 - old.deleted),
        object_count = object_count - old.object_count,
        bytes_used = bytes_used - old.bytes_used
    WHERE storage_policy_index = old.storage_policy_index;
END;
";

pub(super) fn read_info(c: &rusqlite::Connection) -> Result<AccountInfo> {
    let (account, ts, status, n, md) = c
        .query_row(
            "SELECT account, created_at, put_timestamp, delete_timestamp, status_changed_at,
                    status, container_count, object_count, bytes_used, metadata
             FROM account_stat",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    [
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ],
                    r.get::<_, String>(5)?,
                    [
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, i64>(8)?,
                    ],
                    r.get::<_, String>(9)?,
                ))
            },
        )
        .map_err(sql_err)?;
    let mut stmt = c
        .prepare_cached(
            "SELECT storage_policy_index, container_count, object_count, bytes_used
             FROM policy_stat ORDER BY storage_policy_index",
        )
        .map_err(sql_err)?;
    let policy_stats = stmt
        .query_map([], |r| {
            Ok((
                u32::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                to_u64(r.get(1)?),
                to_u64(r.get(2)?),
                to_u64(r.get(3)?),
            ))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_err)?;
    Ok(AccountInfo {
        account,
        created_at: parse_ts(&ts[0])?,
        put_timestamp: parse_ts(&ts[1])?,
        delete_timestamp: parse_ts(&ts[2])?,
        status_changed_at: parse_ts(&ts[3])?,
        status,
        container_count: to_u64(n[0]),
        object_count: to_u64(n[1]),
        bytes_used: to_u64(n[2]),
        metadata: load_metadata(&md)?,
        policy_stats,
    })
}

/// Merges container rows as Swift does: timestamps keep the newest of
/// both, counts come from the report, and the row is deleted when its
/// DELETE is newer than its PUT and it holds no objects.
pub(super) fn merge_rows(tx: &Transaction<'_>, rows: &[ContainerRecord]) -> Result<()> {
    let mut find = tx
        .prepare_cached(
            "SELECT put_timestamp, delete_timestamp FROM container
             WHERE deleted IN (0, 1) AND name = ?1",
        )
        .map_err(sql_err)?;
    let mut del = tx
        .prepare_cached("DELETE FROM container WHERE deleted IN (0, 1) AND name = ?1")
        .map_err(sql_err)?;
    let mut ins = tx
        .prepare_cached(
            "INSERT INTO container (name, put_timestamp, delete_timestamp, object_count,
                                    bytes_used, deleted, storage_policy_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(sql_err)?;
    for rec in rows {
        let mut put = rec.put_timestamp;
        let mut delete = rec.delete_timestamp;
        let existing: Vec<(String, String)> = find
            .query_map([&rec.name], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql_err)?;
        for (p, d) in &existing {
            put = put.max(parse_ts(p)?);
            delete = delete.max(parse_ts(d)?);
        }
        let deleted = delete > put && rec.object_count == 0;
        del.execute([&rec.name]).map_err(sql_err)?;
        ins.execute(params![
            rec.name,
            put.internal(),
            delete.internal(),
            to_i64(rec.object_count),
            to_i64(rec.bytes_used),
            i64::from(deleted),
            rec.storage_policy_index,
        ])
        .map_err(sql_err)?;
    }
    Ok(())
}

pub(super) fn fetch_containers(
    conn: &rusqlite::Connection,
    q: &RangeQuery,
) -> Result<Vec<(String, ContainerEntry)>> {
    let mut sql = String::from(
        "SELECT name, object_count, bytes_used, put_timestamp FROM container WHERE deleted = 0",
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    q.append_sql(&mut sql, &mut args);
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, count, bytes, ts) = row.map_err(sql_err)?;
        out.push((
            name.clone(),
            ContainerEntry {
                name,
                object_count: to_u64(count),
                bytes_used: to_u64(bytes),
                put_timestamp: parse_ts(&ts)?,
            },
        ));
    }
    Ok(out)
}
