//! The account database: one SQLite file per account replica holding its
//! status, metadata and one row per container.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{params, Transaction};

use super::listing::{walk, ListingEntry, ListingParams, RangeQuery};
use super::sqlite::{sql_err, DbFile};
use super::{load_metadata, merge_metadata, parse_ts, Metadata};
use crate::error::Result;
use crate::timestamp::Timestamp;

const SCHEMA: &str = "
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

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn read_info(c: &rusqlite::Connection) -> Result<AccountInfo> {
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
fn merge_rows(tx: &Transaction<'_>, rows: &[ContainerRecord]) -> Result<()> {
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

fn fetch_containers(
    conn: &rusqlite::Connection,
    q: &RangeQuery,
) -> Result<Vec<(String, ContainerEntry)>> {
    let mut sql = String::from(
        "SELECT name, object_count, bytes_used, put_timestamp FROM container WHERE deleted = 0",
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
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
mod tests {
    use super::*;

    fn ts(n: u64) -> Timestamp {
        Timestamp::from_ticks(n * 100_000)
    }

    fn rec(name: &str, put: u64, del: u64, count: u64, bytes: u64) -> ContainerRecord {
        ContainerRecord {
            name: name.into(),
            put_timestamp: ts(put),
            delete_timestamp: ts(del),
            object_count: count,
            bytes_used: bytes,
            storage_policy_index: 0,
        }
    }

    #[tokio::test]
    async fn container_rows_merge_and_stats() {
        let dir = tempfile::tempdir().unwrap();
        let b = AccountBroker::new(dir.path().join("a/a.db"), dir.path().join("tmp"), false);
        assert!(b.initialize("AUTH_a", ts(1)).await.unwrap());
        b.put_container(rec("c1", 2, 0, 3, 30)).await.unwrap();
        b.put_container(rec("c2", 2, 0, 1, 5)).await.unwrap();
        b.put_container(rec("c1", 2, 0, 4, 40)).await.unwrap();
        let i = b.info().await.unwrap();
        assert_eq!(
            (i.container_count, i.object_count, i.bytes_used),
            (2, 5, 45)
        );
        assert_eq!(i.policy_stats, vec![(0, 2, 5, 45)]);
        // A delete report for c2 marks it deleted.
        b.put_container(rec("c2", 2, 3, 0, 0)).await.unwrap();
        let i = b.info().await.unwrap();
        assert_eq!(
            (i.container_count, i.object_count, i.bytes_used),
            (1, 4, 40)
        );
        // A stale PUT report keeps the newer delete timestamp: still deleted.
        b.put_container(rec("c2", 1, 0, 0, 0)).await.unwrap();
        let names: Vec<_> = b
            .list_containers(ListingParams::default())
            .await
            .unwrap()
            .into_iter()
            .map(|e| match e {
                ListingEntry::Item(c) => c.name,
                ListingEntry::Subdir(d) => d,
            })
            .collect();
        assert_eq!(names, ["c1"]);
        // Recreated after the delete.
        b.put_container(rec("c2", 4, 3, 0, 0)).await.unwrap();
        assert_eq!(b.info().await.unwrap().container_count, 2);
    }

    #[tokio::test]
    async fn status_delete_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let b = AccountBroker::new(dir.path().join("a/a.db"), dir.path().join("tmp"), false);
        b.initialize("AUTH_a", ts(1)).await.unwrap();
        let mut md = Metadata::new();
        md.insert("x-account-meta-k".into(), ("v".into(), ts(2)));
        b.update_metadata(md).await.unwrap();
        assert!(!b.info().await.unwrap().is_deleted());
        b.delete_db(ts(3)).await.unwrap();
        let i = b.info().await.unwrap();
        assert!(i.is_deleted() && i.is_status_deleted());
        assert_eq!(i.metadata["x-account-meta-k"].0, "");
    }

    #[tokio::test]
    async fn listing_with_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let b = AccountBroker::new(dir.path().join("a/a.db"), dir.path().join("tmp"), false);
        b.initialize("AUTH_a", ts(1)).await.unwrap();
        let rows = ["a-1", "a-2", "b", "c-x-y"]
            .iter()
            .map(|n| rec(n, 2, 0, 0, 0))
            .collect();
        b.merge_containers(rows).await.unwrap();
        let p = ListingParams {
            delimiter: Some("-".into()),
            ..Default::default()
        };
        let out = b.list_containers(p).await.unwrap();
        assert_eq!(
            out.iter()
                .map(|e| match e {
                    ListingEntry::Item(c) => c.name.clone(),
                    ListingEntry::Subdir(d) => format!("D:{d}"),
                })
                .collect::<Vec<_>>(),
            ["D:a-", "b", "D:c-"]
        );
    }
}
