//! `swift-proxy --config FILE`: the Swift proxy server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use swift_core::daemon::{DaemonRunner, ReconStore};
use swift_core::ring::{RingKind, RingReloader};
use swift_server::config::ProxyServerConfig;
use swift_server::proxy_router;
use swift_server::runtime::{bind, init_tracing, shutdown_signal, RunningServer};
use swift_server::services::{build_proxy_with_memcache, http_client};
use tokio_util::sync::CancellationToken;

/// The Swift proxy server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The proxy's TOML configuration.
    #[arg(long)]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let args = Args::parse();
    let cfg = ProxyServerConfig::load(&args.config)?;
    let rings = cfg.rings.load(cfg.swift_dir.as_deref())?;
    let client = http_client(cfg.connect_timeout(), cfg.node_timeout())?;
    let mut ring_files = Vec::new();
    for kind in [RingKind::Account, RingKind::Container, RingKind::Object] {
        ring_files.push((kind, cfg.rings.resolve(cfg.swift_dir.as_deref(), kind)?));
    }
    let mut runner = DaemonRunner::new(Arc::new(ReconStore::new()));
    if cfg.ring_check_secs > 0 {
        let reloader = RingReloader::new(rings.clone(), ring_files);
        runner.add(Arc::new(reloader), Duration::from_secs(cfg.ring_check_secs));
    }
    let mut proxy =
        build_proxy_with_memcache(cfg.proxy_config(), rings, client, &cfg.memcache_servers)?;
    if !cfg.memcache_servers.is_empty() {
        tracing::info!(servers = ?cfg.memcache_servers, "caching in memcached");
    }
    if let Some(ks) = &cfg.keystone {
        proxy = proxy.with_keystone(ks.validator()?, ks.roles.clone())?;
        tracing::info!(auth_url = %ks.auth_url, "accepting keystone tokens");
    }
    if let Some(s3) = &cfg.s3 {
        proxy = proxy.with_s3(s3.credentials())?;
        tracing::info!(keys = s3.keys.len(), "serving s3");
    }

    let shutdown = CancellationToken::new();
    let listener = bind(cfg.bind).await?;
    let server = RunningServer::spawn(
        "swift-proxy",
        listener,
        proxy_router(proxy),
        shutdown.clone(),
    )?;
    tracing::info!(
        addr = %server.local_addr(),
        auth = %format!("http://{}/auth/v1.0", server.local_addr()),
        "swift-proxy ready"
    );

    let reloader = runner.spawn(shutdown.clone());

    shutdown_signal().await;
    shutdown.cancel();
    for t in reloader {
        let _ = t.await;
    }
    server.wait(Duration::from_secs(30)).await
}
