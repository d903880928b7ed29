//! `nova-service --role api|scheduler|compute|network|volume --db LOCATION
//! --bus AMQP_URL`: one nova service in its own process, sharing the
//! database (PostgreSQL) and the bus (RabbitMQ) with the others, until
//! SIGTERM or SIGINT.
//!
//! A development and test harness, not a deployment: `compute` runs the
//! in-memory fake hypervisor, `network` records host effects without
//! applying them, `volume` keeps volumes in memory, and `api` serves the
//! Compute v2.1 API with static `--token`s and [`AnyImage`], an image
//! service that knows every id.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use async_trait::async_trait;
use clap::{Parser, ValueEnum};
use nova_core::api::ApiConfig;
use nova_core::bootstrap::{ensure_defaults, BootstrapConfig};
use nova_core::bus::{AmqpBus, AmqpOptions};
use nova_core::image::{ImageInfo, ImageService, ImageStream};
use nova_core::model::{HostName, ProjectId, UserId};
use nova_core::network::RecordingLinuxNet;
use nova_core::scheduler::FilterScheduler;
use nova_core::service::{
    ComputeConfig, ComputeService, NetworkService, SchedulerService, ServiceHandle, VolumeService,
};
use nova_core::virt::FakeDriver;
use nova_core::volume::MemoryVolumes;
use nova_core::{ComputeApi, MessageBus, RequestContext};
use nova_server::{ApiState, StaticAuthenticator};
use server_runtime::{self as runtime, RunningServer};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Role {
    Api,
    Scheduler,
    Compute,
    Network,
    Volume,
}

#[derive(Parser)]
#[command(about = "One ferrostack nova service (development and tests)")]
struct Args {
    /// The service this process runs.
    #[arg(long, value_enum)]
    role: Role,
    /// The shared database: a `postgres://` URL (or a SQLite path).
    #[arg(long)]
    db: String,
    /// The shared RabbitMQ bus, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`.
    #[arg(long)]
    bus: String,
    /// Prefix of every queue and exchange (clouds sharing a broker differ).
    #[arg(long, default_value = "ferrostack")]
    bus_prefix: String,
    /// The compute host's name (role `compute`).
    #[arg(long)]
    host: Option<String>,
    /// Where the api listens (role `api`); port 0 picks one.
    #[arg(long, default_value = "127.0.0.1:8774")]
    bind: std::net::SocketAddr,
    /// How often a compute host heartbeats.
    #[arg(long, default_value_t = 10_000)]
    heartbeat_ms: u64,
    /// A host silent for longer is down (api and scheduler).
    #[arg(long, default_value_t = 60_000)]
    down_time_ms: u64,
    /// How long a call to another service may take.
    #[arg(long, default_value_t = 60_000)]
    call_timeout_ms: u64,
    /// `TOKEN:PROJECT:ROLE,ROLE` the api accepts (repeatable; role `api`).
    #[arg(long = "token", env = "NOVA_SERVICE_TOKENS", value_delimiter = ' ')]
    tokens: Vec<String>,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens and the bus URL's password are secrets: left out.
        f.debug_struct("Args")
            .field("role", &self.role)
            .field("host", &self.host)
            .field("bind", &self.bind)
            .finish_non_exhaustive()
    }
}

/// The image service of the api and compute roles: every id is an active,
/// public, empty qcow2 image of that id (images are not what this harness
/// exercises; the fake hypervisor never reads their bytes).
#[derive(Debug)]
struct AnyImage;

#[async_trait]
impl ImageService for AnyImage {
    async fn show(&self, _ctx: &RequestContext, id: &str) -> nova_core::Result<ImageInfo> {
        Ok(ImageInfo {
            id: id.to_owned(),
            name: Some(format!("image-{id}")),
            status: "active".into(),
            disk_format: Some("qcow2".into()),
            container_format: Some("bare".into()),
            size: Some(0),
            checksum: None,
            min_disk: 0,
            min_ram: 0,
            owner: None,
            visibility: "public".into(),
            properties: Default::default(),
        })
    }

    async fn list(&self, _ctx: &RequestContext) -> nova_core::Result<Vec<ImageInfo>> {
        Ok(Vec::new())
    }

    async fn download(&self, _ctx: &RequestContext, _id: &str) -> nova_core::Result<ImageStream> {
        Ok(Box::pin(futures::stream::empty()))
    }
}

/// `TOKEN:PROJECT:ROLES` → the token and its context (user `PROJECT-user`).
fn parse_token(spec: &str) -> anyhow::Result<(String, RequestContext)> {
    let mut parts = spec.splitn(3, ':');
    let (Some(token), Some(project), Some(roles)) = (parts.next(), parts.next(), parts.next())
    else {
        bail!("--token wants TOKEN:PROJECT:ROLE[,ROLE...]");
    };
    if token.is_empty() {
        bail!("--token: the token is empty");
    }
    let ctx = RequestContext::new(
        UserId::new(format!("{project}-user"))?,
        ProjectId::new(project)?,
        roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
    );
    Ok((token.to_owned(), ctx))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::init_tracing();
    let args = Args::parse();
    let ms = Duration::from_millis;
    let db = nova_core::db::open(&args.db)
        .await
        .context("cannot open the database")?;
    let opts = AmqpOptions {
        prefix: args.bus_prefix.clone(),
    };
    let bus: Arc<dyn MessageBus> = Arc::new(
        AmqpBus::connect(&args.bus, opts)
            .await
            .context("cannot connect to the bus")?,
    );
    let images: Arc<dyn ImageService> = Arc::new(AnyImage);
    let handle: ServiceHandle = match args.role {
        Role::Api => return serve_api(&args, db, bus, images).await,
        Role::Scheduler => {
            let s = Arc::new(FilterScheduler::default());
            SchedulerService::new(db, bus, s, ms(args.down_time_ms))
                .start()
                .await?
        }
        Role::Network => {
            NetworkService::new(db, bus, Arc::new(RecordingLinuxNet::new()))
                .start()
                .await?
        }
        Role::Volume => {
            VolumeService::new(db, bus, Arc::new(MemoryVolumes::new()))
                .start()
                .await?
        }
        Role::Compute => {
            let Some(host) = &args.host else {
                bail!("--role compute needs --host");
            };
            let host: HostName = host.parse()?;
            let config = ComputeConfig {
                heartbeat_interval: ms(args.heartbeat_ms),
                call_timeout: ms(args.call_timeout_ms),
                ..ComputeConfig::default()
            };
            let driver = Arc::new(FakeDriver::with_defaults(host.clone()));
            ComputeService::new(host, driver, db, bus, images, config)
                .start()
                .await?
        }
    };
    tracing::info!(service = handle.name(), "running");
    runtime::shutdown_signal().await;
    handle.stop().await;
    Ok(())
}

/// Bootstraps the defaults, then serves Compute v2.1 until a signal.
async fn serve_api(
    args: &Args,
    db: Arc<dyn nova_core::NovaDb>,
    bus: Arc<dyn MessageBus>,
    images: Arc<dyn ImageService>,
) -> anyhow::Result<()> {
    ensure_defaults(&*db, &BootstrapConfig::default())
        .await
        .context("bootstrap")?;
    let mut auth = StaticAuthenticator::new();
    for spec in &args.tokens {
        let (token, ctx) = parse_token(spec)?;
        auth = auth.with_token(token, ctx);
    }
    let config = ApiConfig {
        service_down_time: Duration::from_millis(args.down_time_ms),
        call_timeout: Duration::from_millis(args.call_timeout_ms),
        ..ApiConfig::default()
    };
    let api = ComputeApi::new(db, bus, images, config);
    let state = ApiState::new(api, Arc::new(auth));
    let listener = runtime::bind(args.bind).await?;
    let shutdown = CancellationToken::new();
    let server = RunningServer::spawn(
        "nova-api",
        listener,
        nova_server::compute::router(state),
        shutdown.clone(),
    )?;
    // The one line on stdout: where to reach the api (port 0 included).
    println!("listening on http://{}", server.local_addr());
    runtime::shutdown_signal().await;
    shutdown.cancel();
    server.wait(Duration::from_secs(10)).await
}
