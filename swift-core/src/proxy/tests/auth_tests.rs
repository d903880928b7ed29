//! tempauth: tokens, expiry, 401/403.

use std::time::Duration;

use super::Harness;

#[tokio::test]
async fn token_issued_and_reused() {
    let h = Harness::new();
    let r = h
        .req(
            "GET",
            "/auth/v1.0",
            &[("x-auth-user", "test:tester"), ("x-auth-key", "testing")],
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    let tok = r.header("x-auth-token").unwrap().to_string();
    assert!(tok.starts_with("AUTH_tk") && tok.len() == 7 + 32, "{tok}");
    assert_eq!(r.header("x-storage-token"), Some(tok.as_str()));
    assert_eq!(
        r.header("x-storage-url"),
        Some("http://proxy.test:8080/v1/AUTH_test")
    );
    let left: u64 = r.header("x-auth-token-expires").unwrap().parse().unwrap();
    assert!(left > 3500 && left <= 3600);
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        json["storage"]["local"],
        "http://proxy.test:8080/v1/AUTH_test"
    );
    // The same user gets the same token back; X-Storage-User works too.
    let r2 = h
        .req(
            "GET",
            "/auth/v1.0",
            &[
                ("x-storage-user", "test:tester"),
                ("x-storage-pass", "testing"),
            ],
            b"",
        )
        .await;
    assert_eq!(r2.header("x-auth-token"), Some(tok.as_str()));
    // /auth/v1/<account>/auth with a bare user name.
    let r3 = h
        .req(
            "GET",
            "/auth/v1/test/auth",
            &[("x-auth-user", "tester"), ("x-auth-key", "testing")],
            b"",
        )
        .await;
    assert_eq!(r3.header("x-auth-token"), Some(tok.as_str()));
}

#[tokio::test]
async fn bad_credentials_are_401() {
    let h = Harness::new();
    for hs in [
        vec![("x-auth-user", "test:tester"), ("x-auth-key", "wrong")],
        vec![("x-auth-user", "test:nobody"), ("x-auth-key", "testing")],
        vec![("x-auth-user", "test:tester")],
        vec![("x-auth-user", "tester"), ("x-auth-key", "testing")],
    ] {
        let r = h.req("GET", "/auth/v1.0", &hs, b"").await;
        assert_eq!(r.status, 401, "{hs:?}");
        assert!(r.header("x-auth-token").is_none());
        assert!(r.header("x-trans-id").is_some());
    }
    let r = h.req("GET", "/auth/v2/x/y/z", &[], b"").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn requests_need_a_valid_token() {
    let h = Harness::new();
    let tok = h.setup().await;
    let r = h.req("GET", "/v1/AUTH_test/c", &[], b"").await;
    assert_eq!(r.status, 401);
    assert!(r
        .text()
        .contains("<h1>Unauthorized</h1><p>This server requires authentication"));
    let r = h
        .req(
            "GET",
            "/v1/AUTH_test/c",
            &[("x-auth-token", "AUTH_tk00000000000000000000000000000000")],
            b"",
        )
        .await;
    assert_eq!(r.status, 401);
    let r = h
        .req("HEAD", "/v1/AUTH_test/c", &[("x-storage-token", &tok)], b"")
        .await;
    assert_eq!(r.status, 204);
    // Another account's token: 403.
    let tok2 = h.token("test2:tester2", "testing2").await;
    let r = h
        .req("GET", "/v1/AUTH_test/c", &[("x-auth-token", &tok2)], b"")
        .await;
    assert_eq!(r.status, 403);
    // A user without .admin does not own the account.
    let tok3 = h.token("test:tester3", "testing3").await;
    let r = h
        .req("GET", "/v1/AUTH_test/c", &[("x-auth-token", &tok3)], b"")
        .await;
    assert_eq!(r.status, 403);
    // A reseller admin reaches every account.
    let admin = h.token("admin:admin", "admin").await;
    let r = h
        .req("HEAD", "/v1/AUTH_test/c", &[("x-auth-token", &admin)], b"")
        .await;
    assert_eq!(r.status, 204);
    // An owner may not create or delete the account itself.
    let r = h
        .req("DELETE", "/v1/AUTH_test", &[("x-auth-token", &tok)], b"")
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn tokens_expire() {
    let h = Harness::new();
    let tok = h.setup().await;
    h.clock.advance(Duration::from_secs(3599));
    let r = h
        .req("HEAD", "/v1/AUTH_test/c", &[("x-auth-token", &tok)], b"")
        .await;
    assert_eq!(r.status, 204);
    h.clock.advance(Duration::from_secs(2));
    let r = h
        .req("HEAD", "/v1/AUTH_test/c", &[("x-auth-token", &tok)], b"")
        .await;
    assert_eq!(r.status, 401);
    let fresh = h.token("test:tester", "testing").await;
    assert_ne!(fresh, tok);
}

#[test]
fn debug_hides_keys() {
    let c = super::config();
    let d = format!("{c:?}");
    assert!(d.contains("tester") && !d.contains("testing"), "{d}");
}
