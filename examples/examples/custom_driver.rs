//! Plugs a user-written [`HypervisorDriver`] into an embedded compute
//! stack.
//!
//! A driver is any `Send + Sync + Debug` type implementing the async
//! [`HypervisorDriver`] trait (spawn, destroy, power on/off, reboot,
//! console, volumes, live migration, host resources). Give one per host to
//! [`EmbeddedConfig::with_host`] (or to `ComputeService::new` when compute
//! runs as its own process). `nova_core::virt::conformance` (feature
//! `testkit`) is the suite every driver must pass; run it on yours.
//!
//! The driver here wraps the fake driver and counts every call. The
//! example runs the conformance suite on it, then boots, stops, starts,
//! reads the console of and deletes a server through the `ComputeApi`,
//! and checks the driver saw each of those calls.
//!
//! Run with `cargo run -p ferrostack-examples --example custom_driver`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use async_trait::async_trait;
use nova_core::api::BootRequest;
use nova_core::bootstrap::{ensure_defaults, BootstrapConfig};
use nova_core::image::FakeImages;
use nova_core::model::{HostName, Instance, InstanceId, ProjectId, ServerStatus, UserId, VolumeId};
use nova_core::service::{Embedded, EmbeddedConfig, ServiceTiming};
use nova_core::virt::{
    conformance, DriverCapabilities, FakeDriver, HostResources, InstanceInfo, MigrateData,
    MigrationSide, RebootType, SpawnRequest, VolumeConnection,
};
use nova_core::{ComputeApi, HypervisorDriver, InProcessBus, RequestContext, Result};

/// Delegates to an inner driver and counts calls by method name.
#[derive(Debug)]
struct CountingDriver {
    inner: FakeDriver,
    calls: Mutex<BTreeMap<&'static str, u32>>,
}

impl CountingDriver {
    fn new(host: HostName) -> Self {
        Self {
            inner: FakeDriver::with_defaults(host),
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    fn saw(&self, method: &'static str) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        *calls.entry(method).or_default() += 1;
    }

    fn count(&self, method: &str) -> u32 {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.get(method).copied().unwrap_or(0)
    }

    fn reset(&self) {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[async_trait]
impl HypervisorDriver for CountingDriver {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn capabilities(&self) -> DriverCapabilities {
        self.inner.capabilities()
    }

    async fn spawn(&self, req: &SpawnRequest) -> Result<()> {
        self.saw("spawn");
        self.inner.spawn(req).await
    }

    async fn destroy(&self, id: &InstanceId) -> Result<()> {
        self.saw("destroy");
        self.inner.destroy(id).await
    }

    async fn reboot(&self, id: &InstanceId, kind: RebootType) -> Result<()> {
        self.saw("reboot");
        self.inner.reboot(id, kind).await
    }

    async fn power_on(&self, id: &InstanceId) -> Result<()> {
        self.saw("power_on");
        self.inner.power_on(id).await
    }

    async fn power_off(&self, id: &InstanceId) -> Result<()> {
        self.saw("power_off");
        self.inner.power_off(id).await
    }

    async fn console_output(&self, id: &InstanceId) -> Result<String> {
        self.saw("console_output");
        self.inner.console_output(id).await
    }

    async fn attach_volume(
        &self,
        id: &InstanceId,
        conn: &VolumeConnection,
        device: &str,
    ) -> Result<()> {
        self.saw("attach_volume");
        self.inner.attach_volume(id, conn, device).await
    }

    async fn detach_volume(&self, id: &InstanceId, volume: &VolumeId) -> Result<()> {
        self.saw("detach_volume");
        self.inner.detach_volume(id, volume).await
    }

    async fn instance_info(&self, id: &InstanceId) -> Result<InstanceInfo> {
        self.saw("instance_info");
        self.inner.instance_info(id).await
    }

    async fn list_instances(&self) -> Result<Vec<InstanceId>> {
        self.saw("list_instances");
        self.inner.list_instances().await
    }

    async fn host_resources(&self) -> Result<HostResources> {
        self.saw("host_resources");
        self.inner.host_resources().await
    }

    async fn check_can_live_migrate(
        &self,
        req: &SpawnRequest,
        block_migration: bool,
    ) -> Result<MigrateData> {
        self.saw("check_can_live_migrate");
        self.inner
            .check_can_live_migrate(req, block_migration)
            .await
    }

    async fn pre_live_migration(
        &self,
        req: &SpawnRequest,
        data: &MigrateData,
    ) -> Result<MigrateData> {
        self.saw("pre_live_migration");
        self.inner.pre_live_migration(req, data).await
    }

    async fn live_migrate(&self, id: &InstanceId, data: &MigrateData) -> Result<()> {
        self.saw("live_migrate");
        self.inner.live_migrate(id, data).await
    }

    async fn post_live_migration(&self, id: &InstanceId, side: MigrationSide) -> Result<()> {
        self.saw("post_live_migration");
        self.inner.post_live_migration(id, side).await
    }
}

/// Polls until `done` holds for the server (`None`: it is gone).
async fn wait_for(
    api: &ComputeApi,
    ctx: &RequestContext,
    id: &InstanceId,
    what: &str,
    done: impl Fn(Option<&Instance>) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = api.get_server(ctx, id).await.ok();
        if done(got.as_ref()) {
            return Ok(());
        }
        if got
            .as_ref()
            .is_some_and(|i| i.status() == ServerStatus::Error)
        {
            bail!("server {id} went to ERROR waiting for {what}");
        }
        if Instant::now() > deadline {
            bail!("server {id} not {what} after 20 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn status_is(s: ServerStatus) -> impl Fn(Option<&Instance>) -> bool {
    move |i| i.is_some_and(|i| i.status() == s)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let host = HostName::new("node1")?;

    // 1. The driver conformance suite (panics on a failed scenario).
    let probe = CountingDriver::new(host.clone());
    conformance::run_all(&probe, &conformance::Fixture::in_memory()).await;
    ensure!(probe.count("spawn") > 0, "conformance suite made no spawn");
    println!("conformance suite passed on the counting driver");

    // 2. The same driver behind a whole compute stack.
    let dir = tempfile::tempdir()?;
    let location = format!("sqlite:{}", dir.path().join("nova.sqlite").display());
    let db = nova_core::db::open(&location).await?;
    ensure_defaults(&*db, &BootstrapConfig::default()).await?;
    let (images, image) = FakeImages::with_cirros();
    let driver = Arc::new(CountingDriver::new(host.clone()));
    let mut cfg = EmbeddedConfig::new(db, Arc::new(InProcessBus::default()), Arc::new(images));
    cfg.timing = ServiceTiming::fast();
    cfg = cfg.with_host(host, driver.clone());
    let stack = Embedded::start(cfg).await?;
    let api = &stack.api;
    let ctx = RequestContext::new(
        UserId::new("alice")?,
        ProjectId::new("demo")?,
        vec!["member".into()],
    );
    driver.reset();

    let req = BootRequest {
        name: "vm1".into(),
        flavor: "m1.tiny".into(),
        image: Some(image),
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
    wait_for(api, &ctx, &id, "ACTIVE", status_is(ServerStatus::Active)).await?;
    api.stop(&ctx, &id).await?;
    wait_for(api, &ctx, &id, "SHUTOFF", status_is(ServerStatus::Shutoff)).await?;
    api.start(&ctx, &id).await?;
    wait_for(api, &ctx, &id, "ACTIVE", status_is(ServerStatus::Active)).await?;
    let console = api.console_output(&ctx, &id, None).await?;
    ensure!(!console.is_empty(), "empty console output");
    println!("console of vm1:\n{console}");
    api.delete_server(&ctx, &id).await?;
    wait_for(api, &ctx, &id, "deleted", |i| i.is_none()).await?;

    for method in [
        "spawn",
        "power_off",
        "power_on",
        "console_output",
        "destroy",
    ] {
        let n = driver.count(method);
        println!("driver saw {method} x{n}");
        ensure!(n >= 1, "the driver never saw {method}");
    }
    ensure!(
        driver.count("spawn") == 1,
        "one boot but {} spawns",
        driver.count("spawn")
    );
    ensure!(
        driver.inner.list_instances().await?.is_empty(),
        "the deleted server is still on the driver"
    );

    stack.shutdown().await;
    println!("custom driver: every call reached the driver");
    Ok(())
}
