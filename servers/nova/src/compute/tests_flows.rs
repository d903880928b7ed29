//! Router flows that need no running services: flavors and key pairs
//! through the real [`nova_core::ComputeApi`] on an in-memory database.

use serde_json::json;

use crate::testkit::{call, state, ADMIN, DEMO};

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABJPpdISiUqDl7dRddPiHyLbK1D41wnkvrykkPn4ak+ demo@host";

#[tokio::test]
async fn flavor_admin_create_list_show_delete() {
    let app = super::router(state());
    let body = json!({"flavor": {"name": "f1", "ram": 256, "vcpus": 1, "disk": 1, "id": null,
        "swap": 0, "OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": true}})
    .to_string();
    let r = call(&app, "POST", "/v2.1/flavors", Some(DEMO), &[], Some(&body)).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert!(r.body["forbidden"].is_object());
    let r = call(&app, "POST", "/v2.1/flavors", Some(ADMIN), &[], Some(&body)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = r.body["flavor"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["flavor"]["ram"], 256);
    let private = json!({"flavor": {"name": "secret", "ram": 64, "vcpus": 1, "disk": 0,
        "id": "p1", "os-flavor-access:is_public": false}})
    .to_string();
    let r = call(
        &app,
        "POST",
        "/v2.1/flavors",
        Some(ADMIN),
        &[],
        Some(&private),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let names = |r: &crate::testkit::Reply| -> Vec<String> {
        r.body["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = call(
        &app,
        "GET",
        "/v2.1/flavors/detail?is_public=None",
        Some(ADMIN),
        &[],
        None,
    )
    .await;
    assert_eq!(names(&r), ["f1", "secret"]);
    let r = call(
        &app,
        "GET",
        "/v2.1/flavors/detail?is_public=None",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(names(&r), ["f1"]);
    let r = call(&app, "GET", "/v2.1/flavors", Some(DEMO), &[], None).await;
    assert_eq!(r.body["flavors"][0].as_object().unwrap().len(), 3);
    let r = call(&app, "GET", "/v2.1/flavors/f1", Some(DEMO), &[], None).await;
    assert_eq!(r.status, 404, "names 404 so that OSC searches");
    let r = call(
        &app,
        "GET",
        &format!("/v2.1/flavors/{id}"),
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["flavor"]["name"], "f1");
    let r = call(
        &app,
        "POST",
        "/v2.1/flavors",
        Some(ADMIN),
        &[],
        Some(&private),
    )
    .await;
    assert_eq!(r.status, 409);
    let r = call(
        &app,
        "DELETE",
        &format!("/v2.1/flavors/{id}"),
        Some(ADMIN),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 202);
    let r = call(
        &app,
        "GET",
        &format!("/v2.1/flavors/{id}"),
        Some(ADMIN),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn keypair_status_codes_follow_the_microversion() {
    let app = super::router(state());
    let v22 = [("openstack-api-version", "compute 2.2")];
    let body = |name: &str| json!({"keypair": {"name": name, "public_key": ED25519}}).to_string();
    let r = call(
        &app,
        "POST",
        "/v2.1/os-keypairs",
        Some(DEMO),
        &[],
        Some(&body("k1")),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["keypair"].get("type").is_none());
    assert!(r.body["keypair"].get("private_key").is_none());
    let r = call(
        &app,
        "POST",
        "/v2.1/os-keypairs",
        Some(DEMO),
        &v22,
        Some(&body("k2")),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["keypair"]["type"], "ssh");
    assert_eq!(r.body["keypair"]["user_id"], "demo-user");
    let r = call(
        &app,
        "POST",
        "/v2.1/os-keypairs",
        Some(DEMO),
        &v22,
        Some(&body("k2")),
    )
    .await;
    assert_eq!(r.status, 409);
    let r = call(
        &app,
        "POST",
        "/v2.1/os-keypairs",
        Some(DEMO),
        &[],
        Some(r#"{"keypair":{"name":"bad/name"}}"#),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = call(&app, "GET", "/v2.1/os-keypairs", Some(DEMO), &[], None).await;
    assert_eq!(r.body["keypairs"].as_array().unwrap().len(), 2);
    let r = call(&app, "GET", "/v2.1/os-keypairs", Some(ADMIN), &[], None).await;
    assert_eq!(
        r.body["keypairs"],
        json!([]),
        "key pairs belong to their user"
    );
    let r = call(&app, "GET", "/v2.1/os-keypairs/k1", Some(DEMO), &[], None).await;
    assert_eq!(r.body["keypair"]["fingerprint"].as_str().unwrap().len(), 47);
    let r = call(
        &app,
        "DELETE",
        "/v2.1/os-keypairs/k1",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 202);
    let r = call(
        &app,
        "DELETE",
        "/v2.1/os-keypairs/k2",
        Some(DEMO),
        &v22,
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = call(
        &app,
        "DELETE",
        "/v2.1/os-keypairs/k2",
        Some(DEMO),
        &v22,
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.body["itemNotFound"].is_object());
}
