use std::net::Ipv4Addr;
use std::sync::Arc;

use super::*;
use crate::error::Error;
use crate::model::ProjectId;

fn rec() -> Arc<RecordingLinuxNet> {
    Arc::new(RecordingLinuxNet::new())
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn req(project: &str, host: &str) -> AllocateRequest {
    AllocateRequest {
        instance_id: InstanceId::new_v4(),
        project_id: ProjectId::new(project).unwrap(),
        hostname: host.into(),
    }
}

fn vlan_config() -> VlanConfig {
    VlanConfig {
        vlan_start: 100,
        fixed_range: cidr("10.0.0.0/16"),
        network_prefix: 24,
        vlan_interface: "eth1".into(),
        dns: vec![ip("8.8.8.8")],
    }
}

async fn flat_dhcp(net: Arc<RecordingLinuxNet>) -> FlatDhcpManager {
    let m = FlatDhcpManager::new(net);
    let mut spec = NetworkSpec::new("private", cidr("10.1.0.0/24"), "br100");
    spec.bridge_interface = Some("eth0".into());
    m.create_network(spec).await.unwrap();
    m
}

#[tokio::test]
async fn managers_conform() {
    let flat = FlatManager::new(rec());
    flat.create_network(NetworkSpec::new("public", cidr("192.168.10.0/24"), "br0"))
        .await
        .unwrap();
    conformance::run_all(&flat).await;
    conformance::run_all(&flat_dhcp(rec()).await).await;
    conformance::run_all(&VlanManager::new(vlan_config(), rec()).unwrap()).await;
}

#[tokio::test]
async fn recording_linux_net_conforms() {
    conformance::linux_net::run_all(&RecordingLinuxNet::new()).await;
}

#[tokio::test]
async fn flat_mode_only_ensures_the_bridge() {
    let net = rec();
    let m = FlatManager::new(net.clone());
    let mut spec = NetworkSpec::new("public", cidr("192.168.10.0/24"), "br0");
    spec.bridge_interface = Some("eth0".into());
    m.create_network(spec).await.unwrap();
    let r = req("p1", "vm1");
    let a = m.allocate_for_instance(&r).await.unwrap();
    assert_eq!(a[0].address, ip("192.168.10.2"));
    assert_eq!(
        net.take(),
        vec![NetEffect::Bridge {
            name: "br0".into(),
            interface: Some("eth0".into()),
            gateway: None
        }]
    );
    m.deallocate_for_instance(&r.instance_id).await.unwrap();
    assert_eq!(net.take(), vec![]);
}

#[tokio::test]
async fn flat_dhcp_mode_adds_gateway_snat_and_dhcp_entries() {
    let net = rec();
    let m = flat_dhcp(net.clone()).await;
    let (r1, r2) = (req("p1", "vm1"), req("p2", "vm2"));
    let a1 = m.allocate_for_instance(&r1).await.unwrap().remove(0);
    let bridge = NetEffect::Bridge {
        name: "br100".into(),
        interface: Some("eth0".into()),
        gateway: Some((ip("10.1.0.1"), 24)),
    };
    let snat = NetEffect::Snat {
        cidr: cidr("10.1.0.0/24"),
    };
    let h1 = DhcpHost {
        mac: a1.mac.clone(),
        address: ip("10.1.0.2"),
        hostname: "vm1".into(),
    };
    assert_eq!(
        net.take(),
        vec![
            bridge.clone(),
            snat.clone(),
            NetEffect::Dhcp {
                bridge: "br100".into(),
                hosts: vec![h1.clone()]
            }
        ]
    );
    let a2 = m.allocate_for_instance(&r2).await.unwrap().remove(0);
    let h2 = DhcpHost {
        mac: a2.mac.clone(),
        address: ip("10.1.0.3"),
        hostname: "vm2".into(),
    };
    let mut both = vec![h1, h2.clone()];
    both.sort();
    assert_eq!(
        net.take(),
        vec![
            bridge,
            snat,
            NetEffect::Dhcp {
                bridge: "br100".into(),
                hosts: both
            }
        ]
    );
    m.deallocate_for_instance(&r1.instance_id).await.unwrap();
    assert_eq!(
        net.take(),
        vec![NetEffect::Dhcp {
            bridge: "br100".into(),
            hosts: vec![h2]
        }]
    );
}

#[tokio::test]
async fn vlan_mode_carves_a_network_per_project_on_first_use() {
    let net = rec();
    let m = VlanManager::new(vlan_config(), net.clone()).unwrap();
    assert!(m.list_networks().await.unwrap().is_empty());
    let a = m
        .allocate_for_instance(&req("alpha", "a1"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (a.vlan, a.bridge.as_str(), a.cidr),
        (Some(100), "br100", cidr("10.0.0.0/24"))
    );
    assert_eq!(a.address, ip("10.0.0.2"));
    let effects = net.take();
    assert_eq!(
        effects[..3],
        [
            NetEffect::Vlan {
                id: 100,
                parent: "eth1".into()
            },
            NetEffect::Bridge {
                name: "br100".into(),
                interface: Some("vlan100".into()),
                gateway: Some((ip("10.0.0.1"), 24))
            },
            NetEffect::Snat {
                cidr: cidr("10.0.0.0/24")
            },
        ]
    );
    assert!(
        matches!(&effects[3], NetEffect::Dhcp { bridge, hosts } if bridge == "br100" && hosts.len() == 1)
    );
    // Same project: same network; another project: the next VLAN and subnet.
    let a2 = m
        .allocate_for_instance(&req("alpha", "a2"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!((a2.vlan, a2.address), (Some(100), ip("10.0.0.3")));
    let b = m
        .allocate_for_instance(&req("beta", "b1"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (b.vlan, b.bridge.as_str(), b.cidr),
        (Some(101), "br101", cidr("10.0.1.0/24"))
    );
    let nets = m.list_networks().await.unwrap();
    assert_eq!(nets.len(), 2);
    assert_eq!(
        nets[1].project_id.as_ref().map(|p| p.as_str()),
        Some("beta")
    );
}

#[tokio::test]
async fn vlan_carving_skips_taken_vlans_and_runs_out() {
    let mut cfg = vlan_config();
    cfg.fixed_range = cidr("10.9.0.0/23");
    let m = VlanManager::new(cfg, rec()).unwrap();
    let mut spec = NetworkSpec::new("admin", cidr("10.9.0.0/24"), "br100");
    spec.vlan = Some(100);
    spec.project_id = Some(ProjectId::new("admin").unwrap());
    m.create_network(spec).await.unwrap();
    let a = m
        .allocate_for_instance(&req("p1", "x"))
        .await
        .unwrap()
        .remove(0);
    assert_eq!((a.vlan, a.cidr), (Some(101), cidr("10.9.1.0/24")));
    let e = m.allocate_for_instance(&req("p2", "y")).await.unwrap_err();
    assert!(matches!(e, Error::NoMoreAddresses { .. }), "{e:?}");
}

#[tokio::test]
async fn network_creation_conflicts_and_mode_rules() {
    let m = flat_dhcp(rec()).await;
    let e = m
        .create_network(NetworkSpec::new("x", cidr("10.1.0.128/25"), "br9"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    let e = m
        .create_network(NetworkSpec::new("x", cidr("10.2.0.0/24"), "br100"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    let mut v = NetworkSpec::new("x", cidr("10.3.0.0/24"), "br3");
    v.vlan = Some(5);
    assert!(m.create_network(v).await.is_err());
    let vm = VlanManager::new(vlan_config(), rec()).unwrap();
    let e = vm
        .create_network(NetworkSpec::new("x", cidr("10.3.0.0/24"), "br3"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    let flat = FlatManager::new(rec());
    let e = flat
        .allocate_for_instance(&req("p", "h"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn full_network_fails_cleanly() {
    let m = FlatDhcpManager::new(rec());
    m.create_network(NetworkSpec::new("tiny", cidr("10.5.0.0/30"), "br5"))
        .await
        .unwrap();
    let r = req("p", "one");
    m.allocate_for_instance(&r).await.unwrap();
    let r2 = req("p", "two");
    let e = m.allocate_for_instance(&r2).await.unwrap_err();
    assert!(matches!(e, Error::NoMoreAddresses { .. }), "{e:?}");
    assert!(m.allocations(&r2.instance_id).await.unwrap().is_empty());
    m.deallocate_for_instance(&r.instance_id).await.unwrap();
    m.allocate_for_instance(&r2).await.unwrap();
}

#[tokio::test]
async fn floating_ips_allocate_associate_disassociate_release() {
    let net = rec();
    let f = FloatingIps::new(net.clone());
    assert_eq!(
        f.add_pool("public", cidr("172.24.4.0/29")).await.unwrap(),
        6
    );
    assert!(f.add_pool("public", cidr("172.25.0.0/29")).await.is_err());
    assert!(f.add_pool("other", cidr("172.24.4.0/28")).await.is_err());
    let (p, q) = (ProjectId::new("p").unwrap(), ProjectId::new("q").unwrap());
    let a = f.allocate(&p, "public").await.unwrap();
    assert_eq!(a.address, ip("172.24.4.1"));
    assert!(matches!(
        f.allocate(&p, "nope").await,
        Err(Error::NotFound { .. })
    ));
    let vm = InstanceId::new_v4();
    let fixed = ip("10.1.0.2");
    // Another project can neither see nor use it.
    assert!(matches!(
        f.get(&q, a.address).await,
        Err(Error::NotFound { .. })
    ));
    assert!(f.associate(&q, a.address, fixed, vm).await.is_err());
    let assoc = f.associate(&p, a.address, fixed, vm).await.unwrap();
    assert_eq!(
        (assoc.fixed_address, assoc.instance_id),
        (Some(fixed), Some(vm))
    );
    f.associate(&p, a.address, fixed, vm).await.unwrap();
    let e = f
        .associate(&p, a.address, ip("10.1.0.3"), vm)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert_eq!(
        net.take(),
        vec![NetEffect::FloatingAdd {
            floating: a.address,
            fixed
        }]
    );
    f.disassociate(&p, a.address).await.unwrap();
    assert!(matches!(
        f.disassociate(&p, a.address).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        net.take(),
        vec![NetEffect::FloatingRemove {
            floating: a.address,
            fixed
        }]
    );
    f.associate(&p, a.address, fixed, vm).await.unwrap();
    f.release(&p, a.address).await.unwrap();
    assert_eq!(net.snapshot().await.unwrap().floating.get(&a.address), None);
    assert!(f.list(&p).await.is_empty());
    for _ in 0..6 {
        f.allocate(&q, "public").await.unwrap();
    }
    assert!(matches!(
        f.allocate(&q, "public").await,
        Err(Error::NoMoreAddresses { .. })
    ));
}

#[tokio::test]
async fn deleting_an_instance_disassociates_its_floating_ips() {
    let net = rec();
    let f = FloatingIps::new(net.clone());
    f.add_pool("public", cidr("172.24.4.0/30")).await.unwrap();
    let p = ProjectId::new("p").unwrap();
    let vm = InstanceId::new_v4();
    let a = f.allocate(&p, "public").await.unwrap();
    f.associate(&p, a.address, ip("10.0.0.9"), vm)
        .await
        .unwrap();
    assert_eq!(f.disassociate_instance(&vm).await.unwrap(), 1);
    let left = f.get(&p, a.address).await.unwrap();
    assert_eq!((left.fixed_address, left.instance_id), (None, None));
    assert!(net.snapshot().await.unwrap().floating.is_empty());
}
