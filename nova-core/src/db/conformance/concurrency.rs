//! The two races the database must win: concurrent address allocations
//! and concurrent quota reservations.

use futures::future::join_all;

use super::resources::network;
use super::{distinct, project};
use crate::db::NovaDb;
use crate::error::Error;
use crate::model::{InstanceId, Ipv4Cidr, QuotaLimits, QuotaResource, QuotaUsage};

/// How many callers race.
const RACERS: usize = 32;

/// 32 concurrent fixed-IP allocations from a /27 (29 free addresses):
/// exactly 29 succeed, all with different addresses; 3 get
/// `NoMoreAddresses`.
pub async fn concurrent_fixed_ip_allocations(db: &dyn NovaDb) {
    let cidr = Ipv4Cidr::new([10, 99, 0, 0].into(), 27).unwrap();
    let net = network(cidr);
    db.create_network(&net, &[]).await.unwrap();
    let free = 32 - 3; // network, gateway, broadcast
    let results = join_all((0..RACERS).map(|n| {
        let id = net.id;
        async move {
            db.allocate_fixed_ip(&id, &InstanceId::new_v4(), &format!("m{n}"))
                .await
        }
    }))
    .await;
    let mut addrs = Vec::new();
    for r in results {
        match r {
            Ok(ip) => addrs.push(ip.address),
            Err(Error::NoMoreAddresses { .. }) => {}
            Err(e) => panic!("allocation failed: {e:?}"),
        }
    }
    assert_eq!(addrs.len(), free, "{addrs:?}");
    assert!(
        distinct(&addrs),
        "an address was handed out twice: {addrs:?}"
    );
    assert!(addrs
        .iter()
        .all(|a| *a != net.gateway && *a != cidr.network() && *a != cidr.broadcast()));
}

/// 32 concurrent reservations of one instance against a limit of 20:
/// exactly 20 succeed and the usage shows 20 reserved.
pub async fn concurrent_quota_reservations(db: &dyn NovaDb) {
    let p = project();
    let mut limits = QuotaLimits::default();
    limits.set(QuotaResource::Instances, Some(20));
    limits.set(QuotaResource::Cores, Some(1000));
    db.set_quota_limits(&p, &limits).await.unwrap();
    let results = join_all((0..RACERS).map(|_| {
        db.reserve_quota(
            &p,
            &[(QuotaResource::Instances, 1), (QuotaResource::Cores, 2)],
        )
    }))
    .await;
    let mut ok = 0;
    for r in results {
        match r {
            Ok(()) => ok += 1,
            Err(Error::QuotaExceeded { .. }) => {}
            Err(e) => panic!("reservation failed: {e:?}"),
        }
    }
    assert_eq!(ok, 20);
    let u = db.quota_usage(&p).await.unwrap();
    assert_eq!(
        u[&QuotaResource::Instances],
        QuotaUsage {
            in_use: 0,
            reserved: 20
        }
    );
    assert_eq!(
        u[&QuotaResource::Cores],
        QuotaUsage {
            in_use: 0,
            reserved: 40
        }
    );
}
