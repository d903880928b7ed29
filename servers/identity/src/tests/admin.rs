//! The administration APIs: domains, projects, users, roles, grants and
//! role assignments, with their policy and their effect on tokens.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::{admin_scope, assert_keystone_error, call, env, login, Env, BASE};

fn scope(project: &str) -> Value {
    json!({"project": {"name": project, "domain": {"name": "Default"}}})
}

async fn admin_token(e: &Env) -> String {
    login(&e.app, "admin", "secret", admin_scope()).await.0
}

/// As admin: creates project `name`, user `name` (password `pw`, default
/// project) and grants it `member`; returns (user id, project id).
async fn onboard(e: &Env, admin: &str, name: &str) -> (String, String) {
    let h = [("x-auth-token", admin)];
    let r = call(
        &e.app,
        Method::POST,
        "/v3/projects",
        &h,
        Some(json!({"project": {"name": name, "description": "d", "enabled": true}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let p = r.body["project"]["id"].as_str().unwrap().to_owned();
    let r = call(
        &e.app,
        Method::POST,
        "/v3/users",
        &h,
        Some(json!({"user": {
        "name": name, "password": "pw", "default_project_id": p, "enabled": true,
        "domain_id": "default"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let u = r.body["user"]["id"].as_str().unwrap().to_owned();
    let r = call(&e.app, Method::GET, "/v3/roles?name=member", &h, None).await;
    let role = r.body["roles"][0]["id"].as_str().unwrap().to_owned();
    let grant = format!("/v3/projects/{p}/users/{u}/roles/{role}");
    let r = call(&e.app, Method::PUT, &grant, &h, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    (u, p)
}

#[tokio::test]
async fn create_show_and_name_lookups() {
    let e = env().await;
    let admin = admin_token(&e).await;
    let h = [("x-auth-token", admin.as_str())];
    let (u, p) = onboard(&e, &admin, "demo").await;

    let r = call(&e.app, Method::GET, &format!("/v3/projects/{p}"), &h, None).await;
    let proj = &r.body["project"];
    assert_eq!(proj["name"], "demo");
    assert_eq!(proj["domain_id"], "default");
    assert_eq!(proj["description"], "d");
    assert_eq!(proj["enabled"], true);
    assert_eq!(proj["options"], json!({}));
    assert_eq!(proj["links"]["self"], format!("{BASE}/v3/projects/{p}"));
    let r = call(&e.app, Method::GET, &format!("/v3/users/{u}"), &h, None).await;
    let user = &r.body["user"];
    assert_eq!(
        (user["name"].as_str(), user["default_project_id"].as_str()),
        (Some("demo"), Some(p.as_str()))
    );
    assert!(user.get("password").is_none(), "{user}");
    assert_eq!(user["links"]["self"], format!("{BASE}/v3/users/{u}"));

    // What the SDK's find_* does: GET by name as id (404), then ?name=.
    for kind in ["projects", "users", "roles", "domains"] {
        let r = call(&e.app, Method::GET, &format!("/v3/{kind}/demo"), &h, None).await;
        assert_keystone_error(&r, 404, "Not Found");
        let r = call(&e.app, Method::GET, &format!("/v3/{kind}/a%20b"), &h, None).await;
        assert_keystone_error(&r, 404, "Not Found");
    }
    let r = call(&e.app, Method::GET, "/v3/projects?name=demo", &h, None).await;
    assert_eq!(r.body["projects"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["links"]["self"], format!("{BASE}/v3/projects"));
    let r = call(
        &e.app,
        Method::GET,
        "/v3/users?name=demo&domain_id=default",
        &h,
        None,
    )
    .await;
    assert_eq!(r.body["users"][0]["id"], u);
    let r = call(&e.app, Method::GET, "/v3/users?domain_id=other", &h, None).await;
    assert_eq!(r.body["users"], json!([]));
    let r = call(&e.app, Method::GET, "/v3/projects?enabled=false", &h, None).await;
    assert_eq!(r.body["projects"], json!([]));
    let r = call(&e.app, Method::GET, "/v3/roles", &h, None).await;
    let names: Vec<_> = r.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let r = call(&e.app, Method::GET, "/v3/domains?name=Default", &h, None).await;
    let d = &r.body["domains"][0];
    assert_eq!(
        (d["id"].as_str(), d["enabled"].as_bool()),
        (Some("default"), Some(true))
    );
    let r = call(&e.app, Method::GET, "/v3/domains/default", &h, None).await;
    assert_eq!(
        r.body["domain"]["links"]["self"],
        format!("{BASE}/v3/domains/default")
    );

    // The member logs in with its new project.
    let (tok, body) = login(&e.app, "demo", "pw", scope("demo")).await;
    assert_eq!(body["token"]["project"]["id"], p);
    assert_eq!(body["token"]["roles"][0]["name"], "member");
    let hm = [("x-auth-token", tok.as_str())];
    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/users/{u}/projects"),
        &hm,
        None,
    )
    .await;
    assert_eq!(r.body["projects"][0]["id"], p);
    let r = call(&e.app, Method::GET, "/v3/domains/default", &hm, None).await;
    assert_eq!(r.status, StatusCode::OK, "a user may show its own domain");
}

#[tokio::test]
async fn roles_grants_and_assignments() {
    let e = env().await;
    let admin = admin_token(&e).await;
    let h = [("x-auth-token", admin.as_str())];
    let (u, p) = onboard(&e, &admin, "ra").await;
    let r = call(
        &e.app,
        Method::POST,
        "/v3/roles",
        &h,
        Some(json!({"role": {"name": "auditor", "description": "reads"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let role = &r.body["role"];
    assert_eq!(
        (role["domain_id"].clone(), role["description"].clone()),
        (Value::Null, json!("reads"))
    );
    let rid = role["id"].as_str().unwrap().to_owned();
    let r = call(
        &e.app,
        Method::POST,
        "/v3/roles",
        &h,
        Some(json!({"role": {"name": "auditor"}})),
    )
    .await;
    assert_keystone_error(&r, 409, "Conflict");

    let grant = format!("/v3/projects/{p}/users/{u}/roles/{rid}");
    for m in [Method::HEAD, Method::GET] {
        let r = call(&e.app, m, &grant, &h, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        call(&e.app, Method::PUT, &grant, &h, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&e.app, Method::PUT, &grant, &h, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&e.app, Method::HEAD, &grant, &h, None).await.status,
        StatusCode::NO_CONTENT
    );
    let on_domain = format!("/v3/domains/default/users/{u}/roles/{rid}");
    assert_eq!(
        call(&e.app, Method::PUT, &on_domain, &h, None).await.status,
        StatusCode::NO_CONTENT
    );
    let r = call(
        &e.app,
        Method::PUT,
        &format!("/v3/projects/{p}/users/{u}/roles/nosuch"),
        &h,
        None,
    )
    .await;
    assert_keystone_error(&r, 404, "Not Found");

    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/role_assignments?user.id={u}"),
        &h,
        None,
    )
    .await;
    let list = r.body["role_assignments"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["scope"], json!({"domain": {"id": "default"}}));
    assert_eq!(list[0]["links"]["assignment"], format!("{BASE}{on_domain}"));
    let q = format!("/v3/role_assignments?user.id={u}&scope.project.id={p}&role.id={rid}&effective&include_names=True");
    let r = call(&e.app, Method::GET, &q, &h, None).await;
    assert_eq!(
        r.body["role_assignments"],
        json!([{
            "scope": {"project": {"id": p, "name": "ra", "domain": {"id": "default", "name": "Default"}}},
            "user": {"id": u, "name": "ra", "domain": {"id": "default", "name": "Default"}},
            "role": {"id": rid, "name": "auditor"},
            "links": {"assignment": format!("{BASE}{grant}")},
        }])
    );
    let r = call(
        &e.app,
        Method::GET,
        "/v3/role_assignments?group.id=g",
        &h,
        None,
    )
    .await;
    assert_eq!(r.body["role_assignments"], json!([]));
    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/role_assignments?scope.project.id={p}&scope.domain.id=default"),
        &h,
        None,
    )
    .await;
    assert_keystone_error(&r, 400, "Bad Request");

    assert_eq!(
        call(&e.app, Method::DELETE, &grant, &h, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_keystone_error(
        &call(&e.app, Method::DELETE, &grant, &h, None).await,
        404,
        "Not Found",
    );
    let r = call(
        &e.app,
        Method::DELETE,
        &format!("/v3/roles/{rid}"),
        &h,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(
        &e.app,
        Method::GET,
        &format!("/v3/role_assignments?role.id={rid}"),
        &h,
        None,
    )
    .await;
    assert_eq!(r.body["role_assignments"], json!([]));
    assert_keystone_error(
        &call(&e.app, Method::GET, &format!("/v3/roles/{rid}"), &h, None).await,
        404,
        "Not Found",
    );
}

#[tokio::test]
async fn members_are_refused_admin_calls() {
    let e = env().await;
    let admin = admin_token(&e).await;
    let (u, p) = onboard(&e, &admin, "mem").await;
    let (tok, _) = login(&e.app, "mem", "pw", scope("mem")).await;
    let hm = [("x-auth-token", tok.as_str())];
    let refused: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v3/projects".into(),
            Some(json!({"project": {"name": "x"}})),
        ),
        (
            Method::POST,
            "/v3/users".into(),
            Some(json!({"user": {"name": "x"}})),
        ),
        (
            Method::POST,
            "/v3/roles".into(),
            Some(json!({"role": {"name": "x"}})),
        ),
        (Method::GET, "/v3/projects".into(), None),
        (Method::GET, "/v3/users".into(), None),
        (Method::GET, "/v3/users?name=mem".into(), None),
        (Method::GET, "/v3/roles".into(), None),
        (Method::GET, "/v3/domains".into(), None),
        (Method::GET, "/v3/role_assignments".into(), None),
        (
            Method::GET,
            format!("/v3/projects/{}", e.admin_project),
            None,
        ),
        (
            Method::PATCH,
            format!("/v3/projects/{p}"),
            Some(json!({"project": {"name": "y"}})),
        ),
        (Method::DELETE, format!("/v3/projects/{p}"), None),
        (
            Method::PATCH,
            format!("/v3/users/{u}"),
            Some(json!({"user": {"enabled": false}})),
        ),
        (Method::DELETE, format!("/v3/users/{u}"), None),
        (
            Method::PUT,
            format!("/v3/projects/{p}/users/{u}/roles/x"),
            None,
        ),
    ];
    for (m, uri, body) in refused {
        let r = call(&e.app, m.clone(), &uri, &hm, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {uri}: {}", r.body);
        assert_keystone_error(&r, 403, "Forbidden");
    }
    // But it may see itself and its project.
    let r = call(&e.app, Method::GET, &format!("/v3/users/{u}"), &hm, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&e.app, Method::GET, &format!("/v3/projects/{p}"), &hm, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_requests_and_conflicts() {
    let e = env().await;
    let admin = admin_token(&e).await;
    let h = [("x-auth-token", admin.as_str())];
    let (u, p) = onboard(&e, &admin, "bad").await;
    let cases: Vec<(Method, String, Value, u16)> = vec![
        (
            Method::POST,
            "/v3/projects".into(),
            json!({"project": {"name": "bad"}}),
            409,
        ),
        (
            Method::POST,
            "/v3/projects".into(),
            json!({"name": "nokey"}),
            400,
        ),
        (
            Method::POST,
            "/v3/projects".into(),
            json!({"project": {"name": ""}}),
            400,
        ),
        (
            Method::POST,
            "/v3/projects".into(),
            json!({"project": {"name": "x", "domain_id": "nodomain"}}),
            404,
        ),
        (
            Method::POST,
            "/v3/projects".into(),
            json!({"project": {"name": "x", "is_domain": true}}),
            400,
        ),
        (
            Method::POST,
            "/v3/users".into(),
            json!({"user": {"name": "bad"}}),
            409,
        ),
        (
            Method::POST,
            "/v3/users".into(),
            json!({"user": {"name": "x", "default_project_id": "nosuch"}}),
            400,
        ),
        (
            Method::POST,
            "/v3/users".into(),
            json!({"user": {"name": "x", "password": ""}}),
            400,
        ),
        (
            Method::POST,
            "/v3/roles".into(),
            json!({"role": {"name": "x", "domain_id": "default"}}),
            400,
        ),
        (
            Method::PATCH,
            format!("/v3/projects/{p}"),
            json!({"project": {"domain_id": "other"}}),
            400,
        ),
        (
            Method::PATCH,
            format!("/v3/users/{u}"),
            json!({"user": {"domain_id": "other"}}),
            400,
        ),
        (
            Method::PATCH,
            format!("/v3/users/{u}"),
            json!({"user": {"name": "admin"}}),
            409,
        ),
        (
            Method::PATCH,
            "/v3/projects/nosuch".into(),
            json!({"project": {"name": "y"}}),
            404,
        ),
    ];
    for (m, uri, body, code) in cases {
        let r = call(&e.app, m.clone(), &uri, &h, Some(body.clone())).await;
        assert_eq!(r.status.as_u16(), code, "{m} {uri} {body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], code);
    }
    for uri in [
        "/v3/projects/nosuch",
        "/v3/users/nosuch",
        "/v3/roles/nosuch",
    ] {
        assert_keystone_error(
            &call(&e.app, Method::DELETE, uri, &h, None).await,
            404,
            "Not Found",
        );
    }
    // PATCH works and clears the default project with null.
    let r = call(
        &e.app,
        Method::PATCH,
        &format!("/v3/users/{u}"),
        &h,
        Some(json!({"user": {"name": "bad2", "default_project_id": null}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["name"], "bad2");
    assert!(r.body["user"].get("default_project_id").is_none());
    let r = call(
        &e.app,
        Method::PATCH,
        &format!("/v3/projects/{p}"),
        &h,
        Some(json!({"project": {"name": "bad3", "description": "new"}})),
    )
    .await;
    assert_eq!(
        (
            r.body["project"]["name"].as_str(),
            r.body["project"]["description"].as_str()
        ),
        (Some("bad3"), Some("new"))
    );
}

/// Whether `tok` still validates, asked by the admin.
async fn validates(e: &Env, admin: &str, tok: &str) -> bool {
    let h = [("x-auth-token", admin), ("x-subject-token", tok)];
    let r = call(&e.app, Method::GET, "/v3/auth/tokens", &h, None).await;
    match r.status {
        StatusCode::OK => true,
        StatusCode::NOT_FOUND => false,
        s => panic!("unexpected {s}: {}", r.body),
    }
}

#[tokio::test]
async fn disabling_deleting_and_password_changes_end_tokens() {
    let e = env().await;
    let admin = admin_token(&e).await;
    let h = [("x-auth-token", admin.as_str())];
    let (u, p) = onboard(&e, &admin, "tk").await;
    let (tok, _) = login(&e.app, "tk", "pw", scope("tk")).await;
    assert!(validates(&e, &admin, &tok).await);
    let r = call(
        &e.app,
        Method::PATCH,
        &format!("/v3/projects/{p}"),
        &h,
        Some(json!({"project": {"enabled": false}})),
    )
    .await;
    assert_eq!(r.body["project"]["enabled"], false);
    assert!(!validates(&e, &admin, &tok).await, "disabled project");
    let r = call(
        &e.app,
        Method::GET,
        "/v3/auth/projects",
        &[("x-auth-token", tok.as_str())],
        None,
    )
    .await;
    assert_keystone_error(&r, 401, "Unauthorized");
    call(
        &e.app,
        Method::PATCH,
        &format!("/v3/projects/{p}"),
        &h,
        Some(json!({"project": {"enabled": true}})),
    )
    .await;

    // Self-service password change: no token needed, the original is.
    let (tok, _) = login(&e.app, "tk", "pw", scope("tk")).await;
    let pw_uri = format!("/v3/users/{u}/password");
    let r = call(
        &e.app,
        Method::POST,
        &pw_uri,
        &[],
        Some(json!({"user": {"password": "new", "original_password": "wrong"}})),
    )
    .await;
    assert_keystone_error(&r, 401, "Unauthorized");
    let r = call(
        &e.app,
        Method::POST,
        &pw_uri,
        &[],
        Some(json!({"user": {"password": "new", "original_password": "pw"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(
        !validates(&e, &admin, &tok).await,
        "password change revokes tokens"
    );
    let r = call(
        &e.app,
        Method::POST,
        "/v3/auth/tokens",
        &[],
        Some(super::password_body("tk", "pw", scope("tk"))),
    )
    .await;
    assert_keystone_error(&r, 401, "Unauthorized");

    let (tok, _) = login(&e.app, "tk", "new", scope("tk")).await;
    let r = call(&e.app, Method::DELETE, &format!("/v3/users/{u}"), &h, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!validates(&e, &admin, &tok).await, "deleted user");
    assert_keystone_error(
        &call(&e.app, Method::GET, &format!("/v3/users/{u}"), &h, None).await,
        404,
        "Not Found",
    );
    let r = call(
        &e.app,
        Method::DELETE,
        &format!("/v3/projects/{p}"),
        &h,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_keystone_error(
        &call(&e.app, Method::GET, &format!("/v3/projects/{p}"), &h, None).await,
        404,
        "Not Found",
    );
}
