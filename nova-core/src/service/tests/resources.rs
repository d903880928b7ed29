//! Live migration, volumes, floating IPs and project isolation.

use std::time::{Duration, Instant};

use super::*;
use crate::error::Error;
use crate::model::{QuotaResource, VolumeStatus};
use crate::network::NetEffect;
use crate::virt::{DriverOp, HypervisorDriver as _};

async fn wait_volume(
    api: &ComputeApi,
    c: &RequestContext,
    id: &crate::model::VolumeId,
    want: VolumeStatus,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = api.get_volume(c, id).await.ok();
        if v.as_ref().map(|v| v.status) == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "volume never {want:?}: {v:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn live_migration_moves_the_host_and_a_failure_stays_on_the_source() {
    let s = stack(&["node1", "node2"]).await;
    let c = ctx("p1");
    let api = s.api();
    let i = boot_active(&s, &c, "mover").await.unwrap();
    let src = i.host.clone().unwrap();
    let dst = HostName::new(if src.as_str() == "node1" {
        "node2"
    } else {
        "node1"
    })
    .unwrap();
    assert!(matches!(
        api.live_migrate(&c, &i.id, Some(dst.clone()), None).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        api.live_migrate(&admin(), &i.id, Some(src.clone()), None)
            .await,
        Err(Error::InvalidInput { .. })
    ));

    // Injected failure on the source: stays there, ACTIVE.
    s.driver(src.as_str()).fail_next(DriverOp::LiveMigrate, 1);
    api.live_migrate(&admin(), &i.id, Some(dst.clone()), None)
        .await
        .unwrap();
    let after = wait_status(api, &c, &i.id, ServerStatus::Active).await;
    assert_eq!(after.host.as_ref(), Some(&src));
    assert!(s.driver(src.as_str()).instance_info(&i.id).await.is_ok());
    assert!(s.driver(dst.as_str()).instance_info(&i.id).await.is_err());

    // Success: the host changes, the guest runs on the destination only.
    api.live_migrate(&admin(), &i.id, Some(dst.clone()), None)
        .await
        .unwrap();
    let moved = wait_until(api, &c, &i.id, |x| {
        x.is_some_and(|x| x.host.as_ref() == Some(&dst) && x.task_state.is_none())
    })
    .await
    .unwrap();
    assert_eq!(moved.status(), ServerStatus::Active);
    assert!(s.driver(src.as_str()).instance_info(&i.id).await.is_err());
    let info = s.driver(dst.as_str()).instance_info(&i.id).await.unwrap();
    assert_eq!(info.power_state, crate::model::PowerState::Running);

    // Scheduler-chosen destination: back to the source.
    api.live_migrate(&admin(), &i.id, None, None).await.unwrap();
    wait_until(api, &c, &i.id, |x| {
        x.is_some_and(|x| x.host.as_ref() == Some(&src) && x.task_state.is_none())
    })
    .await;
    s.emb.shutdown().await;
}

#[tokio::test]
async fn volumes_attach_to_one_server_at_a_time() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    let api = s.api();
    let a = boot_active(&s, &c, "a").await.unwrap();
    let b = boot_active(&s, &c, "b").await.unwrap();
    let v = api
        .create_volume(&c, 2, Some("data".into()), None)
        .await
        .unwrap();
    wait_volume(api, &c, &v.id, VolumeStatus::Available).await;
    let usage = api.quotas(&c, &c.project_id).await.unwrap().usage;
    assert_eq!(usage[&QuotaResource::Gigabytes].in_use, 2);

    let at = api.attach_volume(&c, &a.id, &v.id, None).await.unwrap();
    assert_eq!(at.device, "/dev/vdb");
    let got = api.get_volume(&c, &v.id).await.unwrap();
    assert_eq!(got.status, VolumeStatus::InUse);
    assert_eq!(got.attachment.unwrap().instance_id, a.id);
    let info = s.driver("node1").instance_info(&a.id).await.unwrap();
    assert_eq!(info.volumes, [("/dev/vdb".to_string(), v.id)]);
    assert!(matches!(
        api.attach_volume(&c, &b.id, &v.id, None).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        api.delete_volume(&c, &v.id).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(api.list_attachments(&c, &a.id).await.unwrap(), [at]);

    api.detach_volume(&c, &a.id, &v.id).await.unwrap();
    let got = api.get_volume(&c, &v.id).await.unwrap();
    assert_eq!(got.status, VolumeStatus::Available);
    assert!(s
        .driver("node1")
        .instance_info(&a.id)
        .await
        .unwrap()
        .volumes
        .is_empty());
    assert!(api.list_attachments(&c, &a.id).await.unwrap().is_empty());

    // Attached volumes are detached when their server is deleted.
    api.attach_volume(&c, &b.id, &v.id, Some("/dev/vdc".into()))
        .await
        .unwrap();
    api.delete_server(&c, &b.id).await.unwrap();
    wait_until(api, &c, &b.id, |x| x.is_none()).await;
    assert_eq!(
        api.get_volume(&c, &v.id).await.unwrap().status,
        VolumeStatus::Available
    );

    api.delete_volume(&c, &v.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.get_volume(&c, &v.id).await.is_ok() {
        assert!(Instant::now() < deadline, "volume never deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let usage = api.quotas(&c, &c.project_id).await.unwrap().usage;
    assert_eq!(usage[&QuotaResource::Volumes].in_use, 0);
    assert_eq!(usage[&QuotaResource::Gigabytes].in_use, 0);
    s.emb.shutdown().await;
}

#[tokio::test]
async fn floating_ips_are_natted_and_released() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    let api = s.api();
    let i = boot_active(&s, &c, "pub").await.unwrap();
    let fixed = api.fixed_ips(&c, &i.id).await.unwrap()[0].address;
    assert_eq!(api.list_floating_pools(&c).await.unwrap(), ["public"]);
    assert!(matches!(
        api.allocate_floating_ip(&c, Some("nope")).await,
        Err(Error::NotFound { .. })
    ));
    let f = api.allocate_floating_ip(&c, None).await.unwrap();
    assert_eq!(f.project_id.as_ref(), Some(&c.project_id));
    s.net.take();
    let f = api
        .associate_floating_ip(&c, &f.id, &i.id, None)
        .await
        .unwrap();
    assert_eq!(f.fixed_address, Some(fixed));
    assert_eq!(
        s.net.take(),
        [NetEffect::FloatingAdd {
            floating: f.address,
            fixed
        }]
    );
    let addrs = api.addresses(&c, &i.id).await.unwrap();
    assert!(addrs["private"].iter().any(|a| a.addr == f.address));
    let f = api.disassociate_floating_ip(&c, &f.id).await.unwrap();
    assert!(f.instance_id.is_none());
    assert_eq!(
        s.net.take(),
        [NetEffect::FloatingRemove {
            floating: f.address,
            fixed
        }]
    );
    // Released while associated: the NAT goes first.
    api.associate_floating_ip(&c, &f.id, &i.id, Some(fixed))
        .await
        .unwrap();
    s.net.take();
    api.release_floating_ip(&c, &f.id).await.unwrap();
    assert_eq!(
        s.net.take(),
        [NetEffect::FloatingRemove {
            floating: f.address,
            fixed
        }]
    );
    assert!(api.list_floating_ips(&c, false).await.unwrap().is_empty());
    let usage = api.quotas(&c, &c.project_id).await.unwrap().usage;
    assert_eq!(usage[&QuotaResource::FloatingIps].in_use, 0);
    // Deleting a server removes its NAT.
    let f = api.allocate_floating_ip(&c, None).await.unwrap();
    api.associate_floating_ip(&c, &f.id, &i.id, None)
        .await
        .unwrap();
    s.net.take();
    api.delete_server(&c, &i.id).await.unwrap();
    wait_until(api, &c, &i.id, |x| x.is_none()).await;
    let effects = s.net.take();
    assert!(effects.contains(&NetEffect::FloatingRemove {
        floating: f.address,
        fixed
    }));
    assert!(api
        .get_floating_ip(&c, &f.id)
        .await
        .unwrap()
        .instance_id
        .is_none());
    s.emb.shutdown().await;
}

#[tokio::test]
async fn another_projects_resources_are_not_found() {
    let s = stack(&["node1"]).await;
    let (mine, theirs) = (ctx("owner"), ctx("intruder"));
    let api = s.api();
    let i = boot_active(&s, &mine, "private").await.unwrap();
    let v = api.create_volume(&mine, 1, None, None).await.unwrap();
    let f = api.allocate_floating_ip(&mine, None).await.unwrap();
    let nf = |r: std::result::Result<(), Error>| matches!(r, Err(Error::NotFound { .. }));
    assert!(nf(api.get_server(&theirs, &i.id).await.map(|_| ())));
    assert!(nf(api.reboot(&theirs, &i.id, true).await));
    assert!(nf(api.stop(&theirs, &i.id).await));
    assert!(nf(api.delete_server(&theirs, &i.id).await));
    assert!(nf(api
        .console_output(&theirs, &i.id, None)
        .await
        .map(|_| ())));
    assert!(nf(api.addresses(&theirs, &i.id).await.map(|_| ())));
    assert!(nf(api.get_volume(&theirs, &v.id).await.map(|_| ())));
    assert!(nf(api.delete_volume(&theirs, &v.id).await));
    assert!(nf(api.get_floating_ip(&theirs, &f.id).await.map(|_| ())));
    assert!(nf(api.release_floating_ip(&theirs, &f.id).await));
    assert!(nf(api
        .associate_floating_ip(&theirs, &f.id, &i.id, None)
        .await
        .map(|_| ())));
    assert!(api.list_volumes(&theirs, false).await.unwrap().is_empty());
    assert!(api
        .list_floating_ips(&theirs, false)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        api.quotas(&theirs, &mine.project_id).await,
        Err(Error::Forbidden { .. })
    ));
    // Untouched.
    let i = api.get_server(&mine, &i.id).await.unwrap();
    assert_eq!(i.status(), ServerStatus::Active);
    assert!(api.get_volume(&mine, &v.id).await.is_ok());
    assert!(api.get_floating_ip(&mine, &f.id).await.is_ok());
    s.emb.shutdown().await;
}
