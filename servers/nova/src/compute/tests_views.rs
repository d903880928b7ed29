//! Views per microversion: exactly the fields tempest's strict schemas
//! allow at each version.

use std::collections::BTreeSet;

use nova_core::api::{AddressKind, Addresses, AttachmentInfo, ServerAddress};
use nova_core::model::{Flavor, Instance, KeyPair, PowerState, VmState};
use serde_json::{json, Value};

use super::version::Microversion;
use super::views::{self, ServerExtras};

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn sample_instance() -> Instance {
    let flavor = Flavor::new("1".parse().unwrap(), "m1.tiny", 512, 1, 1).unwrap();
    let mut i = Instance::new(
        "vm1",
        "p1".parse().unwrap(),
        "u1".parse().unwrap(),
        &flavor,
        Some("img-1".into()),
    );
    i.host = Some("host1".parse().unwrap());
    i.settle(VmState::Active, PowerState::Running);
    i
}

const BASE_2_1: [&str; 29] = [
    "id",
    "name",
    "status",
    "tenant_id",
    "user_id",
    "metadata",
    "hostId",
    "image",
    "flavor",
    "created",
    "updated",
    "addresses",
    "accessIPv4",
    "accessIPv6",
    "links",
    "OS-DCF:diskConfig",
    "progress",
    "OS-EXT-AZ:availability_zone",
    "config_drive",
    "key_name",
    "OS-SRV-USG:launched_at",
    "OS-SRV-USG:terminated_at",
    "security_groups",
    "OS-EXT-STS:task_state",
    "OS-EXT-STS:vm_state",
    "OS-EXT-STS:power_state",
    "os-extended-volumes:volumes_attached",
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
];

#[test]
fn server_view_fields_follow_the_microversion() {
    let inst = sample_instance();
    let mut addresses = Addresses::new();
    addresses.insert(
        "private".into(),
        vec![ServerAddress {
            addr: "10.0.0.5".parse().unwrap(),
            kind: AddressKind::Fixed,
            mac: "fa:16:3e:00:00:01".into(),
        }],
    );
    let att = vec![AttachmentInfo {
        volume_id: nova_core::model::VolumeId::new_v4(),
        server_id: inst.id,
        device: "/dev/vdb".into(),
    }];
    let view = |minor: u16, admin: bool| {
        views::server(
            &inst,
            &ServerExtras {
                base: "http://n",
                version: Microversion(minor),
                is_admin: admin,
                addresses: &addresses,
                attachments: &att,
            },
        )
    };
    let member = view(1, false);
    let want: BTreeSet<String> = BASE_2_1[..27].iter().map(|s| s.to_string()).collect();
    assert_eq!(keys(&member), want);
    assert_eq!(member["status"], "ACTIVE");
    assert_eq!(member["OS-EXT-STS:power_state"], 1);
    assert_eq!(
        member["addresses"]["private"][0]["OS-EXT-IPS:type"],
        "fixed"
    );
    assert_eq!(member["hostId"].as_str().unwrap().len(), 56);
    assert_eq!(
        member["flavor"],
        json!({"id": "1", "links": [{"rel": "bookmark", "href": "http://n/flavors/1"}]})
    );
    assert_eq!(
        keys(&member["os-extended-volumes:volumes_attached"][0]),
        BTreeSet::from(["id".to_string()])
    );
    assert!(member["created"].as_str().unwrap().ends_with('Z'));
    assert!(!member["OS-SRV-USG:launched_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    let admin = view(1, true);
    assert_eq!(keys(&admin).len(), 30); // + host, hypervisor_hostname, instance_name
    let admin3 = view(3, true);
    assert!(admin3.get("OS-EXT-SRV-ATTR:reservation_id").is_some());
    assert!(admin3["os-extended-volumes:volumes_attached"][0]
        .get("delete_on_termination")
        .is_some());
    assert!(view(3, false)
        .get("OS-EXT-SRV-ATTR:reservation_id")
        .is_none());
    assert!(view(8, false).get("locked").is_none());
    assert_eq!(view(9, false)["locked"], false);
    assert!(view(16, false).get("host_status").is_none());
    assert_eq!(view(16, true)["host_status"], "UP");
    assert!(view(18, false).get("description").is_none());
    assert!(view(19, false).get("description").is_some());
    assert!(view(25, false).get("tags").is_none());
    assert_eq!(view(30, false)["tags"], json!([]));
}

#[test]
fn flavor_and_keypair_views() {
    let f = Flavor::new("7".parse().unwrap(), "f", 64, 1, 0).unwrap();
    let v = views::flavor(&f, "http://n");
    assert_eq!(v["swap"], "");
    assert_eq!(keys(&v).len(), 11);
    assert!(v.get("description").is_none());
    let kp = KeyPair::new(
        "k1",
        "u1".parse().unwrap(),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABJPpdISiUqDl7dRddPiHyLbK1D41wnkvrykkPn4ak+ me",
    )
    .unwrap();
    let v1 = views::keypair_created(&kp, None, Microversion(1));
    assert_eq!(
        keys(&v1),
        ["fingerprint", "name", "public_key", "user_id"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let v2 = views::keypair_created(&kp, Some("PRIVATE"), Microversion(2));
    assert_eq!(
        (v2["type"].as_str(), v2["private_key"].as_str()),
        (Some("ssh"), Some("PRIVATE"))
    );
    assert!(views::keypair_listed(&kp, Microversion(1))["keypair"]
        .get("user_id")
        .is_none());
}
