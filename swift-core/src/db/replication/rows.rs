//! Rows on the wire: reading rows since a sync point and merging a batch
//! from another replica.

use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::db::sqlite::{sql_err, to_i64, to_u64};
use crate::db::{account::ContainerRecord, container::ObjectRecord, parse_ts, DbKind};
use crate::error::Result;

/// A batch of rows of either kind, as shipped between replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
pub(crate) enum Rows {
    /// Object rows of a container database.
    Objects(Vec<ObjectRow>),
    /// Container rows of an account database.
    Containers(Vec<ContainerRow>),
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        match self {
            Rows::Objects(r) => r.len(),
            Rows::Containers(r) => r.len(),
        }
    }
}

/// An object row on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjectRow {
    pub(crate) name: String,
    pub(crate) created_at: String,
    pub(crate) size: u64,
    pub(crate) content_type: String,
    pub(crate) etag: String,
    pub(crate) deleted: bool,
    pub(crate) storage_policy_index: u32,
}

/// A container row on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContainerRow {
    pub(crate) name: String,
    pub(crate) put_timestamp: String,
    pub(crate) delete_timestamp: String,
    pub(crate) object_count: u64,
    pub(crate) bytes_used: u64,
    pub(crate) storage_policy_index: u32,
}

/// Up to `limit` rows with `ROWID > point`, in `ROWID` order, and the
/// `ROWID` of the last one (`point` when none).
pub(crate) fn rows_since(
    c: &Connection,
    kind: DbKind,
    point: i64,
    limit: usize,
) -> Result<(Rows, i64)> {
    let limit = to_i64(limit as u64);
    let mut last = point;
    match kind {
        DbKind::Container => {
            let mut stmt = c
                .prepare_cached(
                    "SELECT ROWID, name, created_at, size, content_type, etag, deleted,
                            storage_policy_index
                     FROM object WHERE ROWID > ?1 ORDER BY ROWID LIMIT ?2",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![point, limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        ObjectRow {
                            name: r.get(1)?,
                            created_at: r.get(2)?,
                            size: to_u64(r.get(3)?),
                            content_type: r.get(4)?,
                            etag: r.get(5)?,
                            deleted: r.get::<_, i64>(6)? != 0,
                            storage_policy_index: u32::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
                        },
                    ))
                })
                .map_err(sql_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql_err)?;
            if let Some((id, _)) = rows.last() {
                last = *id;
            }
            Ok((
                Rows::Objects(rows.into_iter().map(|(_, r)| r).collect()),
                last,
            ))
        }
        DbKind::Account => {
            let mut stmt = c
                .prepare_cached(
                    "SELECT ROWID, name, put_timestamp, delete_timestamp, object_count,
                            bytes_used, storage_policy_index
                     FROM container WHERE ROWID > ?1 ORDER BY ROWID LIMIT ?2",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![point, limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        ContainerRow {
                            name: r.get(1)?,
                            put_timestamp: r.get(2)?,
                            delete_timestamp: r.get(3)?,
                            object_count: to_u64(r.get(4)?),
                            bytes_used: to_u64(r.get(5)?),
                            storage_policy_index: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
                        },
                    ))
                })
                .map_err(sql_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql_err)?;
            if let Some((id, _)) = rows.last() {
                last = *id;
            }
            Ok((
                Rows::Containers(rows.into_iter().map(|(_, r)| r).collect()),
                last,
            ))
        }
    }
}

/// Merges rows by their timestamps (the same rules as updates from the
/// proxy or container servers). A batch of the wrong kind is refused.
pub(crate) fn merge_rows(tx: &Transaction<'_>, kind: DbKind, rows: &Rows) -> Result<()> {
    match (kind, rows) {
        (DbKind::Container, Rows::Objects(rows)) => {
            let recs = rows
                .iter()
                .map(|r| {
                    Ok(ObjectRecord {
                        name: r.name.clone(),
                        created_at: parse_ts(&r.created_at)?,
                        size: r.size,
                        content_type: r.content_type.clone(),
                        etag: r.etag.clone(),
                        deleted: r.deleted,
                        storage_policy_index: r.storage_policy_index,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            crate::db::container_sql::merge_rows(tx, &recs)?;
            Ok(())
        }
        (DbKind::Account, Rows::Containers(rows)) => {
            let recs = rows
                .iter()
                .map(|r| {
                    Ok(ContainerRecord {
                        name: r.name.clone(),
                        put_timestamp: parse_ts(&r.put_timestamp)?,
                        delete_timestamp: parse_ts(&r.delete_timestamp)?,
                        object_count: r.object_count,
                        bytes_used: r.bytes_used,
                        storage_policy_index: r.storage_policy_index,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            crate::db::account_sql::merge_rows(tx, &recs)
        }
        _ => Err(crate::error::Error::invalid("rows of the wrong kind")),
    }
}
