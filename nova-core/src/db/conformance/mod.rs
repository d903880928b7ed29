//! The conformance suite every [`NovaDb`] backend passes. Each scenario
//! uses fresh random project, user and host names, so the suite may run
//! against a database that already holds data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{InstanceFilter, NovaDb};
use crate::error::Error;
use crate::model::{
    default_flavors, ComputeHost, Flavor, HostName, Instance, KeyPair, PowerState, ProjectId,
    Resources, ServerStatus, TaskState, UserId, VmState, ZoneName,
};

mod boot;
mod concurrency;
mod ec2;
mod resources;

pub use boot::{boot_requests_by_reservation_and_token, pools_and_network_leases};
pub use concurrency::{concurrent_fixed_ip_allocations, concurrent_quota_reservations};
pub use ec2::{ec2_ids_are_stable, security_groups_lifecycle};
pub use resources::{
    fixed_ips_lease_lowest_free_and_release, floating_ips_lifecycle, quota_reserve_commit_release,
    volumes_have_at_most_one_attachment,
};

/// Runs every scenario.
pub async fn run_all(db: &dyn NovaDb) {
    instances_crud_and_compare_and_set(db).await;
    instance_list_filters_and_paging(db).await;
    flavors_crud(db).await;
    key_pairs_are_per_user(db).await;
    services_record_heartbeats(db).await;
    fixed_ips_lease_lowest_free_and_release(db).await;
    floating_ips_lifecycle(db).await;
    volumes_have_at_most_one_attachment(db).await;
    quota_reserve_commit_release(db).await;
    boot_requests_by_reservation_and_token(db).await;
    pools_and_network_leases(db).await;
    concurrent_fixed_ip_allocations(db).await;
    concurrent_quota_reservations(db).await;
    security_groups_lifecycle(db).await;
    ec2_ids_are_stable(db).await;
}

/// A random project id.
pub(crate) fn project() -> ProjectId {
    ProjectId::new(format!("p-{}", uuid::Uuid::new_v4().simple())).unwrap()
}

pub(crate) fn user() -> UserId {
    UserId::new(format!("u-{}", uuid::Uuid::new_v4().simple())).unwrap()
}

/// A time with whole microseconds (what the databases keep in columns).
pub(crate) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_600_000_000 + secs)
}

pub(crate) fn vm(project: &ProjectId, name: &str) -> Instance {
    Instance::new(name, project.clone(), user(), &default_flavors()[0], None)
}

/// Create, get, compare-and-set updates and delete of instances.
pub async fn instances_crud_and_compare_and_set(db: &dyn NovaDb) {
    let p = project();
    let mut i = vm(&p, "cas");
    i.metadata.insert("k".into(), "v".into());
    db.create_instance(&i).await.unwrap();
    assert_eq!(db.get_instance(&i.id).await.unwrap(), i);
    let e = db.create_instance(&i).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");

    // The stored task state is `scheduling`: a writer expecting another one loses.
    let mut next = i.clone();
    next.task_state = Some(TaskState::Spawning);
    next.host = Some(HostName::new("cas-host").unwrap());
    let e = db
        .update_instance(&next, Some(TaskState::Deleting))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    let e = db.update_instance(&next, None).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert_eq!(
        db.get_instance(&i.id).await.unwrap(),
        i,
        "a lost CAS writes nothing"
    );

    let stored = db
        .update_instance(&next, Some(TaskState::Scheduling))
        .await
        .unwrap();
    assert!(stored.updated_at >= i.updated_at);
    assert_eq!(db.get_instance(&i.id).await.unwrap(), stored);
    // The same update again finds `spawning`, not `scheduling`.
    let e = db
        .update_instance(&next, Some(TaskState::Scheduling))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");

    // Settling to no task state, then CAS from `None`.
    let mut active = stored.clone();
    active.settle(VmState::Active, PowerState::Running);
    let active = db
        .update_instance(&active, Some(TaskState::Spawning))
        .await
        .unwrap();
    assert_eq!(active.task_state, None);
    let mut stopping = active.clone();
    stopping.task_state = Some(TaskState::PoweringOff);
    db.update_instance(&stopping, None).await.unwrap();

    db.delete_instance(&i.id).await.unwrap();
    for e in [
        db.get_instance(&i.id).await.unwrap_err(),
        db.delete_instance(&i.id).await.unwrap_err(),
        db.update_instance(&stopping, Some(TaskState::PoweringOff))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    }
}

/// Filters by project, host, status and changes-since; newest first;
/// marker and limit paging; an unknown marker is invalid input.
pub async fn instance_list_filters_and_paging(db: &dyn NovaDb) {
    let p = project();
    let mut all = Vec::new();
    for n in 0..6u64 {
        let mut i = vm(&p, &format!("vm{n}"));
        // Two share a creation time: the id breaks the tie.
        i.created_at = at(if n == 5 { 4 } else { n });
        i.host = Some(HostName::new(if n % 2 == 0 { "list-a" } else { "list-b" }).unwrap());
        if n < 2 {
            i.settle(VmState::Active, PowerState::Running);
        }
        i.updated_at = at(n);
        db.create_instance(&i).await.unwrap();
        all.push(i);
    }
    // Another project's instance never shows up under `p`.
    db.create_instance(&vm(&project(), "other")).await.unwrap();

    let mut want = all.clone();
    want.sort_by_key(|i| std::cmp::Reverse((i.created_at, i.id)));
    let ids = |v: &[Instance]| v.iter().map(|i| i.id).collect::<Vec<_>>();
    let by_project = InstanceFilter {
        project_id: Some(p.clone()),
        ..Default::default()
    };
    let got = db.list_instances(&by_project).await.unwrap();
    assert_eq!(ids(&got), ids(&want));
    assert_eq!(got, want);

    // Pages of 4 then 2 then 0.
    let mut f = InstanceFilter {
        limit: Some(4),
        ..by_project.clone()
    };
    let page1 = db.list_instances(&f).await.unwrap();
    assert_eq!(ids(&page1), ids(&want[..4]));
    f.marker = Some(page1[3].id);
    let page2 = db.list_instances(&f).await.unwrap();
    assert_eq!(ids(&page2), ids(&want[4..]));
    f.marker = Some(page2[1].id);
    assert!(db.list_instances(&f).await.unwrap().is_empty());
    f.marker = Some(crate::model::InstanceId::new_v4());
    let e = db.list_instances(&f).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");

    let on_a = InstanceFilter {
        host: Some(HostName::new("list-a").unwrap()),
        ..by_project.clone()
    };
    let got = db.list_instances(&on_a).await.unwrap();
    assert_eq!(got.len(), 3);
    assert!(got
        .iter()
        .all(|i| i.host.as_ref().unwrap().as_str() == "list-a"));

    let active = InstanceFilter {
        status: Some(ServerStatus::Active),
        ..by_project.clone()
    };
    let got = db.list_instances(&active).await.unwrap();
    assert_eq!(ids(&got), vec![all[1].id, all[0].id]);
    let building = InstanceFilter {
        status: Some(ServerStatus::Build),
        ..by_project.clone()
    };
    assert_eq!(db.list_instances(&building).await.unwrap().len(), 4);

    let since = InstanceFilter {
        changes_since: Some(at(3)),
        ..by_project.clone()
    };
    let got = db.list_instances(&since).await.unwrap();
    let mut want_since: Vec<_> = all[3..].iter().map(|i| i.id).collect();
    want_since.sort();
    let mut got_ids = ids(&got);
    got_ids.sort();
    assert_eq!(got_ids, want_since);
    // An update counts as a change.
    let expected = all[0].task_state;
    let touched = db.update_instance(&all[0], expected).await.unwrap();
    let since_now = InstanceFilter {
        changes_since: Some(touched.updated_at - Duration::from_secs(1)),
        ..by_project
    };
    assert_eq!(
        ids(&db.list_instances(&since_now).await.unwrap()),
        vec![all[0].id]
    );
}

/// Flavors: unique ids and names, sorted list, delete.
pub async fn flavors_crud(db: &dyn NovaDb) {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut fs: Vec<Flavor> = default_flavors();
    for f in &mut fs {
        f.id = crate::model::FlavorId::new(format!("{tag}-{}", f.id)).unwrap();
        f.name = format!("{tag}.{}", f.name);
        db.create_flavor(f).await.unwrap();
    }
    let got: Vec<Flavor> = db
        .list_flavors()
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.name.starts_with(&tag))
        .collect();
    let mut want = fs.clone();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got, want);
    assert_eq!(db.get_flavor(&fs[0].id).await.unwrap(), fs[0]);

    let mut dup_id = fs[0].clone();
    dup_id.name = format!("{tag}-other");
    let mut dup_name = fs[0].clone();
    dup_name.id = crate::model::FlavorId::new(format!("{tag}-other")).unwrap();
    for f in [dup_id, dup_name] {
        let e = db.create_flavor(&f).await.unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    }
    db.delete_flavor(&fs[0].id).await.unwrap();
    let e = db.get_flavor(&fs[0].id).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e = db.delete_flavor(&fs[0].id).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

fn key(user: &UserId, name: &str) -> KeyPair {
    KeyPair {
        name: name.into(),
        user_id: user.clone(),
        public_key: format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{name} test"),
        fingerprint: format!("aa:bb:{name}"),
        key_type: "ssh".into(),
    }
}

/// Key pairs: names are unique per user, not globally.
pub async fn key_pairs_are_per_user(db: &dyn NovaDb) {
    let (alice, bob) = (user(), user());
    for k in [
        key(&alice, "zeta"),
        key(&alice, "alpha"),
        key(&bob, "alpha"),
    ] {
        db.create_key_pair(&k).await.unwrap();
    }
    let e = db.create_key_pair(&key(&alice, "alpha")).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    let names = |v: Vec<KeyPair>| v.into_iter().map(|k| k.name).collect::<Vec<_>>();
    assert_eq!(
        names(db.list_key_pairs(&alice).await.unwrap()),
        ["alpha", "zeta"]
    );
    assert_eq!(names(db.list_key_pairs(&bob).await.unwrap()), ["alpha"]);
    assert_eq!(
        db.get_key_pair(&bob, "alpha").await.unwrap(),
        key(&bob, "alpha")
    );
    db.delete_key_pair(&alice, "alpha").await.unwrap();
    assert_eq!(names(db.list_key_pairs(&alice).await.unwrap()), ["zeta"]);
    assert!(db.get_key_pair(&bob, "alpha").await.is_ok());
    for e in [
        db.get_key_pair(&alice, "alpha").await.unwrap_err(),
        db.delete_key_pair(&alice, "alpha").await.unwrap_err(),
    ] {
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    }
}

/// Services: register, heartbeat without touching the rest, list sorted.
pub async fn services_record_heartbeats(db: &dyn NovaDb) {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let res = Resources {
        vcpus: 8,
        memory_mb: 16384,
        disk_gb: 100,
    };
    let mut hosts = Vec::new();
    for n in ["b", "a"] {
        let mut h = ComputeHost::new(
            HostName::new(format!("{tag}-{n}")).unwrap(),
            ZoneName::default_zone(),
            "fake",
            res,
        );
        h.last_heartbeat = at(10);
        db.update_service(&h).await.unwrap();
        hosts.push(h);
    }
    let mine = |v: Vec<ComputeHost>| -> Vec<ComputeHost> {
        v.into_iter()
            .filter(|h| h.host.as_str().starts_with(&tag))
            .collect()
    };
    let listed = mine(db.list_services().await.unwrap());
    assert_eq!(listed, vec![hosts[1].clone(), hosts[0].clone()]);

    // An admin disables a host; its heartbeat keeps that.
    let mut disabled = hosts[0].clone();
    disabled.enabled = false;
    disabled.disabled_reason = Some("maintenance".into());
    db.update_service(&disabled).await.unwrap();
    db.record_heartbeat(&disabled.host, at(70)).await.unwrap();
    let got = db.get_service(&disabled.host).await.unwrap();
    assert_eq!(got.last_heartbeat, at(70));
    assert!(!got.enabled);
    assert_eq!(got.disabled_reason.as_deref(), Some("maintenance"));
    assert!(got.is_up(at(100), Duration::from_secs(60)));
    assert!(!got.is_up(at(200), Duration::from_secs(60)));
    assert_eq!(
        db.get_service(&hosts[1].host).await.unwrap().last_heartbeat,
        at(10)
    );

    let ghost = HostName::new(format!("{tag}-ghost")).unwrap();
    for e in [
        db.record_heartbeat(&ghost, at(1)).await.unwrap_err(),
        db.get_service(&ghost).await.map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    }
}

/// Distinct addresses in a set, for the IP scenarios.
pub(crate) fn distinct(addrs: &[Ipv4Addr]) -> bool {
    addrs.iter().collect::<BTreeSet<_>>().len() == addrs.len()
}
