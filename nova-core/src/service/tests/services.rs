//! The core scenario on PostgreSQL and RabbitMQ (FERROSTACK_PG_URL and
//! FERROSTACK_AMQP_URL; skipped without them unless
//! FERROSTACK_REQUIRE_SERVICES=1).

use std::time::Duration;

use super::*;
use sql_support::testkit::TestDatabase;

use crate::bus::{AmqpBus, AmqpOptions};

fn env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{name} is required (FERROSTACK_REQUIRE_SERVICES=1)"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn core_scenario_on_postgres_and_amqp() {
    let Some(amqp) = env("FERROSTACK_AMQP_URL") else {
        eprintln!("skipped core_scenario_on_postgres_and_amqp: FERROSTACK_AMQP_URL is unset");
        return;
    };
    // A fresh database and a private queue prefix: the server and the
    // broker may be shared with other runs.
    let Some(pg) = TestDatabase::create("nova core_scenario_on_postgres_and_amqp").await else {
        return;
    };
    let db = crate::db::open(pg.url().expose()).await.unwrap();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let opts = AmqpOptions {
        prefix: format!("ft-{run}"),
    };
    let bus = AmqpBus::connect(&amqp, opts).await.unwrap();
    let (h1, h2) = (format!("pg-{}-1", &run[..8]), format!("pg-{}-2", &run[..8]));
    let s = stack_on(db, Arc::new(bus), &[&h1, &h2]).await;
    let project = format!("pg-{run}");
    super::core::core_scenario(&s, &project).await;
    s.emb.shutdown().await;
}

/// Each service with its own database pool and broker connection, as
/// separate processes would run them: boots spread over both hosts; a host
/// that stops heartbeating turns down and new boots avoid it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separately_connected_services_share_postgres_and_amqp() {
    use crate::api::{ApiConfig, ComputeApi};
    use crate::scheduler::FilterScheduler;
    use crate::service::{
        ComputeConfig, ComputeService, NetworkService, SchedulerService, VolumeService,
    };
    use crate::volume::MemoryVolumes;

    let Some(amqp) = env("FERROSTACK_AMQP_URL") else {
        eprintln!("skipped separately_connected_services: FERROSTACK_AMQP_URL is unset");
        return;
    };
    let Some(pg) = TestDatabase::create("nova separately_connected_services").await else {
        return;
    };
    let url = pg.url().expose().to_owned();
    let prefix = format!("ft-{}", uuid::Uuid::new_v4().simple());
    let node = || async {
        let db = crate::db::open(&url).await.unwrap();
        let opts = AmqpOptions {
            prefix: prefix.clone(),
        };
        let bus: Arc<dyn MessageBus> = Arc::new(AmqpBus::connect(&amqp, opts).await.unwrap());
        (db, bus)
    };
    let timing = ServiceTiming::fast();
    let (db, _) = node().await;
    ensure_defaults(&*db, &BootstrapConfig::default())
        .await
        .unwrap();
    let (images, image) = FakeImages::with_cirros();
    let images: Arc<dyn crate::image::ImageService> = Arc::new(images);
    let mut handles = Vec::new();
    let (db, bus) = node().await;
    let sched = SchedulerService::new(
        db,
        bus,
        Arc::new(FilterScheduler::default()),
        timing.service_down_time,
    );
    handles.push(sched.start().await.unwrap());
    let (db, bus) = node().await;
    handles.push(
        NetworkService::new(db, bus, Arc::new(RecordingLinuxNet::new()))
            .start()
            .await
            .unwrap(),
    );
    let (db, bus) = node().await;
    handles.push(
        VolumeService::new(db, bus, Arc::new(MemoryVolumes::new()))
            .start()
            .await
            .unwrap(),
    );
    let mut computes = Vec::new();
    for h in ["mp-node1", "mp-node2"] {
        let (db, bus) = node().await;
        let name = HostName::new(h).unwrap();
        let config = ComputeConfig {
            heartbeat_interval: timing.heartbeat_interval,
            call_timeout: timing.call_timeout,
            ..ComputeConfig::default()
        };
        let driver = Arc::new(FakeDriver::with_defaults(name.clone()));
        let svc = ComputeService::new(name, driver, db, bus, Arc::clone(&images), config);
        computes.push(svc.start().await.unwrap());
    }
    let (db, bus) = node().await;
    let api = ComputeApi::new(
        db,
        bus,
        images,
        ApiConfig {
            service_down_time: timing.service_down_time,
            call_timeout: timing.call_timeout,
            ..ApiConfig::default()
        },
    );
    let c = ctx("multi");
    let mut req = boot("spread", &image);
    req.min_count = 6;
    req.max_count = 6;
    let made = api.create_servers(&c, req).await.unwrap();
    let mut on = std::collections::BTreeSet::new();
    for i in &made {
        let i = wait_status(&api, &c, &i.id, ServerStatus::Active).await;
        on.insert(i.host.unwrap().to_string());
    }
    assert_eq!(on.len(), 2, "{on:?}");

    // "Kill" mp-node2: its heartbeats stop.
    let dead = computes.pop().unwrap();
    assert_eq!(dead.name(), "compute.mp-node2");
    dead.stop().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let hosts = api.list_hosts(&admin()).await.unwrap();
        if hosts
            .iter()
            .any(|(h, up)| h.host.as_str() == "mp-node2" && !up)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mp-node2 never went down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut req = boot("after", &image);
    req.min_count = 3;
    req.max_count = 3;
    for i in api.create_servers(&c, req).await.unwrap() {
        let i = wait_status(&api, &c, &i.id, ServerStatus::Active).await;
        assert_eq!(i.host.unwrap().as_str(), "mp-node1");
    }
    for h in handles.into_iter().chain(computes) {
        h.stop().await;
    }
}
