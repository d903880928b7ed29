//! The container database: one SQLite file per container replica holding
//! its status, metadata and one row per object.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, OptionalExtension};

use super::container_sql::{fetch_objects, merge_rows, read_info, SCHEMA};
use super::listing::{walk, ListingEntry, ListingParams};
use super::sqlite::{sql_err, to_i64, to_u64, DbFile};
use super::{load_metadata, merge_metadata, parse_ts, Metadata};
use crate::error::Result;
use crate::timestamp::Timestamp;

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
