//! Keystone-token mode: project accounts, operator and reader roles, 503
//! when the identity service cannot answer.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{config, Harness};
use crate::proxy::{KeystoneAuthConfig, KeystoneIdentity, KeystoneValidator};

#[derive(Debug, Default)]
struct Tokens(HashMap<String, KeystoneIdentity>);

#[async_trait]
impl KeystoneValidator for Tokens {
    async fn validate(&self, token: &str) -> crate::Result<Option<KeystoneIdentity>> {
        if token == "boom" {
            return Err(crate::Error::Unavailable {
                reason: "identity down".into(),
            });
        }
        Ok(self.0.get(token).cloned())
    }
}

fn ks(project: &str, roles: &[&str]) -> KeystoneIdentity {
    KeystoneIdentity {
        user_id: format!("u-{project}"),
        user_name: format!("user-{project}"),
        project_id: Some(project.into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

fn harness() -> Harness {
    let mut h = Harness::with_config(config());
    let mut t = Tokens::default();
    t.0.insert("op1".into(), ks("p1", &["member"]));
    t.0.insert("rd1".into(), ks("p1", &["reader"]));
    t.0.insert("op2".into(), ks("p2", &["admin"]));
    h.proxy = h
        .proxy
        .with_keystone(Arc::new(t), KeystoneAuthConfig::default())
        .unwrap();
    h
}

#[tokio::test]
async fn operator_owns_project_account_reader_only_reads() {
    let h = harness();
    let op = [("x-auth-token", "op1")];
    assert_eq!(h.req("PUT", "/v1/AUTH_p1/c", &op, b"").await.status, 201);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_p1/c/o", &op, b"data").await.status,
        201
    );
    let r = h.req("GET", "/v1/AUTH_p1/c/o", &op, b"").await;
    assert_eq!((r.status, &r.body[..]), (200, &b"data"[..]));

    let rd = [("x-auth-token", "rd1")];
    let r = h.req("GET", "/v1/AUTH_p1/c/o", &rd, b"").await;
    assert_eq!((r.status, &r.body[..]), (200, &b"data"[..]));
    assert_eq!(h.req("HEAD", "/v1/AUTH_p1/c", &rd, b"").await.status, 204);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_p1/c/o2", &rd, b"x").await.status,
        403
    );
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_p1/c/o", &rd, b"").await.status,
        403
    );

    // Another project's token sees nothing of p1.
    let other = [("x-auth-token", "op2")];
    assert_eq!(
        h.req("GET", "/v1/AUTH_p1/c/o", &other, b"").await.status,
        403
    );
    assert_eq!(h.req("GET", "/v1/AUTH_p1", &other, b"").await.status, 403);
    assert_eq!(h.req("PUT", "/v1/AUTH_p2/c", &other, b"").await.status, 201);
}

#[tokio::test]
async fn unknown_token_is_401_and_outage_is_503() {
    let h = harness();
    let r = h
        .req("GET", "/v1/AUTH_p1", &[("x-auth-token", "nope")], b"")
        .await;
    assert_eq!(r.status, 401);
    let r = h
        .req("GET", "/v1/AUTH_p1", &[("x-auth-token", "boom")], b"")
        .await;
    assert_eq!(r.status, 503);
    // tempauth keeps working beside Keystone.
    let tok = h.setup().await;
    let r = h
        .req("GET", "/v1/AUTH_test/c", &[("x-auth-token", &tok)], b"")
        .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn keystone_on_a_shared_proxy_is_refused() {
    let h = Harness::new();
    let _clone = h.proxy.clone();
    let err = h
        .proxy
        .clone()
        .with_keystone(Arc::new(Tokens::default()), KeystoneAuthConfig::default())
        .unwrap_err();
    assert!(matches!(err, crate::Error::InvalidConfig { .. }), "{err}");
}

#[tokio::test]
async fn clients_cannot_write_system_metadata() {
    let h = Harness::new();
    let tok = h.setup().await;
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[
                ("x-auth-token", &tok),
                ("x-object-sysmeta-s3api-etag", "forged-1"),
                ("x-object-meta-color", "blue"),
            ],
            b"data",
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .req("HEAD", "/v1/AUTH_test/c/o", &[("x-auth-token", &tok)], b"")
        .await;
    assert_eq!(r.header("x-object-meta-color"), Some("blue"));
    assert_eq!(r.header("x-object-sysmeta-s3api-etag"), None);
    let forwarded = h
        .cluster
        .log()
        .iter()
        .filter(|(_, _, _, hs)| hs.get("x-object-sysmeta-s3api-etag").is_some())
        .count();
    assert_eq!(forwarded, 0, "a client's system metadata reached the nodes");
}
