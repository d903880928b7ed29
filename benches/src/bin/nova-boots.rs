//! `nova-boots`: how fast an embedded compute stack boots servers.
//!
//! Starts [`Embedded`] (every nova service in this process) on SQLite in a
//! temporary directory and the in-process bus, or on a fresh PostgreSQL
//! database (`--db postgres://...`, created here and dropped at the end)
//! and RabbitMQ (`--bus amqp://...`, queues under a fresh prefix), with
//! `--hosts` fake hypervisors. Then `--concurrency` tasks send `--count`
//! single-server create requests through the `ComputeApi`, and the run
//! waits until every server is ACTIVE. Prints boots/s (servers / time from
//! the first request to all ACTIVE) and the p50/p99 latency of the create
//! requests. Fails when `--time-limit` passes first or a server errors.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Parser;
use ferrostack_benches::stats::percentile;
use nova_core::api::BootRequest;
use nova_core::bootstrap::{ensure_defaults, BootstrapConfig, DefaultNetwork};
use nova_core::bus::{AmqpBus, AmqpOptions};
use nova_core::db::{InstanceFilter, PgUrl};
use nova_core::image::FakeImages;
use nova_core::model::{
    HostName, Ipv4Cidr, NetworkMode, ProjectId, QuotaLimits, QuotaResource, Resources,
    ServerStatus, UserId,
};
use nova_core::service::{Embedded, EmbeddedConfig, ServiceTiming};
use nova_core::virt::FakeDriver;
use nova_core::{InProcessBus, MessageBus, NovaDb, RequestContext};
use sql_support::pg::PgPool;

/// Server boot throughput of an embedded compute stack.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// `sqlite` (a temporary file) or a PostgreSQL server URL
    /// (`postgres://user@host:port/db`); a fresh database is created on it.
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// `memory` (the in-process bus) or a RabbitMQ URL (`amqp://...`).
    #[arg(long, default_value = "memory")]
    bus: String,
    /// Fake compute hosts.
    #[arg(long, default_value_t = 4)]
    hosts: u32,
    /// Servers to boot.
    #[arg(long, default_value_t = 200)]
    count: u32,
    /// Concurrent create requests.
    #[arg(long, default_value_t = 16)]
    concurrency: u32,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    time_limit: u64,
}

/// A database created for this run and dropped after it.
struct FreshPg {
    server: PgUrl,
    name: String,
}

impl FreshPg {
    async fn create(server: &str) -> anyhow::Result<Self> {
        let server = PgUrl::new(server);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let name = format!("nova_boots_{}_{nanos}", std::process::id());
        let admin = PgPool::connect(&server).await?;
        admin
            .get()
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(Self { server, name })
    }

    fn url(&self) -> PgUrl {
        self.server.with_database(&self.name)
    }

    async fn drop_it(self) -> anyhow::Result<()> {
        let admin = PgPool::connect(&self.server).await?;
        admin
            .get()
            .await?
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}

fn unlimited() -> QuotaLimits {
    let mut l = QuotaLimits::default();
    for r in QuotaResource::ALL {
        l.set(r, None);
    }
    l
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run(a: &Args, db: Arc<dyn NovaDb>, bus: Arc<dyn MessageBus>) -> anyhow::Result<()> {
    let network = Ipv4Cidr::new(std::net::Ipv4Addr::new(10, 0, 0, 0), 20)?;
    let boot_cfg = BootstrapConfig {
        network: Some(DefaultNetwork {
            label: "private".into(),
            mode: NetworkMode::FlatDhcp,
            cidr: network,
            bridge: "br100".into(),
        }),
        ..BootstrapConfig::default()
    };
    ensure_defaults(&*db, &boot_cfg).await?;
    let project = ProjectId::new("bench")?;
    db.set_quota_limits(&project, &unlimited()).await?;
    let (images, image) = FakeImages::with_cirros();
    let mut cfg = EmbeddedConfig::new(Arc::clone(&db), bus, Arc::new(images));
    cfg.timing = ServiceTiming::fast();
    cfg.timing.call_timeout = Duration::from_secs(60);
    let big = Resources {
        vcpus: 100_000,
        memory_mb: 100_000_000,
        disk_gb: 1_000_000,
    };
    for n in 1..=a.hosts {
        let host = HostName::new(format!("node{n}"))?;
        cfg = cfg.with_host(host.clone(), Arc::new(FakeDriver::new(host, big)));
    }
    let stack = Arc::new(Embedded::start(cfg).await?);
    let ctx = RequestContext::new(UserId::new("bench")?, project, vec!["member".into()]);

    let start = Instant::now();
    let next = Arc::new(AtomicU32::new(0));
    let mut workers = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let (stack, ctx, next, image, count) = (
            Arc::clone(&stack),
            ctx.clone(),
            Arc::clone(&next),
            image.clone(),
            a.count,
        );
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return Ok::<_, nova_core::Error>(lat);
                }
                let req = BootRequest {
                    name: format!("vm{n}"),
                    flavor: "m1.tiny".into(),
                    image: Some(image.clone()),
                    min_count: 1,
                    max_count: 1,
                    ..BootRequest::default()
                };
                let t = Instant::now();
                stack.api.create_servers(&ctx, req).await?;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await??);
    }
    let created = start.elapsed();

    let active = InstanceFilter {
        status: Some(ServerStatus::Active),
        ..InstanceFilter::default()
    };
    let errored = InstanceFilter {
        status: Some(ServerStatus::Error),
        ..InstanceFilter::default()
    };
    loop {
        let done = db.list_instances(&active).await?.len();
        if done >= a.count as usize {
            break;
        }
        let failed = db.list_instances(&errored).await?;
        if let Some(first) = failed.first() {
            let why = first.fault.as_ref().map(|f| f.message.as_str());
            bail!(
                "{} servers went to ERROR ({done} ACTIVE); first: {} ({})",
                failed.len(),
                first.id,
                why.unwrap_or("no fault recorded")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_active = start.elapsed();
    lat.sort();
    println!(
        "db={} bus={} hosts={} count={} concurrency={}",
        if a.db.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        },
        if a.bus.starts_with("amqp") {
            "rabbitmq"
        } else {
            "in-process"
        },
        a.hosts,
        a.count,
        a.concurrency
    );
    println!(
        "all requests answered in {:.2} s; all ACTIVE after {:.2} s",
        created.as_secs_f64(),
        all_active.as_secs_f64()
    );
    println!(
        "boots/s {:.1}; create latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        f64::from(a.count) / all_active.as_secs_f64().max(1e-9),
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 99.0)),
        ms(lat.last().copied().unwrap_or_default())
    );
    if let Ok(stack) = Arc::try_unwrap(stack) {
        stack.shutdown().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let dir = tempfile::tempdir()?;
    let (db, fresh): (Arc<dyn NovaDb>, Option<FreshPg>) = if a.db == "sqlite" {
        let loc = format!("sqlite:{}", dir.path().join("nova.sqlite").display());
        (nova_core::db::open(&loc).await?, None)
    } else if a.db.starts_with("postgres://") || a.db.starts_with("postgresql://") {
        let fresh = FreshPg::create(&a.db)
            .await
            .context("creating the database")?;
        let db =
            nova_core::db::open_location(&nova_core::db::Location::Postgres(fresh.url())).await?;
        (db, Some(fresh))
    } else {
        bail!("--db is `sqlite` or a postgres:// URL");
    };
    let amqp = if a.bus == "memory" {
        None
    } else if a.bus.starts_with("amqp://") {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let prefix = format!("nova-boots-{nanos}");
        Some(Arc::new(
            AmqpBus::connect(&a.bus, AmqpOptions { prefix }).await?,
        ))
    } else {
        bail!("--bus is `memory` or an amqp:// URL");
    };
    let bus: Arc<dyn MessageBus> = match &amqp {
        Some(b) => b.clone(),
        None => Arc::new(InProcessBus::default()),
    };
    let limit = Duration::from_secs(a.time_limit);
    let outcome = match tokio::time::timeout(limit, run(&a, db, bus)).await {
        Ok(r) => r,
        Err(_) => Err(anyhow::anyhow!("time limit of {} s reached", a.time_limit)),
    };
    if let Some(b) = amqp {
        b.close().await?;
    }
    if let Some(f) = fresh {
        f.drop_it().await?;
    }
    outcome
}
