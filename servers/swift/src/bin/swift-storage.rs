//! `swift-storage --config FILE`: one storage node (account, container and
//! object servers on one port) with its background loops.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use swift_server::config::StorageServerConfig;
use swift_server::runtime::{bind, init_tracing, shutdown_signal, RunningServer};
use swift_server::services::{build_storage_node, http_client, spawn_storage_daemons};
use swift_server::storage_router;
use tokio_util::sync::CancellationToken;

/// A Swift storage node.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The node's TOML configuration.
    #[arg(long)]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let args = Args::parse();
    let cfg = StorageServerConfig::load(&args.config)?;
    let rings = cfg.rings.load(cfg.swift_dir.as_deref())?;
    let client = http_client(cfg.connect_timeout(), cfg.node_timeout())?;
    let node = build_storage_node(cfg.node_config(), rings, client);

    let shutdown = CancellationToken::new();
    let listener = bind(cfg.bind).await?;
    let server = RunningServer::spawn(
        "swift-storage",
        listener,
        storage_router(node.clone()),
        shutdown.clone(),
    )?;
    let daemons = spawn_storage_daemons(
        &node,
        Duration::from_secs(cfg.updater_interval_secs),
        Duration::from_secs(cfg.async_pending_interval_secs),
        shutdown.clone(),
    );
    tracing::info!(addr = %server.local_addr(), devices = %cfg.devices.display(), "swift-storage ready");

    shutdown_signal().await;
    shutdown.cancel();
    server.wait(Duration::from_secs(30)).await?;
    for d in daemons {
        d.abort();
    }
    Ok(())
}
