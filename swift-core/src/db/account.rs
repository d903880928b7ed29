//! The account database: one SQLite file per account replica holding its
//! status, metadata and one row per container.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::params;

use super::account_sql::{fetch_containers, merge_rows, read_info, SCHEMA};
use super::listing::{walk, ListingEntry, ListingParams};
use super::sqlite::{sql_err, DbFile};
use super::{load_metadata, merge_metadata, Metadata};
use crate::error::Result;
use crate::timestamp::Timestamp;

/// The status of an account database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// Account name.
    pub account: String,
    /// When this replica's database was created.
    pub created_at: Timestamp,
    /// Newest PUT of the account.
    pub put_timestamp: Timestamp,
    /// Newest DELETE of the account (zero if never).
    pub delete_timestamp: Timestamp,
    /// When the account last changed status.
    pub status_changed_at: Timestamp,
    /// `DELETED` once the account was deleted, else empty.
    pub status: String,
    /// Live containers.
    pub container_count: u64,
    /// Objects in live containers.
    pub object_count: u64,
    /// Bytes in live containers.
    pub bytes_used: u64,
    /// Metadata, deleted (empty) values included.
    pub metadata: Metadata,
    /// Per storage policy: (index, container count, object count, bytes).
    pub policy_stats: Vec<(u32, u64, u64, u64)>,
}

impl AccountInfo {
    /// Whether the account was explicitly deleted (awaiting the reaper).
    pub fn is_status_deleted(&self) -> bool {
        self.status == "DELETED"
    }

    /// Swift's rule: deleted when marked so, or when the DELETE is newer
    /// than the PUT and no containers remain.
    pub fn is_deleted(&self) -> bool {
        self.is_status_deleted()
            || (self.container_count == 0 && self.delete_timestamp > self.put_timestamp)
    }
}

/// A container row as container servers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// Container name.
    pub name: String,
    /// The container's PUT timestamp.
    pub put_timestamp: Timestamp,
    /// The container's DELETE timestamp (zero if never).
    pub delete_timestamp: Timestamp,
    /// Objects in the container.
    pub object_count: u64,
    /// Bytes in the container.
    pub bytes_used: u64,
    /// The container's storage policy.
    pub storage_policy_index: u32,
}

/// A container as an account listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEntry {
    /// Container name.
    pub name: String,
    /// Objects.
    pub object_count: u64,
    /// Bytes.
    pub bytes_used: u64,
    /// The container's PUT timestamp (`last_modified`).
    pub put_timestamp: Timestamp,
}

/// A handle on one account database. Cheap to clone; every call runs on
/// the blocking pool.
#[derive(Debug, Clone)]
pub struct AccountBroker {
    db: Arc<DbFile>,
}

impl AccountBroker {
    /// A broker for the database at `path`; `tmp_dir` (same filesystem) is
    /// where it is built. `durable` makes every commit fsync.
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
        format!("account db {}", self.db.path().display())
    }

    /// Creates the database; false when it already exists.
    pub async fn initialize(&self, account: &str, put_timestamp: Timestamp) -> Result<bool> {
        let a = account.to_string();
        let now = Timestamp::now().internal();
        self.db
            .create(move |tx| {
                tx.execute_batch(SCHEMA).map_err(sql_err)?;
                tx.execute(
                    "INSERT INTO account_stat (id, account, created_at, put_timestamp,
                        status_changed_at)
                     VALUES (0, ?1, ?2, ?3, ?3)",
                    params![a, now, put_timestamp.internal()],
                )
                .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    /// The account's status. [`crate::Error::NotFound`] if no database.
    pub async fn info(&self) -> Result<AccountInfo> {
        self.db.with_conn(self.what(), |c| read_info(c)).await
    }

    /// Moves `put_timestamp` forward (never back).
    pub async fn update_put_timestamp(&self, ts: Timestamp) -> Result<()> {
        self.db
            .with_conn(self.what(), move |c| {
                c.execute(
                    "UPDATE account_stat SET put_timestamp = ?1 WHERE put_timestamp < ?1",
                    [ts.internal()],
                )
                .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    /// Marks the account deleted at `ts` and clears its metadata.
    pub async fn delete_db(&self, ts: Timestamp) -> Result<()> {
        self.db
            .with_conn(self.what(), move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let md: String = tx
                    .query_row("SELECT metadata FROM account_stat", [], |r| r.get(0))
                    .map_err(sql_err)?;
                let mut md = load_metadata(&md)?;
                let cleared: Metadata = md
                    .keys()
                    .map(|k| (k.clone(), (String::new(), ts)))
                    .collect();
                merge_metadata(&mut md, cleared);
                tx.execute(
                    "UPDATE account_stat SET metadata = ?1",
                    [super::dump_metadata(&md)?],
                )
                .map_err(sql_err)?;
                tx.execute(
                    "UPDATE account_stat SET delete_timestamp = ?1, status = 'DELETED',
                        status_changed_at = ?1
                     WHERE delete_timestamp < ?1",
                    [ts.internal()],
                )
                .map_err(sql_err)?;
                tx.commit().map_err(sql_err)
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
                super::update_metadata_tx(c, "account_stat", updates)
            })
            .await
    }

    /// Merges container rows in one transaction.
    pub async fn merge_containers(&self, rows: Vec<ContainerRecord>) -> Result<()> {
        self.db
            .with_conn(self.what(), move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                merge_rows(&tx, &rows)?;
                tx.commit().map_err(sql_err)
            })
            .await
    }

    /// Records one container's report.
    pub async fn put_container(&self, rec: ContainerRecord) -> Result<()> {
        self.merge_containers(vec![rec]).await
    }

    /// Lists live containers.
    pub async fn list_containers(
        &self,
        params: ListingParams,
    ) -> Result<Vec<ListingEntry<ContainerEntry>>> {
        self.db
            .with_conn(self.what(), move |c| {
                walk(&params, |q| fetch_containers(c, q))
            })
            .await
    }
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
