//! Background daemons of a storage node: replicators, auditors, updaters
//! and the expirer.
//!
//! Each daemon does its work in passes. [`Daemon::run_once`] runs one full
//! pass and reports what it did; the node runs passes on an interval (and
//! operators and tests run single passes with `--once`). The reports of the
//! last pass of each daemon are what the node's recon endpoint shows.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::Serialize;

use crate::error::Result;

mod db_auditor;
mod db_replicator;
mod recon;
mod runner;
mod updaters;
mod walk;

pub use db_auditor::DbAuditor;
pub use db_replicator::{DbReplicator, DbReplicatorConfig};
pub use recon::{daemon_json, device_counts, recon_json, DeviceCounts, ReconEntry, ReconStore};
pub use runner::DaemonRunner;
pub use updaters::{ContainerUpdater, ObjectUpdater};

/// One background daemon of a storage node.
#[async_trait]
pub trait Daemon: Send + Sync + fmt::Debug + 'static {
    /// Stable name, e.g. `object-replicator`; the recon key of its reports.
    fn name(&self) -> &'static str;

    /// Runs one full pass over everything this daemon looks after.
    ///
    /// Errors on single items are counted in the report (`errors`), not
    /// returned; an `Err` means the pass could not run at all.
    async fn run_once(&self) -> Result<PassReport>;
}

/// What one pass of a daemon did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// When the pass started.
    #[serde(serialize_with = "unix_secs")]
    pub started: SystemTime,
    /// How long it took.
    #[serde(serialize_with = "secs_f64")]
    pub duration: Duration,
    /// Named counters, e.g. `objects_checked`, `quarantined`,
    /// `partitions_synced`, `async_pendings`.
    pub counts: BTreeMap<String, u64>,
    /// Items that failed during the pass (they are retried next pass).
    pub errors: u64,
}

impl PassReport {
    /// An empty report for a pass that starts now.
    pub fn start() -> Self {
        Self {
            started: SystemTime::now(),
            duration: Duration::ZERO,
            counts: BTreeMap::new(),
            errors: 0,
        }
    }

    /// Adds `n` to the counter `name`.
    pub fn add(&mut self, name: &str, n: u64) {
        *self.counts.entry(name.to_owned()).or_default() += n;
    }

    /// The value of counter `name` (0 when never added).
    pub fn count(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// Sets `duration` from `started` to now.
    pub fn finish(mut self) -> Self {
        self.duration = self.started.elapsed().unwrap_or_default();
        self
    }
}

fn unix_secs<S: serde::Serializer>(t: &SystemTime, s: S) -> std::result::Result<S::Ok, S::Error> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    s.serialize_f64(secs)
}

fn secs_f64<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_serialize() {
        let mut r = PassReport::start();
        r.add("objects_checked", 2);
        r.add("objects_checked", 3);
        assert_eq!(r.count("objects_checked"), 5);
        assert_eq!(r.count("quarantined"), 0);
        let v = serde_json::to_value(r.finish()).unwrap();
        assert_eq!(v["counts"]["objects_checked"], 5);
        assert!(v["started"].as_f64().unwrap() > 1.7e9);
    }
}
