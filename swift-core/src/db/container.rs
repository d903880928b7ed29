//! The container database: one SQLite file per container replica holding
//! its status, metadata and one row per object.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Transaction};

use super::listing::{walk, ListingEntry, ListingParams, RangeQuery};
use super::sqlite::{sql_err, DbFile};
use super::{load_metadata, merge_metadata, parse_ts, Metadata};
use crate::error::Result;
use crate::timestamp::Timestamp;

const SCHEMA: &str = "
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

/// The status of a container database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Account name.
    pub account: String,
    /// Container name.
    pub container: String,
    /// When this replica's database was created.
    pub created_at: Timestamp,
    /// Newest PUT of the container.
    pub put_timestamp: Timestamp,
    /// Newest DELETE of the container (zero if never).
    pub delete_timestamp: Timestamp,
    /// When the container last changed between existing and deleted.
    pub status_changed_at: Timestamp,
    /// Live objects.
    pub object_count: u64,
    /// Sum of live objects' sizes.
    pub bytes_used: u64,
    /// `put_timestamp` the account last acknowledged.
    pub reported_put_timestamp: Timestamp,
    /// `delete_timestamp` the account last acknowledged.
    pub reported_delete_timestamp: Timestamp,
    /// `object_count` the account last acknowledged.
    pub reported_object_count: u64,
    /// `bytes_used` the account last acknowledged.
    pub reported_bytes_used: u64,
    /// The container's storage policy.
    pub storage_policy_index: u32,
    /// Metadata, deleted (empty) values included.
    pub metadata: Metadata,
}

impl ContainerInfo {
    /// Swift's rule: deleted when the DELETE is newer than the PUT and no
    /// objects remain.
    pub fn is_deleted(&self) -> bool {
        self.object_count == 0 && self.delete_timestamp > self.put_timestamp
    }

    /// Whether the account has not yet acknowledged the current stats.
    pub fn needs_report(&self) -> bool {
        self.put_timestamp != self.reported_put_timestamp
            || self.delete_timestamp != self.reported_delete_timestamp
            || self.object_count != self.reported_object_count
            || self.bytes_used != self.reported_bytes_used
    }
}

/// One object row, live or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Object name.
    pub name: String,
    /// Timestamp of the PUT or DELETE the row records.
    pub created_at: Timestamp,
    /// Size in bytes (0 for deletes).
    pub size: u64,
    /// Content type.
    pub content_type: String,
    /// MD5 hex of the body.
    pub etag: String,
    /// A deletion marker.
    pub deleted: bool,
    /// The policy the object was written in.
    pub storage_policy_index: u32,
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// Object name.
    pub name: String,
    /// Last-modified timestamp.
    pub created_at: Timestamp,
    /// Size in bytes.
    pub size: u64,
    /// Content type as stored (may carry `;swift_bytes=`).
    pub content_type: String,
    /// MD5 hex.
    pub etag: String,
}

/// A handle on one container database. Cheap to clone; every call runs on
/// the blocking pool.
#[derive(Debug, Clone)]
pub struct ContainerBroker {
    db: Arc<DbFile>,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn read_info(tx: &rusqlite::Connection) -> Result<ContainerInfo> {
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
fn merge_rows(tx: &Transaction<'_>, rows: &[ObjectRecord]) -> Result<usize> {
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

fn fetch_objects(
    conn: &rusqlite::Connection,
    q: &RangeQuery,
    policy: u32,
) -> Result<Vec<(String, ObjectEntry)>> {
    let mut sql = String::from(
        "SELECT name, created_at, size, content_type, etag FROM object
         WHERE deleted = 0 AND storage_policy_index = ?1",
    );
    let mut args: Vec<rusqlite::types::Value> = vec![i64::from(policy).into()];
    if let Some((lower, inclusive)) = &q.lower {
        sql.push_str(if *inclusive {
            " AND name >= ?"
        } else {
            " AND name > ?"
        });
        args.push(lower.clone().into());
    }
    if let Some(upper) = &q.upper {
        sql.push_str(" AND name < ?");
        args.push(upper.clone().into());
    }
    sql.push_str(if q.reverse {
        " ORDER BY name DESC LIMIT ?"
    } else {
        " ORDER BY name LIMIT ?"
    });
    args.push(to_i64(q.limit as u64).into());
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

impl ContainerBroker {
    /// A broker for the database at `path`; `tmp_dir` (on the same
    /// filesystem) is where it is built before it appears. `durable` makes
    /// every commit fsync.
    pub fn new(path: PathBuf, tmp_dir: PathBuf, durable: bool) -> Self {
        Self {
            db: DbFile::new(path, tmp_dir, durable),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// Whether the database file exists.
    pub async fn exists(&self) -> bool {
        tokio::fs::try_exists(self.db.path()).await.unwrap_or(false)
    }

    fn what(&self) -> String {
        format!("container db {}", self.db.path().display())
    }

    /// Creates the database for `account/container` with the given PUT
    /// timestamp and policy. Returns false when it already exists.
    pub async fn initialize(
        &self,
        account: &str,
        container: &str,
        put_timestamp: Timestamp,
        storage_policy_index: u32,
    ) -> Result<bool> {
        let (a, c) = (account.to_string(), container.to_string());
        let now = Timestamp::now().internal();
        self.db
            .create(move |tx| {
                tx.execute_batch(SCHEMA).map_err(sql_err)?;
                tx.execute(
                    "INSERT INTO container_stat (id, account, container, created_at,
                        put_timestamp, status_changed_at, storage_policy_index)
                     VALUES (0, ?1, ?2, ?3, ?4, ?4, ?5)",
                    params![a, c, now, put_timestamp.internal(), storage_policy_index],
                )
                .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    /// The container's status. [`crate::Error::NotFound`] if no database.
    pub async fn info(&self) -> Result<ContainerInfo> {
        self.db.with_conn(self.what(), |c| read_info(c)).await
    }

    /// Merges object rows in one transaction; returns how many changed.
    pub async fn merge_objects(&self, rows: Vec<ObjectRecord>) -> Result<usize> {
        self.db
            .with_conn(self.what(), move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let n = merge_rows(&tx, &rows)?;
                tx.commit().map_err(sql_err)?;
                Ok(n)
            })
            .await
    }

    /// Records an object PUT; ignored if a newer row exists.
    pub async fn put_object(&self, rec: ObjectRecord) -> Result<bool> {
        Ok(self.merge_objects(vec![rec]).await? > 0)
    }

    /// Records an object DELETE; ignored if a newer row exists.
    pub async fn delete_object(
        &self,
        name: &str,
        timestamp: Timestamp,
        storage_policy_index: u32,
    ) -> Result<bool> {
        self.put_object(ObjectRecord {
            name: name.to_string(),
            created_at: timestamp,
            size: 0,
            content_type: String::new(),
            etag: String::new(),
            deleted: true,
            storage_policy_index,
        })
        .await
    }

    async fn exec(&self, sql: &'static str, args: Vec<rusqlite::types::Value>) -> Result<()> {
        self.db
            .with_conn(self.what(), move |c| {
                c.execute(sql, rusqlite::params_from_iter(args))
                    .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    /// Moves `put_timestamp` forward (never back).
    pub async fn update_put_timestamp(&self, ts: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE container_stat SET put_timestamp = ?1 WHERE put_timestamp < ?1",
            vec![ts.internal().into()],
        )
        .await
    }

    /// Sets when the container last changed between existing and deleted.
    pub async fn update_status_changed_at(&self, ts: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE container_stat SET status_changed_at = ?1 WHERE status_changed_at < ?1",
            vec![ts.internal().into()],
        )
        .await
    }

    /// Sets the storage policy (only done for new or recreated containers).
    pub async fn set_storage_policy_index(&self, index: u32) -> Result<()> {
        self.exec(
            "UPDATE container_stat SET storage_policy_index = ?1",
            vec![i64::from(index).into()],
        )
        .await
    }

    /// Marks the container deleted at `ts` and clears its metadata, as
    /// Swift's `delete_db` does.
    pub async fn delete_db(&self, ts: Timestamp) -> Result<()> {
        self.db
            .with_conn(self.what(), move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let md: String = tx
                    .query_row("SELECT metadata FROM container_stat", [], |r| r.get(0))
                    .map_err(sql_err)?;
                let mut md = load_metadata(&md)?;
                let cleared: Metadata = md
                    .keys()
                    .map(|k| (k.clone(), (String::new(), ts)))
                    .collect();
                merge_metadata(&mut md, cleared);
                tx.execute(
                    "UPDATE container_stat SET metadata = ?1",
                    [super::dump_metadata(&md)?],
                )
                .map_err(sql_err)?;
                tx.execute(
                    "UPDATE container_stat SET delete_timestamp = ?1, status_changed_at = ?1
                     WHERE delete_timestamp < ?1",
                    [ts.internal()],
                )
                .map_err(sql_err)?;
                tx.commit().map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    /// Merges metadata: each key keeps the value with the newest timestamp.
    pub async fn update_metadata(&self, updates: Metadata) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.db
            .with_conn(self.what(), move |c| {
                super::update_metadata_tx(c, "container_stat", updates)
            })
            .await
    }

    /// Records the stats the account server acknowledged.
    pub async fn reported(
        &self,
        put_timestamp: Timestamp,
        delete_timestamp: Timestamp,
        object_count: u64,
        bytes_used: u64,
    ) -> Result<()> {
        self.exec(
            "UPDATE container_stat SET reported_put_timestamp = ?1,
                reported_delete_timestamp = ?2, reported_object_count = ?3,
                reported_bytes_used = ?4",
            vec![
                put_timestamp.internal().into(),
                delete_timestamp.internal().into(),
                to_i64(object_count).into(),
                to_i64(bytes_used).into(),
            ],
        )
        .await
    }

    /// Lists live objects of the container's policy.
    pub async fn list_objects(
        &self,
        params: ListingParams,
        storage_policy_index: u32,
    ) -> Result<Vec<ListingEntry<ObjectEntry>>> {
        self.db
            .with_conn(self.what(), move |c| {
                walk(&params, |q| fetch_objects(c, q, storage_policy_index))
            })
            .await
    }

    /// The newest row (live or deleted) for a name, if any.
    pub async fn get_object(&self, name: &str) -> Result<Option<ObjectRecord>> {
        let name = name.to_string();
        self.db
            .with_conn(self.what(), move |c| {
                let row = c
                    .query_row(
                        "SELECT created_at, size, content_type, etag, deleted, storage_policy_index
                         FROM object WHERE deleted IN (0, 1) AND name = ?1
                         ORDER BY created_at DESC LIMIT 1",
                        [&name],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, i64>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, String>(3)?,
                                r.get::<_, i64>(4)?,
                                r.get::<_, i64>(5)?,
                            ))
                        },
                    )
                    .optional()
                    .map_err(sql_err)?;
                row.map(|(ts, size, ct, etag, del, pol)| {
                    Ok(ObjectRecord {
                        name: name.clone(),
                        created_at: parse_ts(&ts)?,
                        size: to_u64(size),
                        content_type: ct,
                        etag,
                        deleted: del != 0,
                        storage_policy_index: u32::try_from(pol).unwrap_or(0),
                    })
                })
                .transpose()
            })
            .await
    }
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;
