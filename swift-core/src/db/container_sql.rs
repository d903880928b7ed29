//! SQL of the container database: schema, row merge and range queries.

use rusqlite::{params, Transaction};

use super::container::*;
use super::listing::RangeQuery;
use super::sqlite::{sql_err, to_i64, to_u64};
use super::{load_metadata, parse_ts};
use crate::error::Result;

pub(super) const SCHEMA: &str = "
CREATE TABLE container_stat (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    created_at TEXT NOT NULL,
    put_timestamp TEXT NOT NULL,
    delete_timestamp TEXT NOT NULL DEFAULT '0',
    status_changed_at TEXT NOT NULL,
    object_count INTEGER NOT NULL DEFAULT 0,
    bytes_used INTEGER NOT NULL DEFAULT 0,
    reported_put_timestamp TEXT NOT NULL DEFAULT '0',
    reported_delete_timestamp TEXT NOT NULL DEFAULT '0',
    reported_object_count INTEGER NOT NULL DEFAULT 0,
    reported_bytes_used INTEGER NOT NULL DEFAULT 0,
    storage_policy_index INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT ''
);
CREATE TABLE object (
    ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    etag TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    storage_policy_index INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_object_deleted_name ON object (deleted, name);
CREATE TRIGGER object_insert AFTER INSERT ON object BEGIN
    UPDATE container_stat SET
        object_count = object_count + (1 - new.deleted),
        bytes_used = bytes_used + CASE WHEN new.deleted THEN 0 ELSE new.size END;
END;
CREATE TRIGGER object_delete AFTER DELETE ON object BEGIN
    UPDATE container_stat SET
        object_count = object_count - (1 - old.deleted),
        bytes_used = bytes_used - CASE WHEN old.deleted THEN 0 ELSE old.size END;
END;
";

pub(super) fn read_info(tx: &rusqlite::Connection) -> Result<ContainerInfo> {
    let row = tx
        .query_row(
            "SELECT account, container, created_at, put_timestamp, delete_timestamp,
                    status_changed_at, object_count, bytes_used, reported_put_timestamp,
                    reported_delete_timestamp, reported_object_count, reported_bytes_used,
                    storage_policy_index, metadata
             FROM container_stat",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    [
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, String>(9)?,
                    ],
                    [
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, i64>(10)?,
                        r.get::<_, i64>(11)?,
                        r.get::<_, i64>(12)?,
                    ],
                    r.get::<_, String>(13)?,
                ))
            },
        )
        .map_err(sql_err)?;
    let (account, container, ts, n, md) = row;
    Ok(ContainerInfo {
        account,
        container,
        created_at: parse_ts(&ts[0])?,
        put_timestamp: parse_ts(&ts[1])?,
        delete_timestamp: parse_ts(&ts[2])?,
        status_changed_at: parse_ts(&ts[3])?,
        object_count: to_u64(n[0]),
        bytes_used: to_u64(n[1]),
        reported_put_timestamp: parse_ts(&ts[4])?,
        reported_delete_timestamp: parse_ts(&ts[5])?,
        reported_object_count: to_u64(n[2]),
        reported_bytes_used: to_u64(n[3]),
        storage_policy_index: u32::try_from(n[4]).unwrap_or(0),
        metadata: load_metadata(&md)?,
    })
}

/// Merges object rows: a row replaces an existing one of the same name and
/// policy only when its timestamp is newer.
pub(super) fn merge_rows(tx: &Transaction<'_>, rows: &[ObjectRecord]) -> Result<usize> {
    let mut changed = 0;
    let mut find = tx
        .prepare_cached(
            "SELECT ROWID, created_at FROM object
             WHERE deleted IN (0, 1) AND name = ?1 AND storage_policy_index = ?2",
        )
        .map_err(sql_err)?;
    let mut del = tx
        .prepare_cached("DELETE FROM object WHERE ROWID = ?1")
        .map_err(sql_err)?;
    let mut ins = tx
        .prepare_cached(
            "INSERT INTO object (name, created_at, size, content_type, etag, deleted,
                                 storage_policy_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(sql_err)?;
    for rec in rows {
        let existing: Vec<(i64, String)> = find
            .query_map(params![rec.name, rec.storage_policy_index], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(sql_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql_err)?;
        let mut newer_exists = false;
        for (_, ts) in &existing {
            if parse_ts(ts)? >= rec.created_at {
                newer_exists = true;
            }
        }
        if newer_exists {
            continue;
        }
        for (rowid, _) in &existing {
            del.execute([rowid]).map_err(sql_err)?;
        }
        ins.execute(params![
            rec.name,
            rec.created_at.internal(),
            to_i64(rec.size),
            rec.content_type,
            rec.etag,
            i64::from(rec.deleted),
            rec.storage_policy_index,
        ])
        .map_err(sql_err)?;
        changed += 1;
    }
    Ok(changed)
}

/// The listing query before its range bounds.
const OBJECT_LISTING: &str = "SELECT name, created_at, size, content_type, etag FROM object
     WHERE deleted = 0 AND storage_policy_index = ?1";

pub(super) fn fetch_objects(
    conn: &rusqlite::Connection,
    q: &RangeQuery,
    policy: u32,
) -> Result<Vec<(String, ObjectEntry)>> {
    let mut sql = String::from(OBJECT_LISTING);
    let mut args: Vec<rusqlite::types::Value> = vec![i64::from(policy).into()];
    q.append_sql(&mut sql, &mut args);
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, ts, size, content_type, etag) = row.map_err(sql_err)?;
        out.push((
            name.clone(),
            ObjectEntry {
                name,
                created_at: parse_ts(&ts)?,
                size: to_u64(size),
                content_type,
                etag,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listing query walks the (deleted, name) index in order: no
    /// full scan, no sort, whatever the bounds and direction.
    #[test]
    fn listing_queries_use_the_name_index() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        for reverse in [false, true] {
            for (lower, upper) in [
                (None, None),
                (Some(("m".to_string(), false)), None),
                (Some(("p/".to_string(), true)), Some("p0".to_string())),
            ] {
                let q = RangeQuery {
                    lower,
                    upper,
                    reverse,
                    limit: 10,
                };
                let mut sql = String::from("EXPLAIN QUERY PLAN ");
                sql.push_str(OBJECT_LISTING);
                let mut args: Vec<rusqlite::types::Value> = vec![0i64.into()];
                q.append_sql(&mut sql, &mut args);
                let mut stmt = conn.prepare(&sql).unwrap();
                let plan: Vec<String> = stmt
                    .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                let plan = plan.join("; ");
                assert!(plan.contains("ix_object_deleted_name"), "{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{plan}");
            }
        }
    }
}
