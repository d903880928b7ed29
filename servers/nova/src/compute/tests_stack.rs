//! Server flows through the router over the embedded nova stack (fake
//! driver, two hosts, in-memory SQLite, in-process bus).

use std::sync::Arc;
use std::time::Duration;

use nova_core::bootstrap::{ensure_defaults, BootstrapConfig};
use nova_core::image::FakeImages;
use nova_core::service::{Embedded, EmbeddedConfig, ServiceTiming};
use nova_core::virt::FakeDriver;
use nova_core::{HypervisorDriver, InProcessBus, NovaDb};
use serde_json::{json, Value};

use crate::auth::StaticAuthenticator;
use crate::state::ApiState;
use crate::testkit::{call, ctx, Reply, ADMIN, DEMO};

async fn stack() -> (axum::Router, Embedded, String) {
    let db: Arc<dyn NovaDb> =
        Arc::new(nova_core::db::sqlite::SqliteNovaDb::open_in_memory().unwrap());
    ensure_defaults(db.as_ref(), &BootstrapConfig::default())
        .await
        .unwrap();
    let (images, image_id) = FakeImages::with_cirros();
    let mut cfg = EmbeddedConfig::new(db, Arc::new(InProcessBus::new()), Arc::new(images));
    cfg.timing = ServiceTiming::fast();
    for h in ["h1", "h2"] {
        let host: nova_core::model::HostName = h.parse().unwrap();
        let driver: Arc<dyn HypervisorDriver> = Arc::new(FakeDriver::with_defaults(host.clone()));
        cfg = cfg.with_host(host, driver);
    }
    let emb = Embedded::start(cfg).await.unwrap();
    let auth = StaticAuthenticator::new()
        .with_token(ADMIN, ctx("admin-user", "admin-project", &["admin"]))
        .with_token(DEMO, ctx("demo-user", "demo-project", &["member"]));
    let state = ApiState::new(emb.api.clone(), Arc::new(auth)).with_public_endpoint("http://n");
    (super::router(state), emb, image_id)
}

async fn wait_until(app: &axum::Router, path: &str, want: impl Fn(&Reply) -> bool) -> Reply {
    for _ in 0..200 {
        let r = call(app, "GET", path, Some(ADMIN), &[], None).await;
        if want(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting on {path}");
}

fn statuses(r: &Reply) -> Vec<String> {
    r.body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn boot_list_page_filter_act_and_delete() {
    let (app, emb, image) = stack().await;
    let v30 = [("openstack-api-version", "compute 2.30")];
    let body = json!({"server": {"name": "web", "imageRef": image, "flavorRef": "1",
        "min_count": 2, "max_count": 2, "networks": []}})
    .to_string();
    let r = call(
        &app,
        "POST",
        "/v2.1/servers",
        Some(ADMIN),
        &v30,
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let id = r.body["server"]["id"].as_str().unwrap().to_owned();
    assert!(r
        .header("location")
        .unwrap()
        .ends_with(&format!("/v2.1/servers/{id}")));
    assert!(r.body["server"]["adminPass"].as_str().unwrap().len() >= 8);

    let r = wait_until(&app, "/v2.1/servers/detail?name=web", |r| {
        let s = statuses(r);
        s.len() == 2 && s.iter().all(|x| x == "ACTIVE")
    })
    .await;
    let first = &r.body["servers"][0];
    assert!(first.get("locked").is_none(), "2.1 view has no 2.9 fields");
    assert_eq!(first["addresses"]["private"][0]["OS-EXT-IPS:type"], "fixed");
    let r = call(
        &app,
        "GET",
        &format!("/v2.1/servers/{id}"),
        Some(ADMIN),
        &v30,
        None,
    )
    .await;
    assert_eq!(r.body["server"]["tags"], json!([]));
    assert_eq!(r.body["server"]["image"]["id"], image.as_str());

    // Paging with servers_links, and the name regex.
    let r = call(&app, "GET", "/v2.1/servers?limit=1", Some(ADMIN), &[], None).await;
    assert_eq!(r.body["servers"].as_array().unwrap().len(), 1);
    let next = r.body["servers_links"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = next.strip_prefix("http://n").unwrap();
    let r2 = call(&app, "GET", next, Some(ADMIN), &[], None).await;
    assert_eq!(r2.body["servers"].as_array().unwrap().len(), 1);
    assert_ne!(r.body["servers"][0]["id"], r2.body["servers"][0]["id"]);
    for (q, n) in [
        ("name=^we", 2),
        ("name=b-", 2),
        ("name=^nomatch", 0),
        ("status=SHUTOFF", 0),
        ("status=active", 2),
    ] {
        let r = call(
            &app,
            "GET",
            &format!("/v2.1/servers?{q}"),
            Some(ADMIN),
            &[],
            None,
        )
        .await;
        assert_eq!(r.body["servers"].as_array().map(Vec::len), Some(n), "{q}");
    }

    // Another project sees nothing of it.
    let r = call(
        &app,
        "GET",
        &format!("/v2.1/servers/{id}"),
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(&app, "GET", "/v2.1/servers/detail", Some(DEMO), &[], None).await;
    assert_eq!(r.body["servers"], json!([]));
    let r = call(
        &app,
        "DELETE",
        &format!("/v2.1/servers/{id}"),
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);

    // Console output: the last N items of split('\n').
    let act = format!("/v2.1/servers/{id}/action");
    let r = call(
        &app,
        "POST",
        &act,
        Some(ADMIN),
        &[],
        Some(r#"{"os-getConsoleOutput":{"length":3}}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["output"].as_str().unwrap().split('\n').count(), 3);

    // Stop, then stopping again conflicts.
    let r = call(
        &app,
        "POST",
        &act,
        Some(ADMIN),
        &[],
        Some(r#"{"os-stop":null}"#),
    )
    .await;
    assert_eq!(r.status, 202);
    let show = format!("/v2.1/servers/{id}");
    wait_until(&app, &show, |r| r.body["server"]["status"] == "SHUTOFF").await;
    let r = call(
        &app,
        "POST",
        &act,
        Some(ADMIN),
        &[],
        Some(r#"{"os-stop":null}"#),
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(r.body["conflictingRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("stop"));
    let r = call(
        &app,
        "POST",
        &act,
        Some(ADMIN),
        &[],
        Some(r#"{"reboot":{"type":"SOFT"}}"#),
    )
    .await;
    assert_eq!(r.status, 409);

    // Hypervisors and zones see both hosts.
    let r = call(
        &app,
        "GET",
        "/v2.1/os-hypervisors/detail",
        Some(ADMIN),
        &[],
        None,
    )
    .await;
    let names: Vec<&str> = r.body["hypervisors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hypervisor_hostname"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["h1", "h2"]);
    let r = call(
        &app,
        "GET",
        "/v2.1/os-availability-zone/detail",
        Some(ADMIN),
        &[],
        None,
    )
    .await;
    assert_eq!(
        r.body["availabilityZoneInfo"][0]["hosts"]
            .as_object()
            .map(|h| h.len()),
        Some(2)
    );

    let r = call(&app, "DELETE", &show, Some(ADMIN), &[], None).await;
    assert_eq!(r.status, 204);
    wait_until(&app, &show, |r| r.status == 404).await;
    let r = call(&app, "GET", "/v2.1/limits", Some(ADMIN), &[], None).await;
    let used: Value = r.body["limits"]["absolute"]["totalInstancesUsed"].clone();
    assert_eq!(used, json!(1));
    emb.shutdown().await;
}

#[tokio::test]
async fn instance_quota_is_403_forbidden() {
    let (app, emb, image) = stack().await;
    let r = call(
        &app,
        "PUT",
        "/v2.1/os-quota-sets/demo-project",
        Some(ADMIN),
        &[],
        Some(r#"{"quota_set":{"instances":1}}"#),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["quota_set"]["instances"].as_i64()),
        (200, Some(1))
    );
    let r = call(
        &app,
        "PUT",
        "/v2.1/os-quota-sets/demo-project",
        Some(DEMO),
        &[],
        Some(r#"{"quota_set":{"instances":100}}"#),
    )
    .await;
    assert_eq!(r.status, 403);
    let body =
        |n: &str| json!({"server": {"name": n, "imageRef": image, "flavorRef": "1"}}).to_string();
    let r = call(
        &app,
        "POST",
        "/v2.1/servers",
        Some(DEMO),
        &[],
        Some(&body("a")),
    )
    .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let r = call(
        &app,
        "POST",
        "/v2.1/servers",
        Some(DEMO),
        &[],
        Some(&body("b")),
    )
    .await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert!(r.body["forbidden"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Quota exceeded for instances"));
    let r = call(
        &app,
        "GET",
        "/v2.1/os-quota-sets/demo-project/detail",
        Some(DEMO),
        &[],
        None,
    )
    .await;
    assert_eq!(r.body["quota_set"]["instances"]["limit"], 1);
    emb.shutdown().await;
}
