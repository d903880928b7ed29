//! The container and account replicators: bring every replica of a
//! database to the same rows.
//!
//! For each local database and each other primary of its partition the
//! replicator sends its summary (`REPLICATE ?op=sync`). No replica there:
//! it copies the whole file (`op=file`, Swift's rsync). Same row hash, or
//! the remote already has every local row: nothing to do. Otherwise it
//! sends the rows above the remote's sync point for this database in
//! batches (`op=merge_items`), merged there by row timestamps. A database
//! on a device that is not one of its primaries (a handoff) is removed
//! once every primary has it. Deleted databases are removed after
//! `reclaim_age`, and deletion rows older than that are dropped.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::StreamExt;

use super::walk::{remove_db, walk_dbs, DbLocation};
use super::{Daemon, PassReport};
use crate::db::replication::{
    reclaim_rows, rows_since, set_sync_point, sync_info, MergeItems, Rows, SyncInfo,
};
use crate::db::sqlite::{blocking, sql_err, DbFile};
use crate::db::{AccountBroker, ContainerBroker, DbKind};
use crate::error::{Error, Result};
use crate::hash::PathHash;
use crate::node::{NodeClient, NodeConfig, NodeMethod, NodeRequest, SERVER_TYPE_HEADER};
use crate::ring::{RingKind, Rings};
use crate::stream;
use crate::timestamp::Timestamp;

/// Settings of a database replicator.
#[derive(Debug, Clone)]
pub struct DbReplicatorConfig {
    /// Containers or accounts.
    pub kind: DbKind,
    /// The node's devices, hash secret and fsync setting.
    pub node: NodeConfig,
    /// The `ip:port` addresses under which this node's devices appear in
    /// the ring; a ring device is local when its host is listed here and
    /// its name is the device directory's.
    pub local_hosts: Vec<String>,
    /// Age after which deleted databases and deletion rows are removed.
    pub reclaim_age: Duration,
    /// Rows per `merge_items` request.
    pub batch_rows: usize,
    /// Databases replicated at once.
    pub concurrency: usize,
}

impl DbReplicatorConfig {
    /// Defaults: a week's `reclaim_age` (Swift's), 1000 rows per batch,
    /// 4 databases at once.
    pub fn new(kind: DbKind, node: NodeConfig, local_hosts: Vec<String>) -> Self {
        Self {
            kind,
            node,
            local_hosts,
            reclaim_age: Duration::from_secs(7 * 24 * 3600),
            batch_rows: 1000,
            concurrency: 4,
        }
    }
}

/// The replicator of one kind of database on one node; a [`Daemon`] named
/// `container-replicator` or `account-replicator`.
///
/// Counters of each pass: `dbs_checked` (local databases), `rows_sent`,
/// `files_copied` (whole-database copies to nodes without a replica),
/// `no_change` (replica pairs already in sync), `handoffs_removed`,
/// `reclaimed` (deleted databases removed after `reclaim_age`) and
/// `errors` (failed exchanges; the database is retried next pass and a
/// handoff is kept until every primary has it).
#[derive(Debug)]
pub struct DbReplicator {
    cfg: DbReplicatorConfig,
    rings: Arc<Rings>,
    client: Arc<dyn NodeClient>,
}

/// What replicating one database did.
#[derive(Debug, Default)]
struct Outcome {
    rows_sent: u64,
    files_copied: u64,
    no_change: u64,
    handoffs_removed: u64,
    reclaimed: u64,
    errors: u64,
}

impl DbReplicator {
    /// A replicator locating replicas with `rings` and reaching them with
    /// `client`.
    pub fn new(cfg: DbReplicatorConfig, rings: Arc<Rings>, client: Arc<dyn NodeClient>) -> Self {
        Self { cfg, rings, client }
    }

    fn ring_kind(&self) -> RingKind {
        match self.cfg.kind {
            DbKind::Account => RingKind::Account,
            DbKind::Container => RingKind::Container,
        }
    }

    fn server_type(&self) -> &'static str {
        match self.cfg.kind {
            DbKind::Account => "account",
            DbKind::Container => "container",
        }
    }

    fn reclaim_before(&self) -> Timestamp {
        let t = SystemTime::now()
            .checked_sub(self.cfg.reclaim_age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Timestamp::from_system_time(t)
    }

    /// Whether the database is deleted and was so before the reclaim age.
    async fn reclaimable(&self, loc: &DbLocation) -> Result<bool> {
        let tmp = loc.tmp_dir(&self.cfg.node.devices);
        let before = self.reclaim_before();
        Ok(match self.cfg.kind {
            DbKind::Container => {
                let i = ContainerBroker::new(loc.path.clone(), tmp, false)
                    .info()
                    .await?;
                i.is_deleted() && i.status_changed_at < before && i.delete_timestamp < before
            }
            DbKind::Account => {
                let i = AccountBroker::new(loc.path.clone(), tmp, false)
                    .info()
                    .await?;
                i.is_deleted() && i.status_changed_at < before && i.delete_timestamp < before
            }
        })
    }

    async fn replicate_db(&self, loc: &DbLocation) -> Result<Outcome> {
        let mut out = Outcome::default();
        let kind = self.cfg.kind;
        let hash = PathHash::from_hex(&loc.hash)
            .ok_or_else(|| Error::invalid(format!("bad database directory {}", loc.hash)))?;
        let ring = self.rings.get(self.ring_kind());
        // The partition follows from the hash and the current ring, whatever
        // directory the database sits in.
        let part = ring.partition_of(&hash);
        let primaries = ring.primary_nodes(part);
        let is_local = |host: &str, device: &str| {
            device == loc.device && self.cfg.local_hosts.iter().any(|h| h == host)
        };
        let local_primary = primaries
            .iter()
            .any(|n| is_local(&n.device.host(), &n.device.device));
        let targets: Vec<(String, String)> = primaries
            .iter()
            .map(|n| (n.device.host(), n.device.device.clone()))
            .filter(|(h, d)| !is_local(h, d))
            .collect();

        let db = DbFile::new(
            loc.path.clone(),
            loc.tmp_dir(&self.cfg.node.devices),
            self.cfg.node.fsync,
        );
        let before = self.reclaim_before().internal();
        let info = db
            .with_conn(format!("database {}", loc.hash), move |c| {
                reclaim_rows(c, kind, &before)?;
                sync_info(c, kind)
            })
            .await?;
        let mut all_ok = true;
        for (host, device) in &targets {
            match self
                .push(&db, &info, host, device, part, &loc.hash, &mut out)
                .await
            {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(
                        daemon = self.name(),
                        db = %loc.hash,
                        host,
                        device,
                        error = %e,
                        "replication failed"
                    );
                    out.errors += 1;
                    all_ok = false;
                }
            }
        }
        let remove = if !local_primary {
            all_ok && !targets.is_empty()
        } else {
            all_ok && self.reclaimable(loc).await?
        };
        if remove {
            drop(db);
            let path = loc.path.clone();
            blocking(move || remove_db(&path).map_err(|e| Error::io("database", e))).await?;
            if local_primary {
                out.reclaimed += 1;
            } else {
                out.handoffs_removed += 1;
            }
        }
        Ok(out)
    }

    fn request(&self, device: &str, part: u32, hash: &str, op: &str) -> NodeRequest {
        let mut r = NodeRequest::new(NodeMethod::Replicate, device, part, hash);
        r.query.push(("op".into(), op.into()));
        r.headers.set(SERVER_TYPE_HEADER, self.server_type());
        r
    }

    /// Brings one remote replica up to date with the local one.
    #[allow(clippy::too_many_arguments)]
    async fn push(
        &self,
        db: &Arc<DbFile>,
        info: &SyncInfo,
        host: &str,
        device: &str,
        part: u32,
        hash: &str,
        out: &mut Outcome,
    ) -> Result<()> {
        let mut req = self.request(device, part, hash, "sync");
        req.body = stream::once(to_json(info)?);
        let resp = self.client.send(host, req).await?;
        if resp.status == 404 {
            self.send_file(db, info, host, device, part, hash).await?;
            out.files_copied += 1;
            return Ok(());
        }
        if resp.status != 200 {
            return Err(unavailable(host, resp.status));
        }
        let body = stream::collect(resp.body, 64 << 20).await?;
        let remote: SyncInfo =
            serde_json::from_slice(&body).map_err(|_| Error::invalid("malformed sync answer"))?;
        let mut point = remote.point;
        if remote.hash == info.hash || point >= info.max_row {
            out.no_change += 1;
            if point < info.max_row {
                // Same rows by other ROWIDs: move the remote's sync point
                // so later passes send only rows added from now on.
                let rows = empty_rows(self.cfg.kind);
                self.send_rows(info, host, device, part, hash, rows, info.max_row)
                    .await?;
            }
        } else {
            loop {
                let (kind, limit) = (self.cfg.kind, self.cfg.batch_rows.max(1));
                let (rows, last) = db
                    .with_conn(format!("database {hash}"), move |c| {
                        rows_since(c, kind, point, limit)
                    })
                    .await?;
                let n = rows.len() as u64;
                if n == 0 {
                    break;
                }
                self.send_rows(info, host, device, part, hash, rows, last)
                    .await?;
                out.rows_sent += n;
                point = last;
            }
        }
        let (remote_id, max_row) = (remote.id, info.max_row.max(point));
        db.with_conn(format!("database {hash}"), move |c| {
            set_sync_point(c, &remote_id, false, max_row)
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_rows(
        &self,
        info: &SyncInfo,
        host: &str,
        device: &str,
        part: u32,
        hash: &str,
        rows: Rows,
        last_row: i64,
    ) -> Result<()> {
        let items = MergeItems {
            source_id: info.id.clone(),
            last_row,
            rows,
        };
        let mut req = self.request(device, part, hash, "merge_items");
        req.body = stream::once(to_json(&items)?);
        let resp = self.client.send(host, req).await?;
        if !resp.is_success() {
            return Err(unavailable(host, resp.status));
        }
        Ok(())
    }

    /// Copies the whole database (a consistent snapshot) to a node that
    /// has no replica.
    async fn send_file(
        &self,
        db: &Arc<DbFile>,
        info: &SyncInfo,
        host: &str,
        device: &str,
        part: u32,
        hash: &str,
    ) -> Result<()> {
        let tmp_dir = self.cfg.node.devices.join(loc_device(db)).join("tmp");
        let snap = tmp_dir.join(format!("{}.snapshot", uuid::Uuid::new_v4().simple()));
        let snap2 = snap.clone();
        let bytes = db
            .with_conn(format!("database {hash}"), move |c| {
                std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io("tmp dir", e))?;
                let target = snap2
                    .to_str()
                    .ok_or_else(|| Error::invalid("tmp path is not UTF-8"))?
                    .to_string();
                c.execute("VACUUM INTO ?1", [target]).map_err(sql_err)?;
                let bytes = std::fs::read(&snap2).map_err(|e| Error::io("database copy", e));
                let _ = std::fs::remove_file(&snap2);
                bytes
            })
            .await;
        let _ = tokio::fs::remove_file(&snap).await;
        let mut req = self.request(device, part, hash, "file");
        req.query.push(("source_id".into(), info.id.clone()));
        req.query
            .push(("source_max_row".into(), info.max_row.to_string()));
        req.body = stream::once(bytes?);
        let resp = self.client.send(host, req).await?;
        if !resp.is_success() {
            return Err(unavailable(host, resp.status));
        }
        Ok(())
    }
}

/// The device directory a database file lives on.
fn loc_device(db: &DbFile) -> String {
    // <devices>/<device>/<datadir>/<part>/<suffix>/<hash>/<hash>.db
    db.path()
        .ancestors()
        .nth(5)
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string()
}

fn empty_rows(kind: DbKind) -> Rows {
    match kind {
        DbKind::Container => Rows::Objects(Vec::new()),
        DbKind::Account => Rows::Containers(Vec::new()),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::Backend {
        backend: "json",
        source: Box::new(e),
    })
}

fn unavailable(host: &str, status: u16) -> Error {
    Error::Unavailable {
        reason: format!("{host} answered {status}"),
    }
}

#[async_trait]
impl Daemon for DbReplicator {
    fn name(&self) -> &'static str {
        match self.cfg.kind {
            DbKind::Account => "account-replicator",
            DbKind::Container => "container-replicator",
        }
    }

    async fn run_once(&self) -> Result<PassReport> {
        let mut report = PassReport::start();
        let (devices, kind) = (self.cfg.node.devices.clone(), self.cfg.kind);
        let dbs = blocking(move || Ok(walk_dbs(&devices, kind))).await?;
        let checked = dbs.len() as u64;
        let results: Vec<Result<Outcome>> = futures::stream::iter(dbs)
            .map(|loc| async move { self.replicate_db(&loc).await })
            .buffer_unordered(self.cfg.concurrency.max(1))
            .collect()
            .await;
        report.add("dbs_checked", checked);
        for name in COUNTERS {
            report.add(name, 0);
        }
        for r in results {
            match r {
                Ok(o) => {
                    report.add("rows_sent", o.rows_sent);
                    report.add("files_copied", o.files_copied);
                    report.add("no_change", o.no_change);
                    report.add("handoffs_removed", o.handoffs_removed);
                    report.add("reclaimed", o.reclaimed);
                    report.errors += o.errors;
                }
                Err(Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(daemon = self.name(), error = %e, "database replication failed");
                    report.errors += 1;
                }
            }
        }
        report.add("errors", report.errors);
        Ok(report.finish())
    }
}

/// Counters every report carries, even when zero.
const COUNTERS: [&str; 5] = [
    "rows_sent",
    "files_copied",
    "no_change",
    "handoffs_removed",
    "reclaimed",
];
