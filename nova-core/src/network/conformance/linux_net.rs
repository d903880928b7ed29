//! The conformance suite every [`LinuxNet`] must pass. Names are fresh
//! per run (at most 15 characters, as Linux requires).

use std::net::Ipv4Addr;

use crate::model::Ipv4Cidr;
use crate::network::linux_net::{vlan_interface, DhcpHost, LinuxNet};

/// Runs every scenario against `n`.
pub async fn run_all(n: &dyn LinuxNet) {
    ensure_bridge_is_idempotent(n).await;
    ensure_vlan_names_the_interface(n).await;
    update_dhcp_replaces_the_leases(n).await;
    snat_is_idempotent(n).await;
    floating_nat_add_replace_remove(n).await;
}

fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

fn host(mac_last: u8, ip_last: u8) -> DhcpHost {
    DhcpHost {
        mac: format!("fa:16:3e:00:00:{mac_last:02x}"),
        address: Ipv4Addr::new(10, 250, 0, ip_last),
        hostname: format!("vm{ip_last}"),
    }
}

/// Asking for a bridge twice leaves one bridge with its interface.
pub async fn ensure_bridge_is_idempotent(n: &dyn LinuxNet) {
    let br = format!("fsb{}", suffix());
    let gw = Some((Ipv4Addr::new(10, 250, 0, 1), 24));
    n.ensure_bridge(&br, None, gw).await.unwrap();
    n.ensure_bridge(&br, None, gw).await.unwrap();
    let snap = n.snapshot().await.unwrap();
    assert_eq!(snap.bridges.get(&br), Some(&None));
}

/// `ensure_vlan` returns `vlan<id>` and records the parent.
pub async fn ensure_vlan_names_the_interface(n: &dyn LinuxNet) {
    let id = 3000 + (rand::random::<u16>() % 900);
    assert_eq!(n.ensure_vlan(id, "lo").await.unwrap(), vlan_interface(id));
    assert_eq!(n.ensure_vlan(id, "lo").await.unwrap(), format!("vlan{id}"));
    assert_eq!(
        n.snapshot()
            .await
            .unwrap()
            .vlans
            .get(&id)
            .map(String::as_str),
        Some("lo")
    );
}

/// Each update replaces the bridge's whole lease list.
pub async fn update_dhcp_replaces_the_leases(n: &dyn LinuxNet) {
    let br = format!("fsd{}", suffix());
    n.ensure_bridge(&br, None, None).await.unwrap();
    n.update_dhcp(&br, &[host(1, 2), host(2, 3)]).await.unwrap();
    n.update_dhcp(&br, &[host(2, 3)]).await.unwrap();
    let snap = n.snapshot().await.unwrap();
    let leases: Vec<_> = snap.dhcp[&br].iter().cloned().collect();
    assert_eq!(leases, vec![host(2, 3)]);
    n.update_dhcp(&br, &[]).await.unwrap();
    assert!(n
        .snapshot()
        .await
        .unwrap()
        .dhcp
        .get(&br)
        .is_none_or(|s| s.is_empty()));
}

/// Masquerading a range twice leaves one rule.
pub async fn snat_is_idempotent(n: &dyn LinuxNet) {
    let cidr: Ipv4Cidr = "10.251.0.0/24".parse().unwrap();
    n.ensure_snat(cidr).await.unwrap();
    n.ensure_snat(cidr).await.unwrap();
    assert!(n.snapshot().await.unwrap().snat.contains(&cidr));
}

/// Adding a floating IP again with a new target replaces the old one;
/// removing it twice is `Ok`.
pub async fn floating_nat_add_replace_remove(n: &dyn LinuxNet) {
    let f = Ipv4Addr::new(192, 0, 2, 1 + rand::random::<u8>() % 250);
    let (x, y) = (Ipv4Addr::new(10, 250, 0, 5), Ipv4Addr::new(10, 250, 0, 6));
    n.add_floating_ip(f, x).await.unwrap();
    assert_eq!(n.snapshot().await.unwrap().floating.get(&f), Some(&x));
    n.add_floating_ip(f, y).await.unwrap();
    assert_eq!(n.snapshot().await.unwrap().floating.get(&f), Some(&y));
    n.remove_floating_ip(f, y).await.unwrap();
    n.remove_floating_ip(f, y).await.unwrap();
    assert_eq!(n.snapshot().await.unwrap().floating.get(&f), None);
}
