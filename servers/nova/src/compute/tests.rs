//! Router tests: discovery, microversions, the token layer, faults, and
//! views per microversion.

use std::collections::{BTreeMap, BTreeSet};

use nova_core::api::{AddressKind, Addresses, AttachmentInfo, ServerAddress};
use nova_core::model::{Flavor, Instance, KeyPair, PowerState, VmState};
use serde_json::{json, Value};

use super::version::Microversion;
use super::views::{self, ServerExtras};
use crate::testkit::{call, state, ADMIN, DEMO};

fn app() -> axum::Router {
    super::router(state())
}

#[tokio::test]
async fn discovery_lists_v21_with_the_range() {
    let app = app();
    let r = call(&app, "GET", "/", None, &[], None).await;
    assert_eq!(r.status, 200);
    let v = &r.body["versions"][1];
    assert_eq!(v["id"], "v2.1");
    assert_eq!(
        (v["min_version"].as_str(), v["version"].as_str()),
        (Some("2.1"), Some("2.30"))
    );
    assert_eq!(v["links"][0]["href"], "http://nova.test:8774/v2.1/");
    for path in ["/v2.1", "/v2.1/"] {
        let r = call(&app, "GET", path, None, &[], None).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body["version"]["status"], "CURRENT");
        assert_eq!(
            r.body["version"]["media-types"][0]["base"],
            "application/json"
        );
        assert_eq!(r.header("openstack-api-version"), Some("compute 2.1"));
    }
}

#[tokio::test]
async fn missing_or_bad_token_is_keystone_401() {
    let app = app();
    for token in [None, Some("nope")] {
        let r = call(&app, "GET", "/v2.1/flavors", token, &[], None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"]["code"], 401);
        assert_eq!(r.body["error"]["title"], "Unauthorized");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Keystone uri=\"http://keystone.test:5000\"")
        );
        assert_eq!(r.header("x-openstack-nova-api-version"), Some("2.1"));
    }
}

#[tokio::test]
async fn microversion_headers_are_echoed_with_vary() {
    let app = app();
    let cases = [
        (vec![], "2.1"),
        (vec![("openstack-api-version", "compute 2.10")], "2.10"),
        (vec![("x-openstack-nova-api-version", "2.25")], "2.25"),
        (vec![("openstack-api-version", "compute latest")], "2.30"),
    ];
    for (headers, want) in cases {
        let r = call(&app, "GET", "/v2.1/os-keypairs", Some(DEMO), &headers, None).await;
        assert_eq!(r.header("x-openstack-nova-api-version"), Some(want));
        assert_eq!(
            r.header("openstack-api-version"),
            Some(format!("compute {want}").as_str())
        );
        assert_eq!(
            r.header("vary"),
            Some("OpenStack-API-Version, X-OpenStack-Nova-API-Version")
        );
    }
}

#[tokio::test]
async fn out_of_range_406_and_malformed_400() {
    let app = app();
    let r = call(
        &app,
        "GET",
        "/v2.1/flavors",
        Some(DEMO),
        &[("openstack-api-version", "compute 2.999")],
        None,
    )
    .await;
    assert_eq!(r.status, 406);
    assert_eq!(
        r.body["computeFault"]["message"],
        "Version 2.999 is not supported by the API. Minimum is 2.1 and maximum is 2.30."
    );
    assert_eq!(
        r.header("vary"),
        Some("OpenStack-API-Version, X-OpenStack-Nova-API-Version")
    );
    let r = call(
        &app,
        "GET",
        "/v2.1/flavors",
        Some(DEMO),
        &[("x-openstack-nova-api-version", "2.x")],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["badRequest"]["code"], 400);
}

#[tokio::test]
async fn client_mistakes_get_nova_faults_not_500s() {
    let app = app();
    let r = call(
        &app,
        "GET",
        "/v2.1/servers/my-server-name",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["itemNotFound"]["message"],
        "Instance my-server-name could not be found."
    );
    let r = call(
        &app,
        "POST",
        "/v2.1/servers",
        Some(DEMO),
        &[],
        Some("{not json"),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["badRequest"]["code"].as_u64()),
        (400, Some(400))
    );
    let r = call(
        &app,
        "POST",
        "/v2.1/servers",
        Some(DEMO),
        &[],
        Some(r#"{"server":{"name":"a"}}"#),
    )
    .await;
    assert_eq!(r.status, 400);
    let body = r#"{"server":{"name":"a","flavorRef":"1","min_count":3,"max_count":2}}"#;
    let r = call(&app, "POST", "/v2.1/servers", Some(DEMO), &[], Some(body)).await;
    assert_eq!(r.status, 400);
    let r = call(
        &app,
        "POST",
        "/v2.1/servers/8a1f5c37-0f86-4b6e-8d16-4f6b2d0c5b7e/action",
        Some(DEMO),
        &[],
        Some(r#"{"fly":null}"#),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body["badRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("fly"));
    let r = call(
        &app,
        "GET",
        "/v2.1/servers/detail?limit=abc",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = call(
        &app,
        "GET",
        "/v2.1/servers/detail?changes-since=yesterday",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = call(&app, "GET", "/v2.1/no-such-thing", Some(DEMO), &[], None).await;
    assert_eq!(r.status, 404);
    assert!(r.body["itemNotFound"].is_object());
    let r = call(&app, "PATCH", "/v2.1/flavors", Some(DEMO), &[], None).await;
    assert_eq!(r.status, 405);
    assert!(r.body["badMethod"].is_object());
    let r = call(&app, "GET", "/v2.1/os-hypervisors", Some(DEMO), &[], None).await;
    assert_eq!(r.status, 403);
    assert!(r.body["forbidden"].is_object());
    let r = call(
        &app,
        "POST",
        "/v2.1/flavors",
        Some(ADMIN),
        &[],
        Some(r#"{"flavor":{"name":"x","ram":"lots","vcpus":1,"disk":0}}"#),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = call(
        &app,
        "PUT",
        "/v2.1/os-quota-sets/demo-project",
        Some(ADMIN),
        &[],
        Some(r#"{"quota_set":{"bogus":1}}"#),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn project_id_in_the_path_is_accepted() {
    let app = app();
    let a = call(
        &app,
        "GET",
        "/v2.1/servers/not-a-uuid",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    let b = call(
        &app,
        "GET",
        "/v2.1/demo-project/servers/not-a-uuid",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(
        (a.status, b.status),
        (http::StatusCode::NOT_FOUND, http::StatusCode::NOT_FOUND)
    );
    assert_eq!(a.body, b.body);
    let r = call(
        &app,
        "GET",
        "/v2.1/demo-project/os-hypervisors?x=1",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
}

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
    let _ = BTreeMap::<String, String>::new();
}
