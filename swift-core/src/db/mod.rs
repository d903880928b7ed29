//! Container and account databases: one SQLite file per container and per
//! account replica, as Swift keeps them.
//!
//! A database lives at
//! `<devices>/<device>/{containers,accounts}/<part>/<suffix>/<hash>/<hash>.db`
//! where `hash` is the path hash of `account/container` (or `account`).
//! It is built in the device's `tmp/` and linked into place, so it appears
//! complete or not at all. Every SQLite call runs on tokio's blocking pool;
//! the log is in WAL mode and each commit is fsynced when the node is
//! configured to fsync.
//!
//! Rows are never updated in place: a newer row replaces the older one
//! with a new `ROWID`, so replicators can later ship "rows since N".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::PathHash;
use crate::node::NodeConfig;
use crate::timestamp::Timestamp;

pub mod account;
mod account_sql;
pub mod container;
mod container_sql;
pub mod format;
pub mod listing;
pub(crate) mod replication;
pub(crate) mod request;
pub(crate) mod sqlite;

pub use account::{AccountBroker, AccountInfo, ContainerEntry, ContainerRecord};
pub use container::{ContainerBroker, ContainerInfo, ObjectEntry, ObjectRecord};
pub use listing::{ListingEntry, ListingParams};

/// Metadata of an account or container: header name (lowercase) to value
/// and the timestamp it was set at. An empty value marks a deleted item.
pub type Metadata = BTreeMap<String, (String, Timestamp)>;

/// Which kind of database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// An account database, under `accounts/`.
    Account,
    /// A container database, under `containers/`.
    Container,
}

impl DbKind {
    /// The data directory name under a device.
    pub fn datadir(self) -> &'static str {
        match self {
            DbKind::Account => "accounts",
            DbKind::Container => "containers",
        }
    }
}

/// The path of a database file on a device.
pub fn db_path(
    devices: &Path,
    device: &str,
    kind: DbKind,
    partition: u32,
    hash: &PathHash,
) -> PathBuf {
    let hex = hash.to_hex();
    devices
        .join(device)
        .join(kind.datadir())
        .join(partition.to_string())
        .join(hash.suffix())
        .join(&hex)
        .join(format!("{hex}.db"))
}

/// The broker of a container's database on one device of a node.
pub fn container_broker(
    config: &NodeConfig,
    device: &str,
    partition: u32,
    account: &str,
    container: &str,
) -> ContainerBroker {
    let h = config.hash.hash_path(account, Some(container), None);
    ContainerBroker::new(
        db_path(&config.devices, device, DbKind::Container, partition, &h),
        config.devices.join(device).join("tmp"),
        config.fsync,
    )
}

/// The broker of an account's database on one device of a node.
pub fn account_broker(
    config: &NodeConfig,
    device: &str,
    partition: u32,
    account: &str,
) -> AccountBroker {
    let h = config.hash.hash_path(account, None, None);
    AccountBroker::new(
        db_path(&config.devices, device, DbKind::Account, partition, &h),
        config.devices.join(device).join("tmp"),
        config.fsync,
    )
}

pub(crate) fn parse_ts(s: &str) -> Result<Timestamp> {
    s.parse().map_err(|_| Error::Corrupt {
        what: format!("timestamp {s:?} in database"),
    })
}

/// Parses the stored JSON `{name: [value, timestamp]}`.
pub(crate) fn load_metadata(s: &str) -> Result<Metadata> {
    if s.is_empty() {
        return Ok(Metadata::new());
    }
    let raw: BTreeMap<String, (String, String)> =
        serde_json::from_str(s).map_err(|_| Error::Corrupt {
            what: "metadata in database".into(),
        })?;
    raw.into_iter()
        .map(|(k, (v, ts))| Ok((k, (v, parse_ts(&ts)?))))
        .collect()
}

pub(crate) fn dump_metadata(md: &Metadata) -> Result<String> {
    let raw: BTreeMap<&String, (&String, String)> = md
        .iter()
        .map(|(k, (v, ts))| (k, (v, ts.internal())))
        .collect();
    serde_json::to_string(&raw).map_err(|e| Error::Backend {
        backend: "sqlite",
        source: Box::new(e),
    })
}

/// Merges `updates` into `md`: a key takes the update only if its
/// timestamp is newer. Returns whether anything changed.
pub(crate) fn merge_metadata(md: &mut Metadata, updates: Metadata) -> bool {
    let mut changed = false;
    for (k, (v, ts)) in updates {
        let k = k.to_ascii_lowercase();
        let newer = md.get(&k).is_none_or(|(_, old)| ts > *old);
        if newer {
            md.insert(k, (v, ts));
            changed = true;
        }
    }
    changed
}

pub(crate) fn update_metadata_tx(
    c: &mut rusqlite::Connection,
    table: &'static str,
    updates: Metadata,
) -> Result<()> {
    use sqlite::sql_err;
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let md: String = tx
        .query_row(&format!("SELECT metadata FROM {table}"), [], |r| r.get(0))
        .map_err(sql_err)?;
    let mut md = load_metadata(&md)?;
    if merge_metadata(&mut md, updates) {
        tx.execute(
            &format!("UPDATE {table} SET metadata = ?1"),
            [dump_metadata(&md)?],
        )
        .map_err(sql_err)?;
    }
    tx.commit().map_err(sql_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_newest_wins() {
        let t1 = Timestamp::from_ticks(1);
        let t2 = Timestamp::from_ticks(2);
        let mut md = Metadata::new();
        md.insert("x-container-meta-a".into(), ("1".into(), t2));
        let mut up = Metadata::new();
        up.insert("X-Container-Meta-A".into(), ("old".into(), t1));
        up.insert("x-container-meta-b".into(), ("".into(), t1));
        assert!(merge_metadata(&mut md, up));
        assert_eq!(md["x-container-meta-a"].0, "1");
        assert_eq!(md["x-container-meta-b"].0, "");
        let s = dump_metadata(&md).unwrap();
        assert!(s.contains("[\"1\",\"0000000000.00002\"]"));
        assert_eq!(load_metadata(&s).unwrap(), md);
    }

    #[test]
    fn paths_follow_swift_layout() {
        let h = PathHash([0xab; 16]);
        let p = db_path(Path::new("/srv"), "sda", DbKind::Container, 7, &h);
        let hex = h.to_hex();
        assert_eq!(
            p,
            PathBuf::from(format!(
                "/srv/sda/containers/7/{}/{hex}/{hex}.db",
                &hex[29..]
            ))
        );
    }
}
