//! tempauth's service tokens, WWW-Authenticate, container and account ACLs.

use super::{config, Harness};
use crate::proxy::ServicePrefix;

fn harness_with_service_prefix() -> Harness {
    let mut c = config();
    c.tempauth
        .users
        .push(super::user("test5", "tester5", "testing5", &["service"]));
    c.tempauth.service_prefixes = vec![ServicePrefix {
        prefix: "SERVICE_".into(),
        require_group: Some("service".into()),
    }];
    Harness::with_config(c)
}

#[tokio::test]
async fn service_accounts_need_the_user_and_a_service_token() {
    let h = harness_with_service_prefix();
    let user = h.token("test:tester", "testing").await;
    let service = h.token("test5:tester5", "testing5").await;
    // The user alone cannot reach SERVICE_test, the service user neither
    // (alone or as both tokens).
    for hs in [
        vec![("x-auth-token", user.as_str())],
        vec![("x-auth-token", service.as_str())],
        vec![
            ("x-auth-token", service.as_str()),
            ("x-service-token", service.as_str()),
        ],
        vec![
            ("x-auth-token", user.as_str()),
            ("x-service-token", "AUTH_tkbogus"),
        ],
    ] {
        let r = h.req("PUT", "/v1/SERVICE_test/c", &hs, b"").await;
        assert_eq!(r.status, 403, "{hs:?}");
    }
    // Together they can; the user's own account still works alone.
    let both = [
        ("x-auth-token", user.as_str()),
        ("x-service-token", service.as_str()),
    ];
    let r = h.req("PUT", "/v1/SERVICE_test/c", &both, b"").await;
    assert_eq!(r.status, 201);
    let r = h.req("PUT", "/v1/SERVICE_test/c/o", &both, b"x").await;
    assert_eq!(r.status, 201);
    let r = h
        .req("HEAD", "/v1/AUTH_test", &[("x-auth-token", &user)], b"")
        .await;
    assert!(r.status == 204 || r.status == 200, "{}", r.status);
    // Other prefixes stay forbidden.
    let r = h.req("GET", "/v1/OTHER_test", &both, b"").await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn unauthorized_names_the_quoted_realm() {
    let h = Harness::new();
    let r = h.req("GET", "/v1/AUTH_a%22b/c", &[], b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Swift realm=\"AUTH_a%22b\"")
    );
    let tok = h.token("test:tester", "testing").await;
    let r = h
        .req("GET", "/v1/AUTH_test2", &[("x-auth-token", &tok)], b"")
        .await;
    assert_eq!(r.status, 403);
    assert!(r.header("www-authenticate").is_none());
}

#[tokio::test]
async fn public_container_and_listing_referrer_acls() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"data").await.status,
        201
    );
    // Private by default.
    assert_eq!(
        h.req("GET", "/v1/AUTH_test/c/o", &[], b"").await.status,
        401
    );
    // .r:* opens objects but not the listing.
    let hs = [("x-auth-token", tok.as_str()), ("x-container-read", ".r:*")];
    assert_eq!(h.req("POST", "/v1/AUTH_test/c", &hs, b"").await.status, 204);
    let r = h.req("GET", "/v1/AUTH_test/c/o", &[], b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "data"));
    assert_eq!(h.req("GET", "/v1/AUTH_test/c", &[], b"").await.status, 401);
    // Anonymous writes stay refused.
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o2", &[], b"x").await.status,
        401
    );
    let hs = [
        ("x-auth-token", tok.as_str()),
        ("x-container-read", ".r:*,.rlistings"),
    ];
    assert_eq!(h.req("POST", "/v1/AUTH_test/c", &hs, b"").await.status, 204);
    let r = h.req("GET", "/v1/AUTH_test/c", &[], b"").await;
    assert_eq!(r.status, 200);
    // Non-owners do not see the ACL.
    assert!(r.header("x-container-read").is_none());
    let r = h.req("HEAD", "/v1/AUTH_test/c", &t, b"").await;
    assert_eq!(r.header("x-container-read"), Some(".r:*,.rlistings"));
}

#[tokio::test]
async fn user_entries_in_container_acls() {
    let h = Harness::new();
    let tok = h.setup().await;
    let other = h.token("test2:tester2", "testing2").await;
    let o = [("x-auth-token", other.as_str())];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &o, b"x").await.status,
        403
    );
    let hs = [
        ("x-auth-token", tok.as_str()),
        ("x-container-write", "test2:tester2"),
    ];
    assert_eq!(h.req("POST", "/v1/AUTH_test/c", &hs, b"").await.status, 204);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &o, b"x").await.status,
        201
    );
    // Write access is not read access, nor container management.
    assert_eq!(h.req("GET", "/v1/AUTH_test/c/o", &o, b"").await.status, 403);
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_test/c", &o, b"").await.status,
        403
    );
    // A non-owner cannot change ACLs: the header is dropped.
    let tester3 = h.token("test:tester3", "testing3").await;
    let hs = [
        ("x-auth-token", tester3.as_str()),
        ("x-container-read", ".r:*"),
    ];
    assert_eq!(h.req("POST", "/v1/AUTH_test/c", &hs, b"").await.status, 403);
}

#[tokio::test]
async fn account_acls_grant_levels_and_are_owner_only() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let bad = [
        ("x-auth-token", tok.as_str()),
        ("x-account-access-control", "{\"bogus\":[]}"),
    ];
    let r = h.req("POST", "/v1/AUTH_test", &bad, b"").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("bogus"), "{}", r.text());
    // An ACL larger than a header may be is refused.
    let names: Vec<String> = (b'a'..=b'h')
        .map(|c| (c as char).to_string().repeat(1024))
        .collect();
    let big = serde_json::json!({ "admin": names }).to_string();
    let hs = [
        ("x-auth-token", tok.as_str()),
        ("x-account-access-control", big.as_str()),
    ];
    assert_eq!(h.req("POST", "/v1/AUTH_test", &hs, b"").await.status, 400);
    let acl = r#"{"read-only":["test2:tester2"],"read-write":["test:tester3"]}"#;
    let hs = [
        ("x-auth-token", tok.as_str()),
        ("x-account-access-control", acl),
    ];
    assert_eq!(h.req("POST", "/v1/AUTH_test", &hs, b"").await.status, 204);
    let r = h.req("HEAD", "/v1/AUTH_test", &t, b"").await;
    assert_eq!(r.header("x-account-access-control"), Some(acl));
    assert!(r.header("x-account-sysmeta-core-access-control").is_none());

    let ro = h.token("test2:tester2", "testing2").await;
    let ro = [("x-auth-token", ro.as_str())];
    let r = h.req("HEAD", "/v1/AUTH_test", &ro, b"").await;
    assert!(r.status == 204 || r.status == 200, "{}", r.status);
    assert!(r.header("x-account-access-control").is_none());
    assert_eq!(h.req("GET", "/v1/AUTH_test/c", &ro, b"").await.status, 204);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &ro, b"x").await.status,
        403
    );

    let rw = h.token("test:tester3", "testing3").await;
    let rw = [("x-auth-token", rw.as_str())];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &rw, b"x").await.status,
        201
    );
    assert_eq!(h.req("POST", "/v1/AUTH_test", &rw, b"").await.status, 403);
}

#[tokio::test]
async fn cross_account_copy_uses_the_destination_write_acl() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"data").await.status,
        201
    );
    let tok2 = h.token("test2:tester2", "testing2").await;
    let t2 = [("x-auth-token", tok2.as_str())];
    assert_eq!(h.req("PUT", "/v1/AUTH_test2/d", &t2, b"").await.status, 201);
    let copy = [
        ("x-auth-token", tok.as_str()),
        ("destination", "d/o2"),
        ("destination-account", "AUTH_test2"),
    ];
    assert_eq!(
        h.req("COPY", "/v1/AUTH_test/c/o", &copy, b"").await.status,
        403
    );
    let acl = [
        ("x-auth-token", tok2.as_str()),
        ("x-container-write", "test:tester"),
    ];
    assert_eq!(
        h.req("POST", "/v1/AUTH_test2/d", &acl, b"").await.status,
        204
    );
    assert_eq!(
        h.req("COPY", "/v1/AUTH_test/c/o", &copy, b"").await.status,
        201
    );
    let r = h.req("GET", "/v1/AUTH_test2/d/o2", &t2, b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "data"));
}
