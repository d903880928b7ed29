//! A storage node's background daemons from configuration, and the recon
//! endpoint that shows what they did.
//!
//! [`storage_daemons`] registers every daemon of a node in a
//! [`DaemonRunner`]: container and account replicators and auditors, the
//! object and container updaters, and the ring reloader. The runner either
//! runs them on their intervals (`spawn`) or once (`--once`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path as AxPath;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use swift_core::daemon::{
    daemon_json, recon_json, ContainerUpdater, DaemonRunner, DbAuditor, DbReplicator,
    DbReplicatorConfig, ObjectUpdater, ReconStore,
};
use swift_core::db::DbKind;
use swift_core::node::{
    NodeClient, NodeConfig, ObjectAuditor, ObjectAuditorConfig, ObjectReplicator,
    ObjectReplicatorConfig, StorageNode,
};
use swift_core::ring::{RingKind, RingReloader, Rings};

/// `[daemons]` of a storage node (`[swift.daemons]` for `ferrostack up`):
/// how often each daemon runs, in seconds; 0 turns one off.
///
/// ```toml
/// [daemons]
/// container_replicator_secs = 30
/// container_auditor_secs = 0     # off
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// Master switch: false runs no daemon on an interval (`--once` still
    /// works).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Container replicator interval.
    #[serde(default = "default_30")]
    pub container_replicator_secs: u64,
    /// Account replicator interval.
    #[serde(default = "default_30")]
    pub account_replicator_secs: u64,
    /// Container auditor interval.
    #[serde(default = "default_1800")]
    pub container_auditor_secs: u64,
    /// Account auditor interval.
    #[serde(default = "default_1800")]
    pub account_auditor_secs: u64,
    /// How often ring files are checked for changes.
    #[serde(default = "default_15")]
    pub ring_check_secs: u64,
    /// Object replicator interval.
    #[serde(default = "default_30")]
    pub object_replicator_secs: u64,
    /// Object auditor interval (between passes; each pass is rate-limited).
    #[serde(default = "default_1800")]
    pub object_auditor_secs: u64,
    /// Object auditor read limits.
    #[serde(default)]
    pub object_auditor: ObjectAuditorConfig,
    /// Object replicator limits.
    #[serde(default)]
    pub object_replicator: ObjectReplicatorConfig,
    /// Age after which deleted databases and deletion rows are removed.
    #[serde(default = "default_reclaim_age")]
    pub reclaim_age_secs: u64,
    /// `ip:port` under which this node's devices appear in the rings
    /// (default: the node's bind address).
    #[serde(default)]
    pub ring_hosts: Vec<String>,
}

fn default_true() -> bool {
    true
}
fn default_30() -> u64 {
    30
}
fn default_15() -> u64 {
    15
}
fn default_1800() -> u64 {
    1800
}
fn default_reclaim_age() -> u64 {
    7 * 24 * 3600
}

impl Default for DaemonSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            container_replicator_secs: default_30(),
            account_replicator_secs: default_30(),
            container_auditor_secs: default_1800(),
            account_auditor_secs: default_1800(),
            object_replicator_secs: default_30(),
            object_auditor_secs: default_1800(),
            object_auditor: ObjectAuditorConfig::default(),
            object_replicator: ObjectReplicatorConfig::default(),
            ring_check_secs: default_15(),
            reclaim_age_secs: default_reclaim_age(),
            ring_hosts: Vec::new(),
        }
    }
}

/// Everything [`storage_daemons`] needs about one node.
#[derive(Debug, Clone)]
pub struct NodeDaemonParts {
    /// The node whose daemons these are.
    pub node: StorageNode,
    /// Its settings (devices, hash, fsync).
    pub config: NodeConfig,
    /// The rings it uses (reloaded in place).
    pub rings: Arc<Rings>,
    /// How it reaches other nodes.
    pub client: Arc<dyn NodeClient>,
    /// `ip:port` under which it appears in the rings.
    pub ring_hosts: Vec<String>,
    /// Ring files to watch.
    pub ring_files: Vec<(RingKind, PathBuf)>,
    /// Container-updater interval.
    pub container_updater: Duration,
    /// Object-updater (async pending) interval.
    pub object_updater: Duration,
}

/// Every daemon of a node, registered in a runner recording into `recon`.
/// With `for_once`, daemons turned off by `settings` are registered too
/// (an operator may still run one pass of each).
pub fn storage_daemons(
    parts: &NodeDaemonParts,
    settings: &DaemonSettings,
    recon: Arc<ReconStore>,
    for_once: bool,
) -> DaemonRunner {
    let mut runner = DaemonRunner::new(recon);
    let secs =
        |s: u64| (for_once || (settings.enabled && s > 0)).then(|| Duration::from_secs(s.max(1)));
    let on = |d: Duration| (for_once || settings.enabled).then_some(d);
    let devices = parts.config.devices.clone();
    for (kind, interval) in [
        (DbKind::Container, settings.container_replicator_secs),
        (DbKind::Account, settings.account_replicator_secs),
    ] {
        if let Some(every) = secs(interval) {
            let mut cfg =
                DbReplicatorConfig::new(kind, parts.config.clone(), parts.ring_hosts.clone());
            cfg.reclaim_age = Duration::from_secs(settings.reclaim_age_secs);
            let r = DbReplicator::new(cfg, parts.rings.clone(), parts.client.clone());
            runner.add(Arc::new(r), every);
        }
    }
    for (kind, interval) in [
        (DbKind::Container, settings.container_auditor_secs),
        (DbKind::Account, settings.account_auditor_secs),
    ] {
        if let Some(every) = secs(interval) {
            runner.add(Arc::new(DbAuditor::new(kind, devices.clone())), every);
        }
    }
    if let Some(host) = parts.ring_hosts.first() {
        let backend = parts.node.object_server().backend().clone();
        if let Some(every) = secs(settings.object_replicator_secs) {
            let mut cfg = settings.object_replicator.clone();
            cfg.reclaim_age_secs = settings.reclaim_age_secs;
            match ObjectReplicator::new(
                cfg,
                host.clone(),
                parts.rings.clone(),
                backend.clone(),
                parts.client.clone(),
            ) {
                Ok(r) => {
                    runner.add(Arc::new(r), every);
                }
                Err(e) => tracing::error!(error = %e, "object replicator not started"),
            }
        }
        if let Some(every) = secs(settings.object_auditor_secs) {
            match ObjectAuditor::new(
                settings.object_auditor.clone(),
                host.clone(),
                parts.rings.clone(),
                parts.config.hash.clone(),
                backend,
            ) {
                Ok(a) => {
                    runner.add(Arc::new(a), every);
                }
                Err(e) => tracing::error!(error = %e, "object auditor not started"),
            }
        }
    }
    if let Some(every) = on(parts.object_updater) {
        let u = ObjectUpdater::new(parts.node.object_server().clone(), devices.clone());
        runner.add(Arc::new(u), every);
    }
    if let Some(every) = on(parts.container_updater) {
        let u = ContainerUpdater::new(parts.node.container_server().clone());
        runner.add(Arc::new(u), every);
    }
    if !parts.ring_files.is_empty() {
        if let Some(every) = secs(settings.ring_check_secs) {
            let r = RingReloader::new(parts.rings.clone(), parts.ring_files.clone());
            runner.add(Arc::new(r), every);
        }
    }
    runner
}

/// `GET /recon` (every daemon, async pendings, quarantined counts) and
/// `GET /recon/<daemon-name>` as JSON.
pub fn recon_router(recon: Arc<ReconStore>, devices: PathBuf) -> Router {
    let all = {
        let recon = recon.clone();
        move || async move { axum::Json(recon_json(&recon, &devices).await).into_response() }
    };
    let one = move |AxPath(name): AxPath<String>| async move {
        match daemon_json(&recon, &name) {
            Some(v) => axum::Json(v).into_response(),
            None => not_found(&name),
        }
    };
    Router::new()
        .route("/recon", get(all))
        .route("/recon/{name}", get(one))
}

fn not_found(name: &str) -> Response {
    (
        http::StatusCode::NOT_FOUND,
        format!("no daemon named {name}\n"),
    )
        .into_response()
}

/// The JSON `--once` prints: each daemon's report, or its error.
pub fn once_json(
    outcomes: &[(String, swift_core::Result<swift_core::daemon::PassReport>)],
) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (name, r) in outcomes {
        let v = match r {
            Ok(rep) => serde_json::to_value(rep).unwrap_or_default(),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        map.insert(name.clone(), v);
    }
    serde_json::Value::Object(map)
}
