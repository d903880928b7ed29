//! Block Storage and Networking facade tests: discovery, tokens, faults.

use crate::testkit::{call, state, ADMIN, DEMO};

#[tokio::test]
async fn cinder_discovery_auth_and_faults() {
    let app = super::router(state());
    for path in ["/", "/v3/"] {
        let r = call(&app, "GET", path, None, &[], None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["versions"][0]["id"], "v3.0");
        assert_eq!(r.body["versions"][0]["min_version"], "3.0");
    }
    let r = call(&app, "GET", "/v3/p/volumes/detail", None, &[], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], 401);
    let r = call(&app, "GET", "/v3/p/volumes/vol-name", Some(DEMO), &[], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["itemNotFound"]["message"],
        "Volume vol-name could not be found."
    );
    assert_eq!(r.header("openstack-api-version"), Some("volume 3.0"));
    let r = call(
        &app,
        "POST",
        "/v3/p/volumes",
        Some(ADMIN),
        &[],
        Some(r#"{"volume":{"size":0}}"#),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body["badRequest"].is_object());
}

#[tokio::test]
async fn neutron_discovery_auth_and_faults() {
    let app = crate::network::router(state());
    let r = call(&app, "GET", "/", None, &[], None).await;
    assert_eq!(r.body["versions"][0]["id"], "v2.0");
    let r = call(&app, "GET", "/v2.0/floatingips", None, &[], None).await;
    assert_eq!(r.status, 401);
    let r = call(
        &app,
        "GET",
        "/v2.0/floatingips/172.24.4.10",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["NeutronError"]["type"], "FloatingIPNotFound");
    let r = call(&app, "GET", "/v2.0/extensions", Some(DEMO), &[], None).await;
    assert_eq!(r.body, serde_json::json!({"extensions": []}));
    let r = call(
        &app,
        "PUT",
        "/v2.0/floatingips/8a1f5c37-0f86-4b6e-8d16-4f6b2d0c5b7e",
        Some(DEMO),
        &[],
        Some("["),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["NeutronError"]["type"], "HTTPBadRequest");
}
