//! Plugs a user-written [`Scheduler`] into an embedded compute stack.
//!
//! A scheduler is any `Send + Sync + Debug` type implementing
//! [`Scheduler::select_host`]: it gets the state of every compute host
//! (zone, resources, the instances on it, whether it is enabled and up)
//! and the request, and names a host. Set it as
//! [`EmbeddedConfig::scheduler`] (or pass it to `SchedulerService::new`
//! when the services run as separate processes) and every boot goes
//! through it. (The stock `FilterScheduler` can also be extended piecewise
//! with your own `HostFilter`s and `HostWeigher`s.)
//!
//! The rule here is "pack": the host that already runs the most
//! instances, at most [`MAX_PER_HOST`] each, ties to the smallest name.
//! Three fake hosts, SQLite in a temporary directory, the in-process bus;
//! six servers booted one after the other must land on node1, node1,
//! node2, node2, node3, node3 (the default filter scheduler would spread
//! them instead), and a seventh finds no valid host.
//!
//! Run with `cargo run -p ferrostack-examples --example custom_scheduler`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use nova_core::api::BootRequest;
use nova_core::bootstrap::{ensure_defaults, BootstrapConfig};
use nova_core::image::FakeImages;
use nova_core::model::{HostName, ProjectId, ServerStatus, UserId};
use nova_core::scheduler::{candidate, no_valid_host, HostState, RequestSpec};
use nova_core::service::{Embedded, EmbeddedConfig, ServiceTiming};
use nova_core::virt::FakeDriver;
use nova_core::{ComputeApi, InProcessBus, RequestContext, Scheduler};

/// The most instances the packing scheduler puts on one host.
const MAX_PER_HOST: usize = 2;

/// Fills one host before starting the next.
#[derive(Debug, Default)]
struct PackScheduler;

impl Scheduler for PackScheduler {
    fn name(&self) -> &'static str {
        "pack"
    }

    fn select_host(&self, hosts: &[HostState], spec: &RequestSpec) -> nova_core::Result<HostName> {
        hosts
            .iter()
            .filter(|h| {
                candidate(h, spec)
                    && h.free().fits(spec.resources)
                    && h.instances.len() < MAX_PER_HOST
            })
            // Most instances first; among equals the smallest name.
            .max_by(|a, b| {
                a.instances
                    .len()
                    .cmp(&b.instances.len())
                    .then_with(|| b.host.cmp(&a.host))
            })
            .map(|h| h.host.clone())
            .ok_or_else(|| no_valid_host("every host is full"))
    }
}

async fn wait_active(
    api: &ComputeApi,
    ctx: &RequestContext,
    id: &nova_core::model::InstanceId,
) -> anyhow::Result<nova_core::model::Instance> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let i = api.get_server(ctx, id).await?;
        match i.status() {
            ServerStatus::Active => return Ok(i),
            ServerStatus::Error => bail!("server {id} went to ERROR"),
            _ if Instant::now() > deadline => bail!("server {id} not ACTIVE after 20 s"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let location = format!("sqlite:{}", dir.path().join("nova.sqlite").display());
    let db = nova_core::db::open(&location).await?;
    ensure_defaults(&*db, &BootstrapConfig::default()).await?;
    let (images, image) = FakeImages::with_cirros();

    let mut cfg = EmbeddedConfig::new(db, Arc::new(InProcessBus::default()), Arc::new(images));
    cfg.scheduler = Arc::new(PackScheduler);
    cfg.timing = ServiceTiming::fast();
    for name in ["node1", "node2", "node3"] {
        let host = HostName::new(name)?;
        cfg = cfg.with_host(host.clone(), Arc::new(FakeDriver::with_defaults(host)));
    }
    let stack = Embedded::start(cfg).await?;
    let api = &stack.api;
    let ctx = RequestContext::new(
        UserId::new("alice")?,
        ProjectId::new("demo")?,
        vec!["member".into()],
    );

    let mut placed = Vec::new();
    for n in 1..=6 {
        let req = BootRequest {
            name: format!("vm{n}"),
            flavor: "m1.tiny".into(),
            image: Some(image.clone()),
            min_count: 1,
            max_count: 1,
            ..BootRequest::default()
        };
        let created = api.create_servers(&ctx, req).await?;
        let id = created.first().context("no server created")?.id;
        let vm = wait_active(api, &ctx, &id).await?;
        let host = vm.host.context("ACTIVE server has no host")?;
        println!("vm{n} -> {host}");
        placed.push(host.as_str().to_owned());
    }
    let expected = ["node1", "node1", "node2", "node2", "node3", "node3"];
    ensure!(
        placed == expected,
        "placement {placed:?} did not follow the pack rule {expected:?}"
    );

    // A seventh server does not fit anywhere: the scheduler says so and the
    // server ends in ERROR.
    let req = BootRequest {
        name: "vm7".into(),
        flavor: "m1.tiny".into(),
        image: Some(image.clone()),
        min_count: 1,
        max_count: 1,
        ..BootRequest::default()
    };
    let id = api
        .create_servers(&ctx, req)
        .await?
        .first()
        .context("no server created")?
        .id;
    match wait_active(api, &ctx, &id).await {
        Err(e) if e.to_string().contains("ERROR") => {}
        Err(e) => bail!("vm7 did not go to ERROR: {e}"),
        Ok(_) => bail!("vm7 booted although every host is full"),
    }
    println!("vm7 -> no valid host (as expected)");

    stack.shutdown().await;
    println!("custom scheduler: placement followed the pack rule");
    Ok(())
}
