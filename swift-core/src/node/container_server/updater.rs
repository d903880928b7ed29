//! Account updates: the direct one after a container PUT or DELETE, and
//! the container updater, which pushes container stats to the account
//! servers until a quorum of them acknowledged the current values.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::ContainerServer;
use crate::db::request::{error_response, text, Req};
use crate::db::sqlite::blocking;
use crate::db::{ContainerBroker, ContainerInfo, DbKind};
use crate::error::{Error, Result};
use crate::node::{NodeMethod, NodeRequest, NodeResponse};
use crate::ring::RingKind;

/// Containers reported at once.
const CONCURRENCY: usize = 8;

/// The PUT of a container row to an account server.
pub(super) fn account_request(
    info: &ContainerInfo,
    device: &str,
    partition: u32,
    account: &str,
    container: &str,
) -> NodeRequest {
    let mut r = NodeRequest::new(
        NodeMethod::Put,
        device,
        partition,
        format!("{account}/{container}"),
    );
    r.headers
        .set("X-Put-Timestamp", info.put_timestamp.internal());
    r.headers
        .set("X-Delete-Timestamp", info.delete_timestamp.internal());
    r.headers
        .set("X-Object-Count", info.object_count.to_string());
    r.headers.set("X-Bytes-Used", info.bytes_used.to_string());
    r.headers.set(crate::node::SERVER_TYPE_HEADER, "account");
    r.headers.set(
        "X-Backend-Storage-Policy-Index",
        info.storage_policy_index.to_string(),
    );
    r
}

/// Every container database on the node's devices.
fn walk_dbs(devices: &Path) -> Vec<PathBuf> {
    fn dirs(p: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }
    let mut out = Vec::new();
    for dev in dirs(devices) {
        for part in dirs(&dev.join(DbKind::Container.datadir())) {
            for suffix in dirs(&part) {
                for hash in dirs(&suffix) {
                    let Some(name) = hash.file_name().and_then(|n| n.to_str()) else {
                        continue;
                    };
                    let db = hash.join(format!("{name}.db"));
                    if db.is_file() {
                        out.push(db);
                    }
                }
            }
        }
    }
    out
}

impl ContainerServer {
    /// Tells the account servers named in the request about the container,
    /// as Swift's `account_update` does. Returns the response to send
    /// instead of success (400 for mismatched headers, 404 when an account
    /// server does not know the account).
    pub(super) async fn account_update(
        &self,
        req: &Req,
        broker: &ContainerBroker,
        account: &str,
        container: &str,
    ) -> Option<NodeResponse> {
        let hosts: Vec<&str> = split_list(req.headers.get("x-account-host"));
        let devices: Vec<&str> = split_list(req.headers.get("x-account-device"));
        if hosts.len() != devices.len() {
            return Some(text(400, "mismatched x-account-host and x-account-device"));
        }
        let partition = req
            .headers
            .get("x-account-partition")
            .and_then(|p| p.trim().parse::<u32>().ok())?;
        let info = match broker.info().await {
            Ok(i) => i,
            Err(e) => return Some(error_response(&e)),
        };
        let sends = hosts.iter().zip(&devices).map(|(host, device)| {
            let mut r = account_request(&info, device, partition, account, container);
            if let Some(t) = req.headers.get("x-trans-id") {
                r.headers.set("X-Trans-Id", t);
            }
            if req
                .headers
                .get("x-account-override-deleted")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
            {
                r.headers.set("X-Account-Override-Deleted", "yes");
            }
            self.client.send(host, r)
        });
        let results = futures::future::join_all(sends).await;
        let mut got_404 = false;
        for res in results {
            match res {
                Ok(resp) if resp.status == 404 => got_404 = true,
                Ok(resp) if !resp.is_success() => {
                    tracing::warn!(
                        status = resp.status,
                        account,
                        container,
                        "account update failed"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, account, container, "account update failed"),
            }
        }
        got_404.then(|| NodeResponse::status(404))
    }

    /// Pushes the stats of every container whose stats changed since the
    /// account last acknowledged them; returns how many were reported.
    /// The first call walks all databases of the node, later calls only
    /// those changed since. A container whose report did not reach a
    /// quorum of account servers is retried on the next call.
    pub async fn update_accounts_once(&self) -> Result<usize> {
        Ok(self.update_accounts_pass(false).await?.0)
    }

    /// One updater pass: every database when `full` (or on the first
    /// pass), else those changed since. Returns how many containers were
    /// reported and how many failed (kept for the next pass).
    pub(crate) async fn update_accounts_pass(&self, full: bool) -> Result<(usize, usize)> {
        let mut paths: Vec<PathBuf> = match self.dirty.lock() {
            Ok(mut d) => d.drain().collect(),
            Err(_) => Vec::new(),
        };
        if !self.walked.swap(true, Ordering::SeqCst) || full {
            let devices = self.config.devices.clone();
            paths.extend(blocking(move || Ok(walk_dbs(&devices))).await?);
            paths.sort();
            paths.dedup();
        }
        let results: Vec<(PathBuf, Result<bool>)> = futures::stream::iter(paths)
            .map(|p| async move {
                let r = self.report_one(&p).await;
                (p, r)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let (mut reported, mut failed) = (0, 0);
        for (path, r) in results {
            match r {
                Ok(true) => reported += 1,
                Ok(false) => {}
                Err(Error::NotFound { .. }) => {}
                Err(e) => {
                    failed += 1;
                    tracing::debug!(error = %e, path = %path.display(), "container update failed");
                    if let Ok(mut d) = self.dirty.lock() {
                        d.insert(path);
                    }
                }
            }
        }
        Ok((reported, failed))
    }

    async fn report_one(&self, path: &Path) -> Result<bool> {
        // <devices>/<dev>/containers/<part>/<suffix>/<hash>/<hash>.db
        let tmp = path
            .ancestors()
            .nth(5)
            .map(|d| d.join("tmp"))
            .ok_or_else(|| Error::invalid("bad database path"))?;
        let broker = ContainerBroker::new(path.to_path_buf(), tmp, self.config.fsync);
        let info = broker.info().await?;
        if !info.needs_report() {
            return Ok(false);
        }
        let ring = self.rings().get(RingKind::Account);
        let part = ring.partition_for(&self.config.hash, &info.account, None, None);
        let nodes = ring.primary_nodes(part);
        if nodes.is_empty() {
            return Err(Error::Unavailable {
                reason: "no account nodes".into(),
            });
        }
        let quorum = nodes.len() / 2 + 1;
        let sends = nodes.iter().map(|n| {
            let req = account_request(
                &info,
                &n.device.device,
                part,
                &info.account,
                &info.container,
            );
            let host = n.device.host();
            let client = Arc::clone(self.client());
            async move { client.send(&host, req).await }
        });
        let ok = futures::future::join_all(sends)
            .await
            .into_iter()
            .filter(|r| r.as_ref().is_ok_and(|resp| resp.is_success()))
            .count();
        if ok < quorum {
            return Err(Error::Unavailable {
                reason: format!("account update reached {ok} of {} nodes", nodes.len()),
            });
        }
        broker
            .reported(
                info.put_timestamp,
                info.delete_timestamp,
                info.object_count,
                info.bytes_used,
            )
            .await?;
        Ok(true)
    }

    /// Runs [`ContainerServer::update_accounts_once`] every `interval` until
    /// the server is dropped or the task aborted.
    pub fn spawn_updater(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(me) = weak.upgrade() else { break };
                if let Err(e) = me.update_accounts_once().await {
                    tracing::warn!(error = %e, "container updater pass failed");
                }
            }
        })
    }
}

fn split_list(v: Option<&str>) -> Vec<&str> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}
