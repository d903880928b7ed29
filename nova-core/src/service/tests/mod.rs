//! End-to-end tests of the api and the services on the fake driver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::{BootRequest, ComputeApi, RequestContext};
use crate::bootstrap::{ensure_defaults, BootstrapConfig};
use crate::bus::MessageBus;
use crate::db::NovaDb;
use crate::error::Result;
use crate::image::FakeImages;
use crate::model::{HostName, Instance, InstanceId, ProjectId, ServerStatus, UserId};
use crate::network::RecordingLinuxNet;
use crate::virt::FakeDriver;

use super::{Embedded, EmbeddedConfig, ServiceTiming};

mod core;
mod flows;
mod resources;
#[cfg(all(feature = "postgres", feature = "amqp"))]
mod services;

/// A running stack with handles on its fakes.
pub(super) struct Stack {
    pub(super) emb: Embedded,
    pub(super) drivers: Vec<(HostName, Arc<FakeDriver>)>,
    pub(super) net: Arc<RecordingLinuxNet>,
    pub(super) image: String,
}

impl Stack {
    pub(super) fn api(&self) -> &ComputeApi {
        &self.emb.api
    }

    pub(super) fn driver(&self, host: &str) -> Arc<FakeDriver> {
        self.drivers
            .iter()
            .find(|(h, _)| h.as_str() == host)
            .map(|(_, d)| Arc::clone(d))
            .unwrap()
    }
}

pub(super) async fn stack_on(
    db: Arc<dyn NovaDb>,
    bus: Arc<dyn MessageBus>,
    hosts: &[&str],
) -> Stack {
    ensure_defaults(&*db, &BootstrapConfig::default())
        .await
        .unwrap();
    let (images, image) = FakeImages::with_cirros();
    let net = Arc::new(RecordingLinuxNet::new());
    let mut cfg = EmbeddedConfig::new(db, bus, Arc::new(images));
    cfg.linux_net = net.clone();
    cfg.timing = ServiceTiming::fast();
    let mut drivers = Vec::new();
    for h in hosts {
        let name = HostName::new(*h).unwrap();
        let d = Arc::new(FakeDriver::with_defaults(name.clone()));
        drivers.push((name.clone(), Arc::clone(&d)));
        cfg = cfg.with_host(name, d);
    }
    let emb = Embedded::start(cfg).await.unwrap();
    Stack {
        emb,
        drivers,
        net,
        image,
    }
}

/// SQLite in memory and the in-process bus.
pub(super) async fn stack(hosts: &[&str]) -> Stack {
    let db = crate::db::open("memory:").await.unwrap();
    stack_on(db, Arc::new(crate::InProcessBus::default()), hosts).await
}

pub(super) fn ctx(project: &str) -> RequestContext {
    RequestContext::new(
        UserId::new(format!("u-{project}")).unwrap(),
        ProjectId::new(project).unwrap(),
        vec!["member".into()],
    )
}

pub(super) fn admin() -> RequestContext {
    RequestContext::new(
        UserId::new("admin").unwrap(),
        ProjectId::new("admin").unwrap(),
        vec!["admin".into()],
    )
}

pub(super) fn boot(name: &str, image: &str) -> BootRequest {
    BootRequest {
        name: name.into(),
        flavor: "m1.tiny".into(),
        image: Some(image.into()),
        min_count: 1,
        max_count: 1,
        ..BootRequest::default()
    }
}

/// Polls until `done` holds for the server (or it is gone when `done`
/// gets `None`); fails after 10 s.
pub(super) async fn wait_until(
    api: &ComputeApi,
    ctx: &RequestContext,
    id: &InstanceId,
    done: impl Fn(Option<&Instance>) -> bool,
) -> Option<Instance> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = api.get_server(ctx, id).await.ok();
        if done(got.as_ref()) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "server {id} never reached the wanted state; last: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for a status that is not transient; returns the record.
pub(super) async fn wait_status(
    api: &ComputeApi,
    ctx: &RequestContext,
    id: &InstanceId,
    want: ServerStatus,
) -> Instance {
    wait_until(api, ctx, id, |i| {
        i.is_some_and(|i| i.status() == want && i.task_state.is_none())
    })
    .await
    .unwrap()
}

/// Boots one tiny server and waits for ACTIVE.
pub(super) async fn boot_active(s: &Stack, ctx: &RequestContext, name: &str) -> Result<Instance> {
    let made = s.api().create_servers(ctx, boot(name, &s.image)).await?;
    Ok(wait_status(s.api(), ctx, &made[0].id, ServerStatus::Active).await)
}
