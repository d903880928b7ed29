//! `glance-server --config FILE`: the Images API v2 over glance-core.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use glance_core::image::access::Caller;
use glance_core::import::ReqwestWebFetcher;
use glance_core::registry::Location;
use glance_core::{ImageService, ProjectId};
use glance_server::config::Config;
use glance_server::runtime::{self, RunningServer};
use glance_server::{router, AppState, KeystoneAuthenticator, StaticAuthenticator};
use identity_core::validator::HttpTokenValidator;
use identity_core::CachingValidator;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(about = "ferrostack Glance (Images API v2) server")]
struct Args {
    /// The TOML config file.
    #[arg(long, env = "GLANCE_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::init_tracing();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let config =
        Config::parse(&text).with_context(|| format!("bad config {}", args.config.display()))?;

    let location = match (&config.registry, &config.sqlite_path) {
        (Some(l), _) => l.clone(),
        (None, Some(p)) => Location::Sqlite(p.clone()),
        (None, None) => Location::Memory,
    };
    let registry = glance_core::registry::open_location(&location)
        .await
        .with_context(|| format!("cannot open the registry {location}"))?;
    let stores = config.open_stores()?;
    let service = ImageService::new(registry, stores, config.quota.clone())?
        .with_staging(config.open_staging()?)
        .with_import_config(config.import.clone())
        .with_web_fetcher(Arc::new(ReqwestWebFetcher::new()));

    let mut auth = StaticAuthenticator::new();
    for t in &config.tokens {
        let project = ProjectId::new(t.project.clone())?;
        let caller = if t.admin {
            Caller::admin(project)
        } else if t.reader {
            Caller::reader(project)
        } else {
            Caller::project(project)
        };
        auth = auth.with_token(t.token.clone(), caller);
    }
    let authenticator: Arc<dyn glance_server::Authenticator> = match &config.auth_url {
        Some(url) => {
            let http = HttpTokenValidator::new(url, Duration::from_secs(5))?;
            let cached =
                CachingValidator::new(Arc::new(http), Duration::from_secs(config.token_cache_secs));
            Arc::new(KeystoneAuthenticator::new(Arc::new(cached)))
        }
        None => Arc::new(auth),
    };
    let mut state = AppState::new(Arc::new(service), authenticator);
    if let Some(url) = &config.auth_url {
        state = state.with_auth_url(url.clone());
    }
    for s in &config.stores {
        if let Some(d) = s.description() {
            state = state.with_store_description(s.id(), d);
        }
    }
    if let Some(e) = &config.public_endpoint {
        state = state.with_public_endpoint(e.clone());
    }

    let listener = runtime::bind(config.bind).await?;
    let shutdown = CancellationToken::new();
    let server = RunningServer::spawn("glance", listener, router(state), shutdown.clone())?;
    runtime::shutdown_signal().await;
    shutdown.cancel();
    server.wait(Duration::from_secs(30)).await
}
