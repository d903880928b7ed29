//! `swift-storage --config FILE [--once DAEMON|all]`: one storage node
//! (account, container and object servers on one port) with its daemons,
//! or one pass of its daemons printed as JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use swift_core::daemon::ReconStore;
use swift_core::ring::RingKind;
use swift_server::config::StorageServerConfig;
use swift_server::daemons::{once_json, storage_daemons, NodeDaemonParts};
use swift_server::runtime::{bind, init_tracing, shutdown_signal, RunningServer};
use swift_server::services::{build_storage_node, http_client};
use swift_server::storage_router_with_recon;
use tokio_util::sync::CancellationToken;

/// A Swift storage node.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The node's TOML configuration.
    #[arg(long)]
    config: PathBuf,
    /// Run one pass of a daemon (`container-replicator`, ...) or of `all`,
    /// print the reports as JSON and exit without serving.
    #[arg(long, value_name = "DAEMON")]
    once: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let args = Args::parse();
    let cfg = StorageServerConfig::load(&args.config)?;
    let rings = cfg.rings.load(cfg.swift_dir.as_deref())?;
    let client = http_client(cfg.connect_timeout(), cfg.node_timeout())?;
    let node = build_storage_node(cfg.node_config(), rings.clone(), client.clone());
    let mut ring_files = Vec::new();
    for kind in [RingKind::Account, RingKind::Container, RingKind::Object] {
        ring_files.push((kind, cfg.rings.resolve(cfg.swift_dir.as_deref(), kind)?));
    }
    let parts = NodeDaemonParts {
        node: node.clone(),
        config: cfg.node_config(),
        rings,
        client,
        ring_hosts: cfg.ring_hosts(),
        ring_files,
        container_updater: Duration::from_secs(cfg.updater_interval_secs),
        object_updater: Duration::from_secs(cfg.async_pending_interval_secs),
    };
    let recon = Arc::new(ReconStore::new());

    if let Some(which) = args.once {
        let runner = storage_daemons(&parts, &cfg.daemons, recon, true);
        let outcomes = runner
            .run_once(Some(&which))
            .await
            .map_err(|e| anyhow::anyhow!("{e}; daemons: {}", runner.names().join(", ")))?;
        println!("{}", serde_json::to_string_pretty(&once_json(&outcomes))?);
        if outcomes.iter().any(|(_, r)| r.is_err()) {
            anyhow::bail!("a daemon pass failed");
        }
        return Ok(());
    }

    let shutdown = CancellationToken::new();
    let listener = bind(cfg.bind).await?;
    let server = RunningServer::spawn(
        "swift-storage",
        listener,
        storage_router_with_recon(node, recon.clone()),
        shutdown.clone(),
    )?;
    let runner = storage_daemons(&parts, &cfg.daemons, recon, false);
    let daemons = runner.spawn(shutdown.clone());
    tracing::info!(
        addr = %server.local_addr(),
        devices = %cfg.devices.display(),
        daemons = ?runner.names(),
        "swift-storage ready"
    );

    shutdown_signal().await;
    shutdown.cancel();
    server.wait(Duration::from_secs(30)).await?;
    for d in daemons {
        let _ = tokio::time::timeout(Duration::from_secs(30), d).await;
    }
    Ok(())
}
