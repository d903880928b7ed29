//! Scenarios for boot requests (reservation ids, idempotency tokens),
//! floating pools and the leases of a network.

use std::net::Ipv4Addr;

use super::{project, resources::network, user};
use crate::db::{InstanceFilter, NovaDb};
use crate::error::Error;
use crate::model::{default_flavors, InstanceId, Ipv4Cidr, ProjectId};

fn booted(
    p: &ProjectId,
    token: Option<&str>,
    reservation: &str,
    index: u32,
) -> crate::model::Instance {
    let mut i = crate::model::Instance::new("b", p.clone(), user(), &default_flavors()[0], None);
    i.client_token = token.map(str::to_owned);
    i.reservation_id = reservation.to_owned();
    i.launch_index = index;
    i.user_data = Some("aGVsbG8=".into());
    i.security_groups = vec!["default".into(), "web".into()];
    i
}

/// Instances are found by reservation id and by client token; a project
/// never holds two instances with the same token and launch index
/// (`AlreadyExists`), while another project may reuse the token. The
/// boot fields round-trip.
pub async fn boot_requests_by_reservation_and_token(db: &dyn NovaDb) {
    let (p, q) = (project(), project());
    let r = format!("r-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let a = booted(&p, Some("tok"), &r, 0);
    let b = booted(&p, Some("tok"), &r, 1);
    db.create_instance(&a).await.unwrap();
    db.create_instance(&b).await.unwrap();
    assert_eq!(db.get_instance(&a.id).await.unwrap(), a);
    let dup = booted(&p, Some("tok"), "r-00000000", 1);
    assert!(matches!(
        db.create_instance(&dup).await,
        Err(Error::AlreadyExists { .. })
    ));
    db.create_instance(&booted(&q, Some("tok"), "r-11111111", 0))
        .await
        .unwrap();
    // Without a token there is no constraint.
    db.create_instance(&booted(&p, None, &r, 0)).await.unwrap();
    db.create_instance(&booted(&p, None, &r, 0)).await.unwrap();

    let by_token = InstanceFilter {
        project_id: Some(p.clone()),
        client_token: Some("tok".into()),
        ..InstanceFilter::default()
    };
    let mut ids: Vec<InstanceId> = db
        .list_instances(&by_token)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.sort();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(ids, want);
    let by_reservation = InstanceFilter {
        reservation_id: Some(r.clone()),
        ..InstanceFilter::default()
    };
    assert_eq!(db.list_instances(&by_reservation).await.unwrap().len(), 4);
}

/// Pools are listed once each, sorted; `fixed_ips_in` lists the leased
/// addresses of one network only.
pub async fn pools_and_network_leases(db: &dyn NovaDb) {
    let range = |a: [u8; 4]| Ipv4Cidr::new(Ipv4Addr::from(a), 30).unwrap();
    db.create_floating_ips("zz-pool-b", range([203, 0, 113, 0]))
        .await
        .unwrap();
    db.create_floating_ips("zz-pool-a", range([203, 0, 113, 4]))
        .await
        .unwrap();
    let pools = db.floating_pools().await.unwrap();
    let mut sorted = pools.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(pools, sorted);
    assert!(pools.contains(&"zz-pool-a".to_string()) && pools.contains(&"zz-pool-b".to_string()));

    let n = network(Ipv4Cidr::new(Ipv4Addr::new(10, 30, 0, 0), 29).unwrap());
    let other = network(Ipv4Cidr::new(Ipv4Addr::new(10, 31, 0, 0), 29).unwrap());
    db.create_network(&n, &[]).await.unwrap();
    db.create_network(&other, &[]).await.unwrap();
    assert!(db.fixed_ips_in(&n.id).await.unwrap().is_empty());
    let (x, y) = (InstanceId::new_v4(), InstanceId::new_v4());
    let fx = db
        .allocate_fixed_ip(&n.id, &x, "fa:16:3e:00:00:01")
        .await
        .unwrap();
    let fy = db
        .allocate_fixed_ip(&n.id, &y, "fa:16:3e:00:00:02")
        .await
        .unwrap();
    db.allocate_fixed_ip(&other.id, &x, "fa:16:3e:00:00:03")
        .await
        .unwrap();
    let leases = db.fixed_ips_in(&n.id).await.unwrap();
    assert_eq!(leases, [fx.clone(), fy.clone()]);
    db.release_fixed_ip(&n.id, fx.address).await.unwrap();
    assert_eq!(db.fixed_ips_in(&n.id).await.unwrap(), [fy]);
}
