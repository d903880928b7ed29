//! The conformance suite every [`NetworkManager`] must pass, and (in
//! [`linux_net`]) the one every [`super::LinuxNet`] must pass. The
//! manager must be ready to serve any project (a shared network, or VLAN
//! carving).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use super::{AllocateRequest, NetworkManager};
use crate::error::Error;
use crate::model::{InstanceId, ProjectId};

pub mod linux_net;

/// Runs every scenario against `m`.
pub async fn run_all(m: &dyn NetworkManager) {
    allocation_gives_usable_addresses(m).await;
    instances_get_distinct_addresses(m).await;
    allocating_twice_is_already_exists(m).await;
    deallocate_releases_and_is_idempotent(m).await;
    networks_have_the_manager_mode(m).await;
}

fn request(project: &ProjectId) -> AllocateRequest {
    let id = InstanceId::new_v4();
    AllocateRequest {
        instance_id: id,
        project_id: project.clone(),
        hostname: format!("vm-{}", &id.to_string()[..8]),
    }
}

fn project() -> ProjectId {
    ProjectId::new(format!(
        "conf-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ))
    .unwrap()
}

/// Addresses lie in the network, are not its network, gateway or
/// broadcast address, and are reported back by `allocations`.
pub async fn allocation_gives_usable_addresses(m: &dyn NetworkManager) {
    let req = request(&project());
    let got = m.allocate_for_instance(&req).await.unwrap();
    assert!(!got.is_empty());
    for a in &got {
        assert!(
            a.cidr.contains(a.address),
            "{} outside {}",
            a.address,
            a.cidr
        );
        assert_ne!(a.address, a.cidr.network());
        assert_ne!(a.address, a.cidr.broadcast());
        assert_ne!(a.address, a.gateway);
        assert!(a.mac.starts_with("fa:16:3e:"), "{}", a.mac);
        assert_eq!(a.vif().address, Some(a.address));
    }
    assert_eq!(m.allocations(&req.instance_id).await.unwrap(), got);
    m.deallocate_for_instance(&req.instance_id).await.unwrap();
}

/// Ten instances of one project never share an address.
pub async fn instances_get_distinct_addresses(m: &dyn NetworkManager) {
    let p = project();
    let mut seen = BTreeSet::new();
    let mut ids = Vec::new();
    for _ in 0..10 {
        let req = request(&p);
        for a in m.allocate_for_instance(&req).await.unwrap() {
            assert!(seen.insert(a.address), "{} handed out twice", a.address);
        }
        ids.push(req.instance_id);
    }
    for id in ids {
        m.deallocate_for_instance(&id).await.unwrap();
    }
}

/// A second allocation for the same instance is `AlreadyExists` and
/// leaves the first intact.
pub async fn allocating_twice_is_already_exists(m: &dyn NetworkManager) {
    let req = request(&project());
    let first = m.allocate_for_instance(&req).await.unwrap();
    let e = m.allocate_for_instance(&req).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    assert_eq!(m.allocations(&req.instance_id).await.unwrap(), first);
    m.deallocate_for_instance(&req.instance_id).await.unwrap();
}

/// Deallocation forgets the addresses; repeating it, or deallocating an
/// unknown instance, is `Ok`.
pub async fn deallocate_releases_and_is_idempotent(m: &dyn NetworkManager) {
    let req = request(&project());
    m.allocate_for_instance(&req).await.unwrap();
    m.deallocate_for_instance(&req.instance_id).await.unwrap();
    assert!(m.allocations(&req.instance_id).await.unwrap().is_empty());
    m.deallocate_for_instance(&req.instance_id).await.unwrap();
    m.deallocate_for_instance(&InstanceId::new_v4())
        .await
        .unwrap();
    // The same instance may be allocated again afterwards.
    m.allocate_for_instance(&req).await.unwrap();
    m.deallocate_for_instance(&req.instance_id).await.unwrap();
}

/// Every listed network carries the manager's mode.
pub async fn networks_have_the_manager_mode(m: &dyn NetworkManager) {
    let nets = m.list_networks().await.unwrap();
    assert!(!nets.is_empty());
    assert!(nets.iter().all(|n| n.mode == m.mode()));
}
