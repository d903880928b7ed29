//! The updaters as daemons: the object updater retries async-pending
//! container updates, the container updater pushes container stats to the
//! account servers.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use super::{device_counts, Daemon, PassReport};
use crate::error::Result;
use crate::node::{ContainerServer, ObjectServer};

/// Retries the async pendings of a node (container updates that failed
/// after an object PUT or DELETE) until the container servers accept them;
/// a record is deleted once every container replica took it.
///
/// Counters: `async_pendings` (records left after the pass), `successes`
/// (records completed and removed), `failures` (records tried and kept).
#[derive(Debug)]
pub struct ObjectUpdater {
    server: Arc<ObjectServer>,
    devices: PathBuf,
}

impl ObjectUpdater {
    /// The updater of `server`, whose devices are under `devices`.
    pub fn new(server: Arc<ObjectServer>, devices: PathBuf) -> Self {
        Self { server, devices }
    }

    async fn pendings(&self) -> u64 {
        let devices = self.devices.clone();
        tokio::task::spawn_blocking(move || device_counts(&devices).async_pendings)
            .await
            .unwrap_or(0)
    }
}

#[async_trait]
impl Daemon for ObjectUpdater {
    fn name(&self) -> &'static str {
        "object-updater"
    }

    async fn run_once(&self) -> Result<PassReport> {
        let mut report = PassReport::start();
        let before = self.pendings().await;
        let done = self.server.process_async_pendings_once().await? as u64;
        let after = self.pendings().await;
        report.add("successes", done);
        report.add("failures", before.saturating_sub(done));
        report.add("async_pendings", after);
        Ok(report.finish())
    }
}

/// Sends the stats (object count, bytes, PUT and DELETE timestamps) of
/// every container whose stats changed since the account servers last
/// acknowledged them; each pass looks at every container database.
///
/// Counters: `successes` (containers reported), `failures` (reports that
/// did not reach a quorum of account servers; retried next pass).
#[derive(Debug)]
pub struct ContainerUpdater {
    server: Arc<ContainerServer>,
}

impl ContainerUpdater {
    /// The updater of `server`'s containers.
    pub fn new(server: Arc<ContainerServer>) -> Self {
        Self { server }
    }
}

#[async_trait]
impl Daemon for ContainerUpdater {
    fn name(&self) -> &'static str {
        "container-updater"
    }

    async fn run_once(&self) -> Result<PassReport> {
        let mut report = PassReport::start();
        let (ok, failed) = self.server.update_accounts_pass(true).await?;
        report.add("successes", ok as u64);
        report.add("failures", failed as u64);
        report.errors = failed as u64;
        Ok(report.finish())
    }
}
