//! Routing, /info, /healthcheck, transaction ids, accounts and containers.

use super::{config, Harness};
use crate::proxy::{Proxy, ProxyConfig};

#[tokio::test]
async fn healthcheck_and_info() {
    let h = Harness::new();
    let r = h.req("GET", "/healthcheck", &[], b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "OK"));
    let r = h.req("GET", "/info", &[], b"").await;
    assert_eq!(r.status, 200);
    let info: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(info["swift"]["max_file_size"], 5_368_709_122u64);
    assert_eq!(info["swift"]["container_listing_limit"], 10_000);
    assert_eq!(info["swift"]["policies"][0]["name"], "Policy-0");
    assert_eq!(info["swift"]["policies"][0]["default"], true);
    assert_eq!(info["tempauth"]["account_acls"], true);
    assert!(info["swift"]["version"].is_string());
    let r = h.req("HEAD", "/info", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = h.req("POST", "/info", &[], b"").await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn every_response_has_a_trans_id() {
    let h = Harness::new();
    let tok = h.setup().await;
    let cases = [
        ("GET", "/healthcheck"),
        ("GET", "/info"),
        ("GET", "/auth/v1.0"),
        ("GET", "/v1/AUTH_test/c"),
        ("GET", "/v1/AUTH_test/c/missing"),
        ("GET", "/v1/AUTH_test/%ff"),
        ("GET", "/"),
        ("PATCH", "/v1/AUTH_test/c"),
    ];
    for (m, p) in cases {
        let r = h.req(m, p, &[("x-auth-token", &tok)], b"").await;
        let id = r.header("x-trans-id").unwrap_or_else(|| panic!("{m} {p}"));
        assert!(
            id.starts_with("tx") && id.len() == 34 && &id[23..24] == "-",
            "{id}"
        );
        assert_eq!(r.header("x-openstack-request-id"), Some(id));
    }
    // The id reaches the nodes.
    let r = h
        .req("HEAD", "/v1/AUTH_test/c", &[("x-auth-token", &tok)], b"")
        .await;
    let id = r.header("x-trans-id").unwrap().to_string();
    assert!(h
        .cluster
        .log()
        .iter()
        .any(|(_, _, _, hs)| hs.get("x-trans-id") == Some(id.as_str())));
}

#[tokio::test]
async fn bad_paths() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let r = h.req("GET", "/v1/AUTH_test/c%ff", &t, b"").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (412, "Invalid UTF8 or contains NULL")
    );
    let r = h.req("GET", "/v1/AUTH_test/c%00x", &t, b"").await;
    assert_eq!(r.status, 412);
    assert_eq!(h.req("GET", "/v2/AUTH_test", &t, b"").await.status, 400);
    assert_eq!(h.req("GET", "/v1", &t, b"").await.status, 412);
    assert_eq!(h.req("GET", "/", &t, b"").await.status, 404);
    // Empty account or container segments before an object: 404.
    for p in ["/v1//c/o", "/v1/AUTH_test//o", "/v1///o"] {
        let r = h.req("GET", p, &t, b"").await;
        assert_eq!(r.status, 404, "{p}");
        assert!(r.header("x-trans-id").unwrap().starts_with("tx"));
    }
    let r = h.req("PATCH", "/v1/AUTH_test/c/o", &t, b"").await;
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().contains("COPY"));
    let long = format!("/v1/AUTH_test/{}", "x".repeat(257));
    assert_eq!(h.req("PUT", &long, &t, b"").await.status, 400);
}

#[tokio::test]
async fn account_autocreate_and_listing() {
    let h = Harness::new();
    let tok = h.token("test:tester", "testing").await;
    let t = [("x-auth-token", tok.as_str())];
    // Missing account: empty listing with zero stats.
    let r = h.req("HEAD", "/v1/AUTH_test", &t, b"").await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("x-account-container-count"), Some("0"));
    let r = h.req("GET", "/v1/AUTH_test?format=json", &t, b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "[]"));
    let r = h.req("GET", "/v1/AUTH_test", &t, b"").await;
    assert_eq!(r.status, 204);
    // Container PUT creates the account, and the container servers were
    // told which account replicas to update.
    assert_eq!(h.req("PUT", "/v1/AUTH_test/c1", &t, b"").await.status, 201);
    assert_eq!(h.req("PUT", "/v1/AUTH_test/c1", &t, b"").await.status, 202);
    let r = h.req("GET", "/v1/AUTH_test", &t, b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "c1\n"));
    assert_eq!(r.header("x-account-container-count"), Some("1"));
    let r = h
        .req(
            "POST",
            "/v1/AUTH_test",
            &[("x-auth-token", &tok), ("x-account-meta-color", "red")],
            b"",
        )
        .await;
    assert_eq!(r.status, 204);
    let r = h.req("HEAD", "/v1/AUTH_test", &t, b"").await;
    assert_eq!(r.header("x-account-meta-color"), Some("red"));
    // Account management is off.
    let admin = h.token("admin:admin", "admin").await;
    let r = h
        .req("PUT", "/v1/AUTH_new", &[("x-auth-token", &admin)], b"")
        .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn account_management_for_reseller_admin() {
    let mut c = config();
    c.allow_account_management = true;
    c.account_autocreate = false;
    let h = Harness::with_config(c);
    let admin = h.token("admin:admin", "admin").await;
    let t = [("x-auth-token", admin.as_str())];
    assert_eq!(h.req("HEAD", "/v1/AUTH_new", &t, b"").await.status, 404);
    assert_eq!(h.req("PUT", "/v1/AUTH_new/c", &t, b"").await.status, 404);
    assert_eq!(h.req("PUT", "/v1/AUTH_new", &t, b"").await.status, 201);
    assert_eq!(h.req("HEAD", "/v1/AUTH_new", &t, b"").await.status, 204);
    assert_eq!(h.req("DELETE", "/v1/AUTH_new", &t, b"").await.status, 204);
}

#[tokio::test]
async fn container_lifecycle() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let r = h
        .req(
            "POST",
            "/v1/AUTH_test/c",
            &[("x-auth-token", &tok), ("x-container-meta-a", "b")],
            b"",
        )
        .await;
    assert_eq!(r.status, 204);
    let r = h.req("HEAD", "/v1/AUTH_test/c", &t, b"").await;
    assert_eq!(r.header("x-container-meta-a"), Some("b"));
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"x").await.status,
        201
    );
    let r = h.req("GET", "/v1/AUTH_test/c?format=json", &t, b"").await;
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v[0]["name"], "o");
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_test/c", &t, b"").await.status,
        409
    );
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_test/c/o", &t, b"").await.status,
        204
    );
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_test/c", &t, b"").await.status,
        204
    );
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_test/c", &t, b"").await.status,
        404
    );
    assert_eq!(h.req("GET", "/v1/AUTH_test/c", &t, b"").await.status, 404);
    assert_eq!(
        h.req("POST", "/v1/AUTH_test/nope", &t, b"").await.status,
        404
    );
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c2",
            &[("x-auth-token", &tok), ("x-container-meta-", "v")],
            b"",
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn invalid_config_is_rejected() {
    let c = ProxyConfig {
        node_timeout_secs: 0.0,
        ..Default::default()
    };
    let rings = std::sync::Arc::new(crate::ring::Rings::new(
        super::fake::ring(),
        super::fake::ring(),
        super::fake::ring(),
    ));
    let client = std::sync::Arc::new(super::fake::FakeCluster::default());
    assert!(matches!(
        Proxy::new(c, rings, client),
        Err(crate::Error::InvalidConfig { .. })
    ));
    let parsed: Result<ProxyConfig, _> = serde_json::from_str(r#"{"bogus": 1}"#);
    assert!(parsed.is_err());
    let parsed: ProxyConfig = serde_json::from_str(
        r#"{"tempauth": {"users": [{"account": "a", "user": "u", "key": "k", "groups": [".admin"]}]}}"#,
    )
    .unwrap();
    assert_eq!(parsed.tempauth.token_life_secs, 86_400);
    assert!(parsed.account_autocreate);
}

#[tokio::test]
async fn proxy_is_a_tower_service() {
    use tower::ServiceExt;
    let h = Harness::new();
    let req = http::Request::builder()
        .uri("/healthcheck")
        .body(crate::stream::full_body(""))
        .unwrap();
    let resp = h.proxy.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn containers_have_the_default_storage_policy() {
    let h = Harness::new();
    let tok = h.token("test:tester", "testing").await;
    let hs = [("x-auth-token", tok.as_str()), ("x-storage-policy", "gold")];
    let r = h.req("PUT", "/v1/AUTH_test/c", &hs, b"").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("gold"), "{}", r.text());
    let hs = [
        ("x-auth-token", tok.as_str()),
        ("x-storage-policy", "policy-0"),
    ];
    assert_eq!(h.req("PUT", "/v1/AUTH_test/c", &hs, b"").await.status, 201);
    // An empty name means the default.
    let hs = [("x-auth-token", tok.as_str()), ("x-storage-policy", "")];
    assert_eq!(h.req("PUT", "/v1/AUTH_test/c2", &hs, b"").await.status, 201);
    let t = [("x-auth-token", tok.as_str())];
    let r = h.req("HEAD", "/v1/AUTH_test/c", &t, b"").await;
    assert_eq!(r.header("x-storage-policy"), Some("Policy-0"));
}
