//! `identity-server --config FILE`: the Keystone v3 subset.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use identity_core::{
    Catalog, IdentityBackend, IdentityConfig, IdentityService, MemoryIdentityBackend,
    SqliteIdentityBackend,
};
use identity_server::config::ServerConfig;
use identity_server::{router, AppState};

/// The ferrostack identity server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's TOML configuration.
    #[arg(long)]
    config: PathBuf,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let cfg = ServerConfig::load(&args.config)?;
    let public_url = cfg.public_url();

    let backend: Arc<dyn IdentityBackend> = if cfg.database == ":memory:" {
        Arc::new(MemoryIdentityBackend::new())
    } else {
        Arc::new(
            SqliteIdentityBackend::open(&cfg.database)
                .await
                .with_context(|| format!("cannot open database {}", cfg.database))?,
        )
    };
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
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.bind))?;
    tracing::info!(addr = %listener.local_addr()?, %public_url, "identity-server ready");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}
