//! Scenarios for networks, fixed and floating IPs, volumes and quotas.

use std::net::Ipv4Addr;

use super::{at, distinct, project};
use crate::db::NovaDb;
use crate::error::Error;
use crate::model::{
    InstanceId, Ipv4Cidr, Network, NetworkMode, QuotaLimits, QuotaResource, QuotaUsage, Volume,
    VolumeAttachment, VolumeStatus,
};

/// A network of `cidr` with a random label.
pub(crate) fn network(cidr: Ipv4Cidr) -> Network {
    Network::new(
        format!("net-{}", uuid::Uuid::new_v4().simple()),
        NetworkMode::FlatDhcp,
        cidr,
        "br100",
    )
    .unwrap()
}

fn cidr(a: [u8; 4], prefix: u8) -> Ipv4Cidr {
    Ipv4Cidr::new(Ipv4Addr::from(a), prefix).unwrap()
}

/// Fixed IPs: lowest free first, never network, gateway, broadcast or
/// reserved addresses; released addresses come back; exhaustion is
/// `NoMoreAddresses`; deleting an instance releases its leases; a network
/// with leases cannot be deleted.
pub async fn fixed_ips_lease_lowest_free_and_release(db: &dyn NovaDb) {
    let net = network(cidr([10, 20, 0, 0], 29));
    db.create_network(&net, &[Ipv4Addr::new(10, 20, 0, 3)])
        .await
        .unwrap();
    let e = db.create_network(&net, &[]).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    assert_eq!(db.get_network(&net.id).await.unwrap(), net);
    assert!(db.list_networks().await.unwrap().contains(&net));

    let vm = InstanceId::new_v4();
    let mut got = Vec::new();
    for n in 0..4 {
        let ip = db
            .allocate_fixed_ip(&net.id, &vm, &format!("fa:16:3e:00:00:0{n}"))
            .await
            .unwrap();
        assert_eq!((ip.network_id, ip.instance_id), (net.id, vm));
        got.push(ip.address);
    }
    // .1 is the gateway, .3 reserved, .7 the broadcast.
    let want: Vec<Ipv4Addr> = [2, 4, 5, 6].map(|d| Ipv4Addr::new(10, 20, 0, d)).into();
    assert_eq!(got, want);
    let e = db.allocate_fixed_ip(&net.id, &vm, "m").await.unwrap_err();
    assert!(matches!(e, Error::NoMoreAddresses { .. }), "{e:?}");
    let leases = db.fixed_ips_of(&vm).await.unwrap();
    assert_eq!(leases.iter().map(|f| f.address).collect::<Vec<_>>(), want);
    assert_eq!(leases[1].mac, "fa:16:3e:00:00:01");

    db.release_fixed_ip(&net.id, want[1]).await.unwrap();
    let e = db.release_fixed_ip(&net.id, want[1]).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let other = InstanceId::new_v4();
    let again = db.allocate_fixed_ip(&net.id, &other, "m2").await.unwrap();
    assert_eq!(again.address, want[1]);

    let e = db.delete_network(&net.id).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    let e = db
        .allocate_fixed_ip(&crate::model::NetworkId::new_v4(), &vm, "m")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");

    // Deleting an instance releases its leases.
    let mut inst = crate::model::Instance::new(
        "leaser",
        project(),
        crate::model::UserId::new("u").unwrap(),
        &crate::model::default_flavors()[0],
        None,
    );
    inst.id = other;
    db.create_instance(&inst).await.unwrap();
    db.delete_instance(&other).await.unwrap();
    assert!(db.fixed_ips_of(&other).await.unwrap().is_empty());
    for a in [want[0], want[2], want[3]] {
        db.release_fixed_ip(&net.id, a).await.unwrap();
    }
    db.delete_network(&net.id).await.unwrap();
    let e = db.get_network(&net.id).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

/// Floating IPs: pool creation is idempotent, allocate / associate /
/// disassociate / release with their conflicts, listing per project.
pub async fn floating_ips_lifecycle(db: &dyn NovaDb) {
    let pool = format!("pool-{}", uuid::Uuid::new_v4().simple());
    let range = cidr([198, 51, 100, 0], 30);
    assert_eq!(db.create_floating_ips(&pool, range).await.unwrap(), 2);
    assert_eq!(db.create_floating_ips(&pool, range).await.unwrap(), 0);
    let (p, q) = (project(), project());
    let a = db.allocate_floating_ip(&pool, &p).await.unwrap();
    let b = db.allocate_floating_ip(&pool, &q).await.unwrap();
    assert_eq!(a.address, Ipv4Addr::new(198, 51, 100, 1));
    assert_eq!(b.address, Ipv4Addr::new(198, 51, 100, 2));
    assert_eq!(a.project_id.as_ref(), Some(&p));
    let e = db.allocate_floating_ip(&pool, &p).await.unwrap_err();
    assert!(matches!(e, Error::NoMoreAddresses { .. }), "{e:?}");

    let vm = InstanceId::new_v4();
    let fixed = Ipv4Addr::new(10, 0, 0, 5);
    let assoc = db.associate_floating_ip(&a.id, &vm, fixed).await.unwrap();
    assert_eq!(
        (assoc.instance_id, assoc.fixed_address),
        (Some(vm), Some(fixed))
    );
    assert_eq!(db.get_floating_ip(&a.id).await.unwrap(), assoc);
    for e in [
        db.associate_floating_ip(&a.id, &vm, fixed)
            .await
            .unwrap_err(),
        db.release_floating_ip(&a.id).await.unwrap_err(),
    ] {
        assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    }
    assert_eq!(db.list_floating_ips(Some(&p)).await.unwrap(), vec![assoc]);
    let all = db.list_floating_ips(None).await.unwrap();
    assert!(all.iter().any(|f| f.id == b.id) && all.iter().any(|f| f.id == a.id));

    let plain = db.disassociate_floating_ip(&a.id).await.unwrap();
    assert_eq!(plain.instance_id, None);
    let e = db.disassociate_floating_ip(&a.id).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    db.release_floating_ip(&a.id).await.unwrap();
    assert!(db.list_floating_ips(Some(&p)).await.unwrap().is_empty());
    // Released: unassociable until allocated again, and allocatable.
    let e = db
        .associate_floating_ip(&a.id, &vm, fixed)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert_eq!(db.allocate_floating_ip(&pool, &q).await.unwrap().id, a.id);
    let e = db
        .get_floating_ip(&crate::model::FloatingIpId::new_v4())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(distinct(&[a.address, b.address]));
}

/// Volumes: at most one attachment, no delete while attached, detach
/// only from the instance it is attached to.
pub async fn volumes_have_at_most_one_attachment(db: &dyn NovaDb) {
    let p = project();
    let mut v = Volume::new(p.clone(), 1, Some("data".into())).unwrap();
    v.status = VolumeStatus::Available;
    v.created_at = at(1);
    db.create_volume(&v).await.unwrap();
    let mut w = Volume::new(p.clone(), 2, None).unwrap();
    w.created_at = at(2);
    db.create_volume(&w).await.unwrap();
    let e = db.create_volume(&v).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    assert_eq!(db.get_volume(&v.id).await.unwrap(), v);
    let ids: Vec<_> = db
        .list_volumes(Some(&p))
        .await
        .unwrap()
        .iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(ids, vec![v.id, w.id]);

    let (vm1, vm2) = (InstanceId::new_v4(), InstanceId::new_v4());
    let att = |i| VolumeAttachment {
        instance_id: i,
        device: "/dev/vdb".into(),
        attached_at: at(5),
    };
    let attached = db.attach_volume(&v.id, &att(vm1)).await.unwrap();
    assert_eq!(attached.status, VolumeStatus::InUse);
    assert_eq!(attached.attachment, Some(att(vm1)));
    assert_eq!(db.get_volume(&v.id).await.unwrap(), attached);
    for e in [
        db.attach_volume(&v.id, &att(vm2))
            .await
            .map(|_| ())
            .unwrap_err(),
        db.attach_volume(&v.id, &att(vm1))
            .await
            .map(|_| ())
            .unwrap_err(),
        db.delete_volume(&v.id).await.unwrap_err(),
        db.detach_volume(&v.id, &vm2).await.map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    }
    // An update does not drop the attachment.
    let mut renamed = attached.clone();
    renamed.name = Some("renamed".into());
    renamed.attachment = None;
    db.update_volume(&renamed).await.unwrap();
    assert_eq!(
        db.get_volume(&v.id).await.unwrap().attachment,
        Some(att(vm1))
    );

    let detached = db.detach_volume(&v.id, &vm1).await.unwrap();
    assert_eq!(
        (detached.status, detached.attachment),
        (VolumeStatus::Available, None)
    );
    db.attach_volume(&v.id, &att(vm2)).await.unwrap();
    db.detach_volume(&v.id, &vm2).await.unwrap();
    db.delete_volume(&v.id).await.unwrap();
    for e in [
        db.get_volume(&v.id).await.map(|_| ()).unwrap_err(),
        db.delete_volume(&v.id).await.unwrap_err(),
        db.attach_volume(&v.id, &att(vm1))
            .await
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    }
}

/// Quotas: defaults, stored limits, all-or-nothing reservations, commit,
/// rollback and release.
pub async fn quota_reserve_commit_release(db: &dyn NovaDb) {
    use QuotaResource as Q;
    let p = project();
    assert_eq!(db.quota_limits(&p).await.unwrap(), QuotaLimits::default());
    let mut limits = QuotaLimits::default();
    limits.set(Q::Instances, Some(2));
    limits.set(Q::Cores, Some(4));
    limits.set(Q::Ram, None);
    db.set_quota_limits(&p, &limits).await.unwrap();
    assert_eq!(db.quota_limits(&p).await.unwrap(), limits);
    assert_eq!(
        db.quota_usage(&p).await.unwrap()[&Q::Cores],
        QuotaUsage::default()
    );

    db.reserve_quota(&p, &[(Q::Instances, 1), (Q::Cores, 2), (Q::Ram, 1 << 40)])
        .await
        .unwrap();
    // Cores would reach 5 > 4: nothing of this request is reserved.
    let e = db
        .reserve_quota(&p, &[(Q::Instances, 1), (Q::Cores, 3)])
        .await
        .unwrap_err();
    match e {
        Error::QuotaExceeded {
            resource,
            requested,
            used,
            limit,
        } => assert_eq!(
            (resource.as_str(), requested, used, limit),
            ("cores", 3, 2, 4)
        ),
        e => panic!("{e:?}"),
    }
    let u = db.quota_usage(&p).await.unwrap();
    assert_eq!(
        u[&Q::Instances],
        QuotaUsage {
            in_use: 0,
            reserved: 1
        }
    );

    db.commit_quota(&p, &[(Q::Instances, 1), (Q::Cores, 2)])
        .await
        .unwrap();
    db.reserve_quota(&p, &[(Q::Instances, 1), (Q::Cores, 2)])
        .await
        .unwrap();
    let e = db
        .reserve_quota(&p, &[(Q::Instances, 1)])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::QuotaExceeded { .. }), "{e:?}");
    db.rollback_quota(&p, &[(Q::Instances, 1), (Q::Cores, 2)])
        .await
        .unwrap();
    let u = db.quota_usage(&p).await.unwrap();
    assert_eq!(
        u[&Q::Instances],
        QuotaUsage {
            in_use: 1,
            reserved: 0
        }
    );
    assert_eq!(
        u[&Q::Cores],
        QuotaUsage {
            in_use: 2,
            reserved: 0
        }
    );
    db.release_quota(&p, &[(Q::Instances, 5)]).await.unwrap();
    assert_eq!(
        db.quota_usage(&p).await.unwrap()[&Q::Instances],
        QuotaUsage::default()
    );
    // Another project is untouched.
    assert_eq!(
        db.quota_usage(&project()).await.unwrap()[&Q::Cores],
        QuotaUsage::default()
    );
}
