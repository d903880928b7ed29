use std::time::Duration;

use super::*;
use crate::virt::conformance::{self, Fixture};

fn driver(name: &str) -> FakeDriver {
    FakeDriver::with_defaults(HostName::new(name).unwrap())
}

#[tokio::test]
async fn fake_driver_conforms() {
    conformance::run_all(&driver("h1"), &Fixture::in_memory()).await;
}

#[tokio::test]
async fn fake_driver_live_migrates() {
    conformance::live_migration_between(&driver("h1"), &driver("h2"), &Fixture::in_memory()).await;
}

#[tokio::test]
async fn injected_failures_count_down() {
    let d = driver("h1");
    let f = Fixture::in_memory();
    d.fail_next(DriverOp::Spawn, 2);
    for _ in 0..2 {
        let e = d.spawn(&f.template).await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Backend {
                    backend: "fake",
                    ..
                }
            ),
            "{e:?}"
        );
        let src = std::error::Error::source(&e).unwrap().to_string();
        assert_eq!(src, "injected failure in Spawn");
    }
    d.spawn(&f.template).await.unwrap();
    assert_eq!(
        d.list_instances().await.unwrap(),
        vec![f.template.instance_id]
    );
}

#[tokio::test]
async fn fail_always_until_cleared() {
    let d = driver("h1");
    d.fail_always(DriverOp::HostResources);
    for _ in 0..3 {
        assert!(d.host_resources().await.is_err());
    }
    d.clear_faults();
    assert_eq!(d.host_resources().await.unwrap().hypervisor_type, "fake");
}

#[tokio::test]
async fn delays_apply_per_operation() {
    let d = driver("h1");
    let f = Fixture::in_memory();
    d.set_delay(DriverOp::Spawn, Duration::from_millis(300));
    let start = tokio::time::Instant::now();
    d.spawn(&f.template).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = tokio::time::Instant::now();
    d.power_off(&f.template.instance_id).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn console_shows_boot_and_guest_lines() {
    let d = driver("h1");
    let mut req = Fixture::in_memory().template;
    req.vifs.push(super::super::Vif {
        mac: "fa:16:3e:00:00:01".into(),
        address: Some("10.0.0.3".parse().unwrap()),
        bridge: "br100".into(),
        network: "private".into(),
    });
    d.spawn(&req).await.unwrap();
    d.write_console(&req.instance_id, "hello from the guest")
        .unwrap();
    let log = d.console_output(&req.instance_id).await.unwrap();
    assert!(
        log.contains("eth0: fa:16:3e:00:00:01 10.0.0.3 on br100"),
        "{log}"
    );
    assert!(log.ends_with("hello from the guest\n"), "{log}");
}
