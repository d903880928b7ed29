//! Test helpers: a [`ComputeApi`] over an in-memory database and bus,
//! tokens for an admin and a member, and a one-shot request runner.

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use nova_core::api::ApiConfig;
use nova_core::db::sqlite::SqliteNovaDb;
use nova_core::{ComputeApi, InProcessBus, RequestContext};
use serde_json::Value;
use tower::ServiceExt;

use crate::auth::StaticAuthenticator;
use crate::images::GlanceImages;
use crate::state::ApiState;

pub(crate) const ADMIN: &str = "admin-token";
pub(crate) const DEMO: &str = "demo-token";

pub(crate) fn ctx(user: &str, project: &str, roles: &[&str]) -> RequestContext {
    RequestContext::new(
        user.parse().unwrap(),
        project.parse().unwrap(),
        roles.iter().map(|r| r.to_string()).collect(),
    )
}

pub(crate) fn state() -> ApiState {
    let db = Arc::new(SqliteNovaDb::open_in_memory().unwrap());
    let api = ComputeApi::new(
        db,
        Arc::new(InProcessBus::new()),
        Arc::new(GlanceImages::new("http://127.0.0.1:9")),
        ApiConfig::default(),
    );
    let auth = StaticAuthenticator::new()
        .with_token(
            ADMIN,
            ctx("admin-user", "admin-project", &["admin", "member"]),
        )
        .with_token(DEMO, ctx("demo-user", "demo-project", &["member"]));
    ApiState::new(api, Arc::new(auth))
        .with_public_endpoint("http://nova.test:8774")
        .with_auth_url("http://keystone.test:5000/v3")
}

/// A response: status, headers, parsed JSON body (Null when empty).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header("x-auth-token", t);
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let req = b.body(Body::from(body.unwrap_or("").to_owned())).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply {
        status,
        headers,
        body,
    }
}
