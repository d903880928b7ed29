//! The conformance suite every [`HypervisorDriver`] must pass. A
//! [`Fixture`] supplies what a real driver needs (an image file, volume
//! files); each scenario spawns fresh instance ids and destroys them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use super::{HypervisorDriver, MigrationSide, RebootType, SpawnRequest, VolumeConnection};
use crate::error::Error;
use crate::model::{InstanceId, PowerState, Resources, VolumeId};

/// Inputs for the scenarios.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// A spawnable request; scenarios copy it with fresh ids.
    pub template: SpawnRequest,
    /// Two attachable volumes.
    pub volumes: [VolumeConnection; 2],
}

impl Fixture {
    /// A tiny instance with no image and two made-up volume paths: enough
    /// for drivers that touch no files (the fake).
    pub fn in_memory() -> Self {
        let resources = Resources {
            vcpus: 1,
            memory_mb: 64,
            disk_gb: 1,
        };
        let vol = |n: &str| VolumeConnection {
            volume_id: VolumeId::new_v4(),
            path: PathBuf::from(format!("/nonexistent/{n}.qcow2")),
            format: "qcow2".into(),
        };
        Self {
            template: SpawnRequest::new(InstanceId::new_v4(), "conformance", resources),
            volumes: [vol("a"), vol("b")],
        }
    }

    fn request(&self) -> SpawnRequest {
        let mut r = self.template.clone();
        r.instance_id = InstanceId::new_v4();
        r
    }
}

/// Runs every single-host scenario against `d`.
pub async fn run_all(d: &dyn HypervisorDriver, f: &Fixture) {
    spawn_runs_and_logs(d, f).await;
    spawn_twice_is_already_exists(d, f).await;
    unknown_instance_is_not_found(d).await;
    destroy_is_idempotent_and_frees_resources(d, f).await;
    power_off_and_on_are_idempotent(d, f).await;
    reboot_rules(d, f).await;
    if d.capabilities().volume_attach {
        attach_and_detach_volumes(d, f).await;
    } else {
        println!(
            "skipping volume attach: unsupported by the {} driver",
            d.name()
        );
    }
}

/// After spawn the instance runs, is listed and has console lines.
pub async fn spawn_runs_and_logs(d: &dyn HypervisorDriver, f: &Fixture) {
    let req = f.request();
    d.spawn(&req).await.unwrap();
    let info = d.instance_info(&req.instance_id).await.unwrap();
    assert_eq!(info.power_state, PowerState::Running);
    assert_eq!(info.resources, req.resources);
    assert!(d.list_instances().await.unwrap().contains(&req.instance_id));
    let log = d.console_output(&req.instance_id).await.unwrap();
    assert!(log.lines().count() >= 2, "console log too short: {log:?}");
    d.destroy(&req.instance_id).await.unwrap();
}

/// Spawning an id twice is `AlreadyExists`.
pub async fn spawn_twice_is_already_exists(d: &dyn HypervisorDriver, f: &Fixture) {
    let req = f.request();
    d.spawn(&req).await.unwrap();
    let e = d.spawn(&req).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    d.destroy(&req.instance_id).await.unwrap();
}

/// Every per-instance call on an unknown id is `NotFound`.
pub async fn unknown_instance_is_not_found(d: &dyn HypervisorDriver) {
    let id = InstanceId::new_v4();
    let nf = |r: crate::Result<()>, op: &str| {
        assert!(matches!(r, Err(Error::NotFound { .. })), "{op}: {r:?}");
    };
    nf(d.reboot(&id, RebootType::Hard).await, "reboot");
    nf(d.power_on(&id).await, "power_on");
    nf(d.power_off(&id).await, "power_off");
    nf(d.console_output(&id).await.map(drop), "console_output");
    nf(d.instance_info(&id).await.map(drop), "instance_info");
    nf(
        d.detach_volume(&id, &VolumeId::new_v4()).await,
        "detach_volume",
    );
    nf(
        d.post_live_migration(&id, MigrationSide::Source).await,
        "post_live_migration",
    );
}

/// Destroy removes the instance and its resources; again is `Ok`.
pub async fn destroy_is_idempotent_and_frees_resources(d: &dyn HypervisorDriver, f: &Fixture) {
    let before = d.host_resources().await.unwrap();
    let req = f.request();
    d.spawn(&req).await.unwrap();
    let during = d.host_resources().await.unwrap();
    assert_eq!(during.used, before.used.plus(req.resources));
    assert_eq!(during.running_vms, before.running_vms + 1);
    d.destroy(&req.instance_id).await.unwrap();
    d.destroy(&req.instance_id).await.unwrap();
    let after = d.host_resources().await.unwrap();
    assert_eq!(after.used, before.used);
    assert!(!d.list_instances().await.unwrap().contains(&req.instance_id));
    assert!(matches!(
        d.instance_info(&req.instance_id).await,
        Err(Error::NotFound { .. })
    ));
}

async fn power(d: &dyn HypervisorDriver, id: &InstanceId) -> PowerState {
    d.instance_info(id).await.unwrap().power_state
}

/// Power off ends `Shutdown`, power on ends `Running`; repeating is a no-op.
pub async fn power_off_and_on_are_idempotent(d: &dyn HypervisorDriver, f: &Fixture) {
    let req = f.request();
    let id = req.instance_id;
    d.spawn(&req).await.unwrap();
    d.power_off(&id).await.unwrap();
    assert_eq!(power(d, &id).await, PowerState::Shutdown);
    d.power_off(&id).await.unwrap();
    assert_eq!(power(d, &id).await, PowerState::Shutdown);
    d.power_on(&id).await.unwrap();
    d.power_on(&id).await.unwrap();
    assert_eq!(power(d, &id).await, PowerState::Running);
    d.destroy(&id).await.unwrap();
}

/// Soft reboot needs a running instance; hard reboot starts a stopped one;
/// a reboot adds console lines.
pub async fn reboot_rules(d: &dyn HypervisorDriver, f: &Fixture) {
    let req = f.request();
    let id = req.instance_id;
    d.spawn(&req).await.unwrap();
    let lines = d.console_output(&id).await.unwrap().lines().count();
    d.reboot(&id, RebootType::Soft).await.unwrap();
    assert_eq!(power(d, &id).await, PowerState::Running);
    assert!(d.console_output(&id).await.unwrap().lines().count() > lines);
    d.power_off(&id).await.unwrap();
    let e = d.reboot(&id, RebootType::Soft).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    d.reboot(&id, RebootType::Hard).await.unwrap();
    assert_eq!(power(d, &id).await, PowerState::Running);
    d.destroy(&id).await.unwrap();
}

/// One volume per device and one device per volume; detach frees both.
pub async fn attach_and_detach_volumes(d: &dyn HypervisorDriver, f: &Fixture) {
    let req = f.request();
    let id = req.instance_id;
    let [a, b] = &f.volumes;
    d.spawn(&req).await.unwrap();
    d.attach_volume(&id, a, "/dev/vdb").await.unwrap();
    let dup_dev = d.attach_volume(&id, b, "/dev/vdb").await.unwrap_err();
    assert!(
        matches!(dup_dev, Error::AlreadyExists { .. }),
        "{dup_dev:?}"
    );
    let dup_vol = d.attach_volume(&id, a, "/dev/vdc").await.unwrap_err();
    assert!(
        matches!(dup_vol, Error::AlreadyExists { .. }),
        "{dup_vol:?}"
    );
    d.attach_volume(&id, b, "/dev/vdc").await.unwrap();
    let info = d.instance_info(&id).await.unwrap();
    assert_eq!(
        info.volumes,
        vec![
            ("/dev/vdb".to_owned(), a.volume_id),
            ("/dev/vdc".to_owned(), b.volume_id)
        ]
    );
    d.detach_volume(&id, &a.volume_id).await.unwrap();
    let again = d.detach_volume(&id, &a.volume_id).await.unwrap_err();
    assert!(matches!(again, Error::NotFound { .. }), "{again:?}");
    assert_eq!(d.instance_info(&id).await.unwrap().volumes.len(), 1);
    d.destroy(&id).await.unwrap();
}

/// Live migration from `src` to `dst` (two drivers on different hosts):
/// check, pre, migrate, post on both sides moves the running instance.
pub async fn live_migration_between(
    src: &dyn HypervisorDriver,
    dst: &dyn HypervisorDriver,
    f: &Fixture,
) {
    if !(src.capabilities().live_migration && dst.capabilities().live_migration) {
        println!("skipping live migration: unsupported by {}", src.name());
        return;
    }
    let req = f.request();
    let id = req.instance_id;
    src.spawn(&req).await.unwrap();
    let e = src.check_can_live_migrate(&req, false).await.unwrap_err();
    assert!(
        matches!(e, Error::Conflict { .. }),
        "source already has it: {e:?}"
    );
    let mut huge = f.request();
    huge.resources.memory_mb = u64::MAX / 2;
    let e = dst.check_can_live_migrate(&huge, false).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "too big: {e:?}");

    let data = dst.check_can_live_migrate(&req, false).await.unwrap();
    let data = dst.pre_live_migration(&req, &data).await.unwrap();
    src.live_migrate(&id, &data).await.unwrap();
    src.post_live_migration(&id, MigrationSide::Source)
        .await
        .unwrap();
    dst.post_live_migration(&id, MigrationSide::Destination)
        .await
        .unwrap();

    assert!(!src.list_instances().await.unwrap().contains(&id));
    assert_eq!(power(dst, &id).await, PowerState::Running);
    let e = dst
        .post_live_migration(&id, MigrationSide::Destination)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    dst.destroy(&id).await.unwrap();
}
