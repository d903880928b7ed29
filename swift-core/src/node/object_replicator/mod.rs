//! The object replicator: keeps every partition's objects on all its
//! primaries.
//!
//! For each partition on a local device (one pass of
//! [`Daemon::run_once`](crate::daemon::Daemon::run_once)):
//! 1. tombstones older than `reclaim_age` are removed;
//! 2. the partition's suffix hashes are compared with those of every other
//!    primary (`REPLICATE`, see [`crate::node::object_server::replicate`]);
//!    a differing suffix is rehashed on the peer, and if it still differs
//!    the peer lists what it holds in those suffixes and only the versions
//!    it lacks or holds older are sent (data, tombstones, metadata updates);
//! 3. a partition this node is not a primary for (a handoff) is pushed to
//!    all primaries and removed locally once every one of them took it and
//!    no write arrived meanwhile.
//!
//! Counters of a pass: `partitions_checked`, `suffixes_synced`,
//! `objects_sent`, `tombstones_sent`, `handoffs_removed`, `reclaimed`,
//! plus `errors`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use serde::Deserialize;

use super::object_server::replicate::REPLICATION_OP_HEADER;
use super::pacer::Pacer;
use super::{NodeClient, NodeMethod, NodeRequest, SERVER_TYPE_HEADER};
use crate::daemon::{Daemon, PassReport};
use crate::error::{Error, Result};
use crate::object::{ObjectBackend, SuffixHashes};
use crate::ring::{RingKind, Rings};
use crate::timestamp::Timestamp;

mod sync;

/// The counters of a pass.
const COUNTERS: [&str; 6] = [
    "partitions_checked",
    "suffixes_synced",
    "objects_sent",
    "tombstones_sent",
    "handoffs_removed",
    "reclaimed",
];

/// Suffixes named in one REPLICATE path (keeps request lines short).
const SUFFIX_BATCH: usize = 256;

/// Largest REPLICATE answer read (suffix hashes or a listing).
const MAX_ANSWER: usize = 64 << 20;

/// Settings of the object replicator.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectReplicatorConfig {
    /// Tombstones older than this many seconds are removed (Swift's
    /// `reclaim_age`, default one week).
    #[serde(default = "default_reclaim_age")]
    pub reclaim_age_secs: u64,
    /// Partitions replicated at once (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// At most this many objects, tombstones and metadata updates sent per
    /// second; unlimited when absent.
    #[serde(default)]
    pub items_per_second: Option<f64>,
}

fn default_reclaim_age() -> u64 {
    7 * 24 * 3600
}

fn default_concurrency() -> usize {
    4
}

impl Default for ObjectReplicatorConfig {
    fn default() -> Self {
        Self {
            reclaim_age_secs: default_reclaim_age(),
            concurrency: default_concurrency(),
            items_per_second: None,
        }
    }
}

impl ObjectReplicatorConfig {
    /// Fails with `Error::InvalidConfig` for a zero concurrency or a
    /// non-positive rate.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Error::InvalidConfig {
            reason: format!("object replicator: {reason}"),
        };
        if self.concurrency == 0 {
            return Err(bad("concurrency must be at least 1"));
        }
        if self
            .items_per_second
            .is_some_and(|r| !r.is_finite() || r <= 0.0)
        {
            return Err(bad("items_per_second must be positive"));
        }
        Ok(())
    }
}

/// Replicates the objects of one storage node's devices.
#[derive(Debug)]
pub struct ObjectReplicator {
    config: ObjectReplicatorConfig,
    host: String,
    rings: Arc<Rings>,
    backend: Arc<dyn ObjectBackend>,
    client: Arc<dyn NodeClient>,
    pacer: Pacer,
}

/// One partition of one local device.
#[derive(Debug, Clone)]
struct Job {
    device: String,
    partition: u32,
}

/// Counters shared by the concurrent partition tasks.
#[derive(Debug)]
pub(super) struct Tally(Mutex<PassReport>);

impl Tally {
    /// A tally for a pass starting now, with every counter at zero.
    pub(super) fn new(counters: &[&str]) -> Self {
        let mut r = PassReport::start();
        for c in counters {
            r.add(c, 0);
        }
        Self(Mutex::new(r))
    }

    pub(super) fn into_report(self) -> PassReport {
        match self.0.into_inner() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        }
        .finish()
    }

    pub(super) fn add(&self, name: &str, n: u64) {
        if n > 0 {
            if let Ok(mut r) = self.0.lock() {
                r.add(name, n);
            }
        }
    }

    pub(super) fn error(&self) {
        if let Ok(mut r) = self.0.lock() {
            r.errors += 1;
        }
    }
}

impl ObjectReplicator {
    /// A replicator for the devices the object ring places on `host`
    /// (`ip:port`, as in the ring), reading `backend` and sending to peers
    /// through `client`. Fails with `Error::InvalidConfig` when `config`
    /// is invalid.
    pub fn new(
        config: ObjectReplicatorConfig,
        host: impl Into<String>,
        rings: Arc<Rings>,
        backend: Arc<dyn ObjectBackend>,
        client: Arc<dyn NodeClient>,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            pacer: Pacer::new(config.items_per_second),
            config,
            host: host.into(),
            rings,
            backend,
            client,
        })
    }

    /// Tombstones older than this are reclaimed and never sent.
    fn reclaim_cutoff(&self) -> Timestamp {
        let age = Duration::from_secs(self.config.reclaim_age_secs);
        let now = std::time::SystemTime::now();
        Timestamp::from_system_time(now.checked_sub(age).unwrap_or(std::time::UNIX_EPOCH))
    }

    /// The local devices' partitions, in order.
    async fn jobs(&self, tally: &Tally) -> Vec<Job> {
        let ring = self.rings.get(RingKind::Object);
        let mut devices: Vec<String> = ring
            .devices()
            .filter(|d| d.host() == self.host)
            .map(|d| d.device.clone())
            .collect();
        devices.sort();
        devices.dedup();
        let mut jobs = Vec::new();
        for device in devices {
            match self.backend.list_partitions(&device).await {
                Ok(parts) => jobs.extend(parts.into_iter().map(|partition| Job {
                    device: device.clone(),
                    partition,
                })),
                Err(e) => {
                    tracing::warn!(device, error = %e, "cannot list partitions");
                    tally.error();
                }
            }
        }
        jobs
    }

    /// Asks a peer for its suffix hashes, rehashing `suffixes` first.
    async fn remote_hashes(
        &self,
        host: &str,
        device: &str,
        partition: u32,
        suffixes: &[String],
    ) -> Result<SuffixHashes> {
        let mut req =
            NodeRequest::new(NodeMethod::Replicate, device, partition, suffixes.join("-"));
        req.headers.set(SERVER_TYPE_HEADER, "object");
        req.headers.set(REPLICATION_OP_HEADER, "hashes");
        let resp = self.client.send(host, req).await?;
        if resp.status != 200 {
            return Err(Error::Unavailable {
                reason: format!("REPLICATE to {host}/{device} answered {}", resp.status),
            });
        }
        let body = crate::stream::collect(resp.body, MAX_ANSWER).await?;
        serde_json::from_slice(&body)
            .map_err(|_| Error::invalid(format!("bad suffix hashes from {host}")))
    }

    /// Replicates one partition; returns whether every peer is in sync.
    async fn replicate_partition(&self, job: &Job, tally: &Tally) -> bool {
        tally.add("partitions_checked", 1);
        let (device, part) = (job.device.as_str(), job.partition);
        match self
            .backend
            .reclaim_tombstones(device, part, self.reclaim_cutoff())
            .await
        {
            Ok(n) => tally.add("reclaimed", n),
            Err(e) => {
                tracing::warn!(device, part, error = %e, "reclaim failed");
                tally.error();
            }
        }
        let ring = self.rings.get(RingKind::Object);
        let primaries = ring.primary_nodes(part);
        let is_primary = primaries
            .iter()
            .any(|n| n.device.host() == self.host && n.device.device == device);
        let peers: Vec<(String, String)> = primaries
            .iter()
            .filter(|n| !(n.device.host() == self.host && n.device.device == device))
            .map(|n| (n.device.host(), n.device.device.clone()))
            .collect();
        let local = match self.backend.suffix_hashes(device, part, &[]).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(device, part, error = %e, "cannot hash partition");
                tally.error();
                return false;
            }
        };
        let mut all_ok = true;
        for (host, peer_dev) in &peers {
            if !self
                .sync_peer(job, &local, host, peer_dev, tally)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(device, part, peer = %host, error = %e, "replication failed");
                    tally.error();
                    false
                })
            {
                all_ok = false;
            }
        }
        if !is_primary && all_ok {
            self.remove_handoff(job, &local, tally).await;
        }
        all_ok
    }

    /// Brings one peer up to date with the local partition.
    async fn sync_peer(
        &self,
        job: &Job,
        local: &SuffixHashes,
        host: &str,
        peer_dev: &str,
        tally: &Tally,
    ) -> Result<bool> {
        let part = job.partition;
        let remote = self.remote_hashes(host, peer_dev, part, &[]).await?;
        let differ = |remote: &SuffixHashes| -> Vec<String> {
            local
                .iter()
                .filter(|(s, h)| remote.get(*s) != Some(*h))
                .map(|(s, _)| s.clone())
                .collect()
        };
        let mut suffixes = differ(&remote);
        if suffixes.is_empty() {
            return Ok(true);
        }
        // The peer's cache may be stale: have it rehash those suffixes.
        let mut remote = SuffixHashes::new();
        for batch in suffixes.chunks(SUFFIX_BATCH) {
            remote.extend(self.remote_hashes(host, peer_dev, part, batch).await?);
        }
        suffixes = differ(&remote);
        if suffixes.is_empty() {
            return Ok(true);
        }
        let ok = sync::sync_suffixes(self, job, host, peer_dev, &suffixes, tally).await?;
        if ok {
            tally.add("suffixes_synced", suffixes.len() as u64);
        }
        Ok(ok)
    }

    /// Removes a handoff partition all primaries hold, unless it changed
    /// since its hashes were taken (a write arrived while pushing).
    async fn remove_handoff(&self, job: &Job, pushed: &SuffixHashes, tally: &Tally) {
        let (device, part) = (job.device.as_str(), job.partition);
        let all: Vec<String> = pushed.keys().cloned().collect();
        match self.backend.suffix_hashes(device, part, &all).await {
            Ok(now) if &now == pushed => match self.backend.remove_partition(device, part).await {
                Ok(()) => tally.add("handoffs_removed", 1),
                Err(e) => {
                    tracing::warn!(device, part, error = %e, "cannot remove handoff");
                    tally.error();
                }
            },
            Ok(_) => tracing::info!(device, part, "handoff changed while pushing; kept"),
            Err(e) => {
                tracing::warn!(device, part, error = %e, "cannot hash handoff");
                tally.error();
            }
        }
    }
}

#[async_trait]
impl Daemon for ObjectReplicator {
    fn name(&self) -> &'static str {
        "object-replicator"
    }

    async fn run_once(&self) -> Result<PassReport> {
        let tally = Tally::new(&COUNTERS);
        let jobs = self.jobs(&tally).await;
        stream::iter(jobs)
            .for_each_concurrent(self.config.concurrency, |job| {
                let tally = &tally;
                async move {
                    self.replicate_partition(&job, tally).await;
                }
            })
            .await;
        Ok(tally.into_report())
    }
}
