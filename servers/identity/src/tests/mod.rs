//! Handler tests: the router driven with `oneshot`, no socket.

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use identity_core::service::{BootstrapConfig, PasswordHashing};
use identity_core::{
    AssignmentTarget, Catalog, DomainId, IdentityConfig, IdentityService, MemoryIdentityBackend,
    Password, ProjectId,
};
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::{router, AppState};

mod admin;

const BASE: &str = "http://keystone.test:5000";

struct Env {
    app: Router,
    identity: Arc<IdentityService>,
    admin_project: String,
}

async fn env() -> Env {
    let mut catalog = Catalog::new();
    catalog
        .register_all("identity", "keystone", "RegionOne", &format!("{BASE}/v3"))
        .register_all(
            "object-store",
            "swift",
            "RegionOne",
            "http://swift.test:8080/v1/AUTH_$(project_id)s",
        );
    let cfg = IdentityConfig {
        password_hashing: PasswordHashing::insecure_fast(),
        ..IdentityConfig::default()
    };
    let identity = IdentityService::new(Arc::new(MemoryIdentityBackend::new()), cfg)
        .unwrap()
        .with_catalog(catalog);
    let out = identity
        .bootstrap(&BootstrapConfig::new(Password::new("secret")))
        .await
        .unwrap();
    let identity = Arc::new(identity);
    Env {
        app: router(AppState::new(identity.clone(), &format!("{BASE}/"))),
        identity,
        admin_project: out.admin_project.id.to_string(),
    }
}

struct Resp {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn password_body(user: &str, pw: &str, scope: Value) -> Value {
    json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": pw}}},
        "scope": scope}})
}

fn admin_scope() -> Value {
    json!({"project": {"name": "admin", "domain": {"name": "Default"}}})
}

/// Issues a token; returns (token, body).
async fn login(app: &Router, user: &str, pw: &str, scope: Value) -> (String, Value) {
    let r = call(
        app,
        Method::POST,
        "/v3/auth/tokens",
        &[],
        Some(password_body(user, pw, scope)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let tok = r.headers["x-subject-token"].to_str().unwrap().to_owned();
    (tok, r.body)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn is_keystone_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn assert_keystone_error(r: &Resp, code: u16, title: &str) {
    assert_eq!(r.status.as_u16(), code, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code);
    assert_eq!(r.body["error"]["title"], title);
    assert!(r.body["error"]["message"].is_string());
}

#[tokio::test]
async fn discovery() {
    let e = env().await;
    let r = call(&e.app, Method::GET, "/", &[], None).await;
    assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES);
    let v = &r.body["versions"]["values"][0];
    assert_eq!(v["id"], "v3.14");
    assert_eq!(v["status"], "stable");
    assert_eq!(v["links"][0]["href"], format!("{BASE}/v3/"));
    let r = call(&e.app, Method::GET, "/v3", &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["version"]["links"][0]["rel"], "self");
}

#[tokio::test]
async fn password_auth_issues_a_scoped_token() {
    let e = env().await;
    let (tok, body) = login(&e.app, "admin", "secret", admin_scope()).await;
    assert!(!tok.is_empty());
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(
        t["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert!(t["user"]["password_expires_at"].is_null());
    assert!(t["user"]["id"].is_string());
    assert_eq!(t["project"]["id"], e.admin_project);
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(t["project"]["domain"]["name"], "Default");
    assert_eq!(t["is_domain"], false);
    assert!(t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "admin"));
    assert_eq!(t["audit_ids"].as_array().unwrap().len(), 1);
    assert!(
        is_keystone_time(t["expires_at"].as_str().unwrap()),
        "{}",
        t["expires_at"]
    );
    assert!(is_keystone_time(t["issued_at"].as_str().unwrap()));
    // The catalog, with the project filled into templated URLs.
    let cat = t["catalog"].as_array().unwrap();
    let swift = cat.iter().find(|s| s["type"] == "object-store").unwrap();
    let ep = &swift["endpoints"][0];
    assert_eq!(ep["region"], "RegionOne");
    assert_eq!(ep["region_id"], "RegionOne");
    assert!(ep["id"].is_string() && swift["id"].is_string() && swift["name"] == "swift");
    assert_eq!(
        ep["url"],
        format!("http://swift.test:8080/v1/AUTH_{}", e.admin_project)
    );
    let ifaces: Vec<_> = swift["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["interface"].clone())
        .collect();
    assert!(ifaces.contains(&json!("public")));
}

#[tokio::test]
async fn auth_variants() {
    let e = env().await;
    // nocatalog
    let r = call(
        &e.app,
        Method::POST,
        "/v3/auth/tokens?nocatalog",
        &[],
        Some(password_body("admin", "secret", admin_scope())),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body["token"].get("catalog").is_none());
    // project by id, user by id, domain by id
    let user_id = r.body["token"]["user"]["id"].as_str().unwrap().to_owned();
    let body = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"id": user_id, "password": "secret"}}},
        "scope": {"project": {"id": e.admin_project}}}});
    let r = call(&e.app, Method::POST, "/v3/auth/tokens", &[], Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // unscoped: no project, no catalog
    let (tok, body) = login(&e.app, "admin", "secret", Value::Null).await;
    assert!(body["token"].get("project").is_none());
    assert!(body["token"].get("catalog").is_none());
    // token method rescoping the unscoped token to the project
    let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": tok}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let r = call(&e.app, Method::POST, "/v3/auth/tokens", &[], Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["token"]["methods"], json!(["token"]));
    assert_eq!(r.body["token"]["project"]["id"], e.admin_project);
}

#[tokio::test]
async fn bad_credentials_and_bodies() {
    let e = env().await;
    for (user, pw) in [("admin", "wrong"), ("nobody", "secret")] {
        let r = call(
            &e.app,
            Method::POST,
            "/v3/auth/tokens",
            &[],
            Some(password_body(user, pw, admin_scope())),
        )
        .await;
        assert_keystone_error(&r, 401, "Unauthorized");
        assert!(r.headers.get("x-subject-token").is_none());
    }
    let r = call(
        &e.app,
        Method::POST,
        "/v3/auth/tokens",
        &[],
        Some(json!({"auth": 1})),
    )
    .await;
    assert_keystone_error(&r, 400, "Bad Request");
    let scope = json!({"project": {"name": "nope", "domain": {"name": "Default"}}});
    let r = call(
        &e.app,
        Method::POST,
        "/v3/auth/tokens",
        &[],
        Some(password_body("admin", "secret", scope)),
    )
    .await;
    assert_keystone_error(&r, 401, "Unauthorized");
}

#[tokio::test]
async fn validate_head_delete_then_404() {
    let e = env().await;
    let (caller, _) = login(&e.app, "admin", "secret", admin_scope()).await;
    let (subject, _) = login(&e.app, "admin", "secret", admin_scope()).await;
    let h = [
        ("x-auth-token", caller.as_str()),
        ("x-subject-token", subject.as_str()),
    ];
    let r = call(&e.app, Method::GET, "/v3/auth/tokens", &h, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-subject-token"], subject.as_str());
    assert_eq!(r.body["token"]["user"]["name"], "admin");
    assert!(r.body["token"]["catalog"].is_array());
    let r = call(
        &e.app,
        Method::GET,
        "/v3/auth/tokens?nocatalog&allow_expired=1",
        &h,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["token"].get("catalog").is_none());
    let r = call(&e.app, Method::HEAD, "/v3/auth/tokens", &h, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_null());
    let r = call(&e.app, Method::DELETE, "/v3/auth/tokens", &h, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(&e.app, Method::GET, "/v3/auth/tokens", &h, None).await;
    assert_keystone_error(&r, 404, "Not Found");
    let r = call(&e.app, Method::HEAD, "/v3/auth/tokens", &h, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The revoked token no longer authenticates.
    let h2 = [
        ("x-auth-token", subject.as_str()),
        ("x-subject-token", caller.as_str()),
    ];
    let r = call(&e.app, Method::GET, "/v3/auth/tokens", &h2, None).await;
    assert_keystone_error(&r, 401, "Unauthorized");
}

#[tokio::test]
async fn missing_or_bad_token_is_401() {
    let e = env().await;
    for path in [
        "/v3/auth/tokens",
        "/v3/auth/catalog",
        "/v3/auth/projects",
        "/v3/users/x",
        "/v3/projects/x",
        "/v3/users/x/credentials/OS-EC2",
    ] {
        let r = call(&e.app, Method::GET, path, &[], None).await;
        assert_keystone_error(&r, 401, "Unauthorized");
        assert!(r.headers.contains_key("www-authenticate"));
        let r = call(
            &e.app,
            Method::GET,
            path,
            &[("x-auth-token", "bogus")],
            None,
        )
        .await;
        assert_keystone_error(&r, 401, "Unauthorized");
    }
}

/// A non-admin user `alice` with `member` on a new project `proj`.
async fn add_member(e: &Env) -> (String, String) {
    let domain = DomainId::default_domain();
    let p = e.identity.create_project(&domain, "proj").await.unwrap();
    let u = e
        .identity
        .create_user(&domain, "alice", Some(&Password::new("pw")))
        .await
        .unwrap();
    e.identity
        .grant_role_by_name(&u.id, AssignmentTarget::Project(p.id.clone()), "member")
        .await
        .unwrap();
    (u.id.to_string(), p.id.to_string())
}

#[tokio::test]
async fn catalog_projects_and_users() {
    let e = env().await;
    let (alice, proj) = add_member(&e).await;
    let scope = json!({"project": {"name": "proj", "domain": {"name": "Default"}}});
    let (tok, body) = login(&e.app, "alice", "pw", scope).await;
    assert_eq!(body["token"]["project"]["id"], proj);
    let h = [("x-auth-token", tok.as_str())];
    let r = call(&e.app, Method::GET, "/v3/auth/catalog", &h, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["catalog"].as_array().unwrap().len(), 2);
    let r = call(&e.app, Method::GET, "/v3/auth/projects", &h, None).await;
    assert_eq!(r.body["projects"][0]["id"], proj);
    assert_eq!(r.body["projects"].as_array().unwrap().len(), 1);
    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/projects/{proj}"),
        &h,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["project"]["name"], "proj");
    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/projects/{}", e.admin_project),
        &h,
        None,
    )
    .await;
    assert_keystone_error(&r, 403, "Forbidden");
    let r = call(&e.app, Method::GET, &format!("/v3/users/{alice}"), &h, None).await;
    assert_eq!(r.body["user"]["name"], "alice");
    // Admin sees alice and her project.
    let (admin, _) = login(&e.app, "admin", "secret", admin_scope()).await;
    let ha = [("x-auth-token", admin.as_str())];
    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/users/{alice}"),
        &ha,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/projects/{proj}"),
        &ha,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&e.app, Method::GET, "/v3/users/nosuchuser", &ha, None).await;
    assert_keystone_error(&r, 404, "Not Found");
    // Alice may not look at admin's user, nor validate admin's token.
    let h2 = [
        ("x-auth-token", tok.as_str()),
        ("x-subject-token", admin.as_str()),
    ];
    let r = call(&e.app, Method::GET, "/v3/auth/tokens", &h2, None).await;
    assert_keystone_error(&r, 403, "Forbidden");
}

#[tokio::test]
async fn ec2_credentials() {
    let e = env().await;
    let (alice, proj) = add_member(&e).await;
    let scope = json!({"project": {"id": proj}});
    let (tok, _) = login(&e.app, "alice", "pw", scope).await;
    let h = [("x-auth-token", tok.as_str())];
    let base = format!("/v3/users/{alice}/credentials/OS-EC2");
    let r = call(
        &e.app,
        Method::POST,
        &base,
        &h,
        Some(json!({"tenant_id": proj})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = &r.body["credential"];
    assert_eq!(c["user_id"], alice);
    assert_eq!(c["tenant_id"], proj);
    assert!(c["trust_id"].is_null());
    let access = c["access"].as_str().unwrap().to_owned();
    let secret = c["secret"].as_str().unwrap().to_owned();
    assert_eq!(c["links"]["self"], format!("{BASE}{base}/{access}"));
    let r = call(&e.app, Method::GET, &base, &h, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["credentials"][0]["secret"], secret);
    let one = format!("{base}/{access}");
    let r = call(&e.app, Method::GET, &one, &h, None).await;
    assert_eq!(r.body["credential"]["access"], access);
    // Not on a project alice has no role on; bad body is 400.
    let r = call(
        &e.app,
        Method::POST,
        &base,
        &h,
        Some(json!({"tenant_id": e.admin_project})),
    )
    .await;
    assert_keystone_error(&r, 403, "Forbidden");
    let r = call(&e.app, Method::POST, &base, &h, Some(json!({"tenant": 1}))).await;
    assert_keystone_error(&r, 400, "Bad Request");
    // Another non-admin user may not touch alice's credentials.
    let domain = DomainId::default_domain();
    let bob = e
        .identity
        .create_user(&domain, "bob", Some(&Password::new("pw")))
        .await
        .unwrap();
    e.identity
        .grant_role_by_name(
            &bob.id,
            AssignmentTarget::Project(ProjectId::new(proj.clone()).unwrap()),
            "member",
        )
        .await
        .unwrap();
    let (bob_tok, _) = login(&e.app, "bob", "pw", json!({"project": {"id": proj}})).await;
    let hb = [("x-auth-token", bob_tok.as_str())];
    for (m, uri) in [
        (Method::GET, &base),
        (Method::GET, &one),
        (Method::DELETE, &one),
    ] {
        let r = call(&e.app, m, uri, &hb, None).await;
        assert_keystone_error(&r, 403, "Forbidden");
    }
    let r = call(
        &e.app,
        Method::POST,
        &base,
        &hb,
        Some(json!({"tenant_id": proj})),
    )
    .await;
    assert_keystone_error(&r, 403, "Forbidden");
    // Delete, then gone.
    let r = call(&e.app, Method::DELETE, &one, &h, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(&e.app, Method::GET, &one, &h, None).await;
    assert_keystone_error(&r, 404, "Not Found");
    let r = call(&e.app, Method::GET, &base, &h, None).await;
    assert_eq!(r.body["credentials"], json!([]));
}

#[tokio::test]
async fn unknown_route_is_keystone_404() {
    let e = env().await;
    let r = call(&e.app, Method::GET, "/v3/nothing", &[], None).await;
    assert_keystone_error(&r, 404, "Not Found");
}
