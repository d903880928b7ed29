//! Boot, actions, delete, quotas, scheduling.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;
use crate::api::AddressKind;
use crate::error::Error;
use crate::model::{QuotaLimits, QuotaResource, VmState};
use crate::virt::DriverOp;

/// The core scenario every backend pair must pass: boot on two hosts,
/// stop/start/reboot, console output, delete frees everything.
pub(in crate::service) async fn core_scenario(s: &Stack, project: &str) {
    let c = ctx(project);
    let api = s.api();
    let before = api.quotas(&c, &c.project_id).await.unwrap();
    let mut req = boot("web", &s.image);
    req.min_count = 4;
    req.max_count = 4;
    let made = api.create_servers(&c, req).await.unwrap();
    assert_eq!(made.len(), 4);
    assert!(made.iter().all(|i| i.status() == ServerStatus::Build));
    assert!(made[0].reservation_id.starts_with("r-"));
    let names: BTreeSet<_> = made.iter().map(|i| i.name.clone()).collect();
    assert!(names.contains("web-1") && names.contains("web-4"));
    let mut hosts = BTreeSet::new();
    for i in &made {
        let i = wait_status(api, &c, &i.id, ServerStatus::Active).await;
        assert!(i.launched_at.is_some());
        assert_eq!(i.power_state, crate::model::PowerState::Running);
        hosts.insert(i.host.clone().unwrap());
        let addrs = api.addresses(&c, &i.id).await.unwrap();
        let private = &addrs["private"];
        assert_eq!(private.len(), 1);
        assert_eq!(private[0].kind, AddressKind::Fixed);
        assert!(private[0].addr.to_string().starts_with("10.0.0."));
    }
    if s.drivers.len() > 1 {
        assert_eq!(
            hosts.len(),
            2,
            "4 boots on 2 hosts with the filter scheduler spread"
        );
    }
    let usage = api.quotas(&c, &c.project_id).await.unwrap().usage;
    let used = |u: &std::collections::BTreeMap<QuotaResource, crate::model::QuotaUsage>, r| {
        u.get(&r).map_or(0, |u| u.in_use)
    };
    assert_eq!(
        used(&usage, QuotaResource::Instances),
        used(&before.usage, QuotaResource::Instances) + 4
    );
    assert_eq!(used(&usage, QuotaResource::Ram), 4 * 512);

    let id = made[0].id;
    api.stop(&c, &id).await.unwrap();
    let i = wait_status(api, &c, &id, ServerStatus::Shutoff).await;
    assert_eq!(i.vm_state, VmState::Stopped);
    assert!(matches!(
        api.stop(&c, &id).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        api.reboot(&c, &id, false).await,
        Err(Error::Conflict { .. })
    ));
    api.start(&c, &id).await.unwrap();
    wait_status(api, &c, &id, ServerStatus::Active).await;
    api.reboot(&c, &id, false).await.unwrap();
    wait_status(api, &c, &id, ServerStatus::Active).await;
    api.reboot(&c, &id, true).await.unwrap();
    let i = wait_status(api, &c, &id, ServerStatus::Active).await;
    assert_eq!(i.power_state, crate::model::PowerState::Running);

    let full = api.console_output(&c, &id, None).await.unwrap();
    assert!(full.lines().count() >= 2, "{full:?}");
    let two = api.console_output(&c, &id, Some(2)).await.unwrap();
    assert_eq!(two.split('\n').count(), 2);
    assert!(full.ends_with(&two));

    for i in &made {
        api.delete_server(&c, &i.id).await.unwrap();
    }
    for i in &made {
        wait_until(api, &c, &i.id, |x| x.is_none()).await;
        assert!(api.db().fixed_ips_of(&i.id).await.unwrap().is_empty());
    }
    for (_, d) in &s.drivers {
        for i in &made {
            assert!(
                d.instance_info(&i.id).await.is_err(),
                "guest left on a host"
            );
        }
    }
    let after = api.quotas(&c, &c.project_id).await.unwrap().usage;
    assert_eq!(
        used(&after, QuotaResource::Instances),
        used(&before.usage, QuotaResource::Instances)
    );
    assert_eq!(
        used(&after, QuotaResource::Cores),
        used(&before.usage, QuotaResource::Cores)
    );
}

use crate::virt::HypervisorDriver as _;

#[tokio::test]
async fn core_scenario_on_sqlite_and_in_process_bus() {
    let s = stack(&["node1", "node2"]).await;
    core_scenario(&s, "p1").await;
    s.emb.shutdown().await;
}

#[tokio::test]
async fn twenty_concurrent_boots_against_a_quota_of_ten_never_overshoot() {
    let s = stack(&["node1", "node2"]).await;
    let c = ctx("busy");
    let mut limits = QuotaLimits::default();
    limits.set(QuotaResource::Instances, Some(10));
    s.api()
        .set_quotas(&admin(), &c.project_id, limits)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..20 {
        let api = s.api().clone();
        let (c, req) = (c.clone(), boot(&format!("vm{n}"), &s.image));
        tasks.push(tokio::spawn(
            async move { api.create_servers(&c, req).await },
        ));
    }
    let (mut ok, mut over) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(v) => ok += v.len(),
            Err(Error::QuotaExceeded { resource, .. }) => {
                assert_eq!(resource, "instances");
                over += 1
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, over), (10, 10));
    let usage = s.api().quotas(&c, &c.project_id).await.unwrap().usage;
    let u = usage[&QuotaResource::Instances];
    assert_eq!(u.in_use + u.reserved, 10);
    let listed = s.api().list_servers(&c, &Default::default()).await.unwrap();
    assert_eq!(listed.len(), 10);
    s.emb.shutdown().await;
}

#[tokio::test]
async fn no_valid_host_gives_error_with_fault_and_frees_quota() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    let node1 = HostName::new("node1").unwrap();
    assert!(matches!(
        s.api().set_host_enabled(&c, &node1, false, None).await,
        Err(Error::Forbidden { .. })
    ));
    let h = s
        .api()
        .set_host_enabled(&admin(), &node1, false, Some("maintenance".into()))
        .await
        .unwrap();
    assert!(!h.enabled);
    let mut req = boot("nohost", &s.image);
    req.min_count = 3;
    req.max_count = 3;
    let made = s.api().create_servers(&c, req).await.unwrap();
    for i in &made {
        let i = wait_status(s.api(), &c, &i.id, ServerStatus::Error).await;
        let fault = i.fault.unwrap();
        assert_eq!(fault.code, 500);
        assert!(
            fault.message.starts_with("No valid host was found"),
            "{}",
            fault.message
        );
        assert!(i.host.is_none());
    }
    let usage = s.api().quotas(&c, &c.project_id).await.unwrap().usage;
    assert_eq!(usage[&QuotaResource::Instances].in_use, 0);
    // Deleting the errored servers must not give the quota back twice.
    for i in &made {
        s.api().delete_server(&c, &i.id).await.unwrap();
        assert!(s.api().get_server(&c, &i.id).await.is_err());
    }
    let usage = s.api().quotas(&c, &c.project_id).await.unwrap().usage;
    assert_eq!(usage[&QuotaResource::Instances].in_use, 0);
    s.emb.shutdown().await;
}

#[tokio::test]
async fn failed_spawn_gives_error_and_releases_address_and_quota() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    s.driver("node1").fail_next(DriverOp::Spawn, 1);
    let made = s
        .api()
        .create_servers(&c, boot("bad", &s.image))
        .await
        .unwrap();
    let i = wait_status(s.api(), &c, &made[0].id, ServerStatus::Error).await;
    assert!(i.fault.unwrap().message.contains("injected"));
    assert!(s.api().db().fixed_ips_of(&i.id).await.unwrap().is_empty());
    let usage = s.api().quotas(&c, &c.project_id).await.unwrap().usage;
    assert_eq!(usage[&QuotaResource::Instances].in_use, 0);
    s.emb.shutdown().await;
}

#[tokio::test]
async fn a_host_whose_heartbeat_stops_is_down_and_not_scheduled_to() {
    let mut s = stack(&["node1", "node2"]).await;
    let c = ctx("p1");
    let mut pinned = boot("pinned", &s.image);
    pinned.availability_zone = Some("nova:node2".into());
    let pinned = s.api().create_servers(&admin(), pinned).await.unwrap();
    let pinned = wait_status(s.api(), &admin(), &pinned[0].id, ServerStatus::Active).await;
    assert_eq!(pinned.host.as_ref().unwrap().as_str(), "node2");
    assert!(s.emb.stop_service("compute.node2").await);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hosts = s.api().list_hosts(&admin()).await.unwrap();
        let up: Vec<_> = hosts
            .iter()
            .map(|(h, up)| (h.host.to_string(), *up))
            .collect();
        if up == [("node1".to_string(), true), ("node2".to_string(), false)] {
            break;
        }
        assert!(Instant::now() < deadline, "node2 never went down: {up:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let zones = s.api().availability_zones(&admin()).await.unwrap();
    assert_eq!(
        zones[0].hosts[&HostName::new("node2").unwrap()],
        (true, false)
    );
    for n in 0..4 {
        let i = boot_active(&s, &c, &format!("vm{n}")).await.unwrap();
        assert_eq!(i.host.unwrap().as_str(), "node1");
    }
    // A server on the dead host is deleted by the api itself.
    s.api().delete_server(&admin(), &pinned.id).await.unwrap();
    assert!(s.api().get_server(&admin(), &pinned.id).await.is_err());
    assert!(s
        .api()
        .db()
        .fixed_ips_of(&pinned.id)
        .await
        .unwrap()
        .is_empty());
    let usage = s
        .api()
        .quotas(&admin(), &admin().project_id)
        .await
        .unwrap()
        .usage;
    assert_eq!(usage[&QuotaResource::Instances].in_use, 0);
    s.emb.shutdown().await;
}

#[tokio::test]
async fn idempotent_client_token_returns_the_first_servers() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    let mut req = boot("tok", &s.image);
    req.client_token = Some("abc-123".into());
    let first = s.api().create_servers(&c, req.clone()).await.unwrap();
    let again = s.api().create_servers(&c, req).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        again.iter().map(|i| i.id).collect::<Vec<_>>(),
        [first[0].id]
    );
    assert_eq!(
        s.api()
            .list_servers(&c, &Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
    s.emb.shutdown().await;
}

#[tokio::test]
async fn boot_validation_errors_are_invalid_input() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    let api = s.api();
    let bad = |f: &dyn Fn(&mut BootRequest)| {
        let mut r = boot("x", &s.image);
        f(&mut r);
        r
    };
    for req in [
        bad(&|r| r.flavor = "nope".into()),
        bad(&|r| r.image = Some("00000000-0000-4000-8000-000000000000".into())),
        bad(&|r| r.key_name = Some("missing".into())),
        bad(&|r| r.max_count = 1000),
        bad(&|r| r.name = String::new()),
        bad(&|r| r.availability_zone = Some("atlantis".into())),
    ] {
        assert!(
            matches!(
                api.create_servers(&c, req.clone()).await,
                Err(Error::InvalidInput { .. })
            ),
            "{req:?}"
        );
    }
    let forced = bad(&|r| r.availability_zone = Some("nova:node1".into()));
    assert!(matches!(
        api.create_servers(&c, forced).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(api
        .list_servers(&c, &Default::default())
        .await
        .unwrap()
        .is_empty());
    s.emb.shutdown().await;
}
