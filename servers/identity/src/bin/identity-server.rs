//! `identity-server --config FILE`: the Keystone v3 subset.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use identity_core::{Catalog, IdentityConfig, IdentityService};
use identity_server::config::ServerConfig;
use identity_server::{router, AppState};
use server_runtime::{bind, init_tracing, shutdown_signal, RunningServer};
use tokio_util::sync::CancellationToken;

/// The ferrostack identity server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's TOML configuration.
    #[arg(long)]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let args = Args::parse();
    let cfg = ServerConfig::load(&args.config)?;
    let public_url = cfg.public_url();

    // `Location`'s Display hides a URL's password.
    let backend = identity_core::backend::open_location(&cfg.database)
        .await
        .with_context(|| format!("cannot open database {}", cfg.database))?;
    let mut catalog = Catalog::new();
    let identity_url = format!("{}/v3", public_url.trim_end_matches('/'));
    catalog.register_all("identity", "keystone", &cfg.region, &identity_url);
    for e in &cfg.catalog {
        catalog.register_all(&e.service_type, &e.name, &cfg.region, &e.url);
    }
    let identity_cfg = IdentityConfig {
        token_ttl_secs: cfg.token_ttl_secs,
        ..IdentityConfig::default()
    };
    let identity = IdentityService::new(backend, identity_cfg)
        .context("invalid identity settings")?
        .with_catalog(catalog);
    identity
        .bootstrap(&cfg.bootstrap)
        .await
        .context("bootstrap failed")?;

    let app = router(AppState::new(Arc::new(identity), &public_url));
    let shutdown = CancellationToken::new();
    let listener = bind(cfg.bind).await?;
    let server = RunningServer::spawn("identity-server", listener, app, shutdown.clone())?;
    tracing::info!(addr = %server.local_addr(), %public_url, "identity-server ready");

    shutdown_signal().await;
    shutdown.cancel();
    server.wait(Duration::from_secs(30)).await
}
