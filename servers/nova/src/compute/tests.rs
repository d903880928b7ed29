//! Router tests: discovery, microversions, the token layer, faults, and
//! views per microversion.

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
