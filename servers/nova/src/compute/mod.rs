//! OpenStack Compute API v2.1 (microversions 2.1 to 2.30) over
//! [`nova_core::ComputeApi`]: version discovery, the microversion and
//! token layers, nova's fault bodies, and one module per resource.
//!
//! Paths are `/v2.1/...`; the legacy form with the project id,
//! `/v2.1/{project_id}/...`, is accepted too (the id is dropped before
//! routing: the token decides the project).

mod actions;
mod attachments;
mod flavors;
mod hosts;
mod keypairs;
mod metadata;
mod quotas;
mod servers;
mod version;
mod views;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod tests_stack;
#[cfg(test)]
mod tests_views;

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::Uri;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::Value;

pub use version::{Microversion, MAX_MINOR, MIN_MINOR};

use crate::auth::require_token;
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;

/// The top-level collections of v2.1 (anything else right after `/v2.1/`
/// is taken for a project id).
const COLLECTIONS: [&str; 12] = [
    "servers",
    "flavors",
    "os-keypairs",
    "os-availability-zone",
    "os-hypervisors",
    "os-services",
    "os-quota-sets",
    "limits",
    "extensions",
    "images",
    "os-simple-tenant-usage",
    "os-volumes",
];

/// Parses a JSON request body (400 badRequest when it is not JSON).
pub(crate) fn json_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| Fault::bad_request(format!("Malformed request body: {e}")))
}

/// Parses a UUID id from a path; anything else is "not found" (names
/// must 404 so that clients fall back to searching by name).
pub(crate) fn parse_id<T: FromStr>(s: &str, kind: &str) -> ApiResult<T> {
    s.parse()
        .map_err(|_| Fault::not_found(format!("{kind} {s} could not be found.")))
}

/// `/v2.1/{project_id}/rest` → `/v2.1/rest`.
fn strip_project(mut req: Request) -> Request {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/v2.1/") else {
        return req;
    };
    let mut segs = rest.splitn(2, '/');
    let (Some(first), Some(tail)) = (segs.next(), segs.next()) else {
        return req;
    };
    if COLLECTIONS.contains(&first) || first.is_empty() {
        return req;
    }
    let new_path = format!("/v2.1/{tail}");
    let pq = match req.uri().query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(p) = pq.parse() {
        parts.path_and_query = Some(p);
        if let Ok(u) = Uri::from_parts(parts) {
            *req.uri_mut() = u;
        }
    }
    req
}

async fn not_found() -> Fault {
    Fault::not_found("The resource could not be found.")
}

async fn method_not_allowed() -> axum::response::Response {
    Fault::new(
        http::StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.",
    )
    .into_response()
}

/// The Compute API router.
pub fn router(state: ApiState) -> Router {
    let v21 = Router::new()
        .route("/v2.1/servers", get(servers::list).post(servers::create))
        .route("/v2.1/servers/detail", get(servers::detail))
        .route(
            "/v2.1/servers/{id}",
            get(servers::show).delete(servers::delete),
        )
        .route("/v2.1/servers/{id}/action", post(actions::action))
        .route(
            "/v2.1/servers/{id}/metadata",
            get(metadata::list)
                .put(metadata::replace)
                .post(metadata::merge),
        )
        .route(
            "/v2.1/servers/{id}/metadata/{key}",
            get(metadata::show)
                .put(metadata::put_item)
                .delete(metadata::delete_item),
        )
        .route(
            "/v2.1/servers/{id}/os-volume_attachments",
            get(attachments::list).post(attachments::create),
        )
        .route(
            "/v2.1/servers/{id}/os-volume_attachments/{volume}",
            get(attachments::show).delete(attachments::delete),
        )
        .route("/v2.1/flavors", get(flavors::list).post(flavors::create))
        .route("/v2.1/flavors/detail", get(flavors::detail))
        .route(
            "/v2.1/flavors/{id}",
            get(flavors::show).delete(flavors::delete),
        )
        .route(
            "/v2.1/os-keypairs",
            get(keypairs::list).post(keypairs::create),
        )
        .route(
            "/v2.1/os-keypairs/{name}",
            get(keypairs::show).delete(keypairs::delete),
        )
        .route("/v2.1/os-availability-zone", get(hosts::zones))
        .route(
            "/v2.1/os-availability-zone/detail",
            get(hosts::zones_detail),
        )
        .route("/v2.1/os-hypervisors", get(hosts::hypervisors))
        .route(
            "/v2.1/os-hypervisors/detail",
            get(hosts::hypervisors_detail),
        )
        .route("/v2.1/os-hypervisors/{id}", get(hosts::hypervisor))
        .route("/v2.1/os-services", get(hosts::services))
        .route("/v2.1/os-services/{op}", put(hosts::service_update))
        .route("/v2.1/limits", get(quotas::limits))
        .route(
            "/v2.1/os-quota-sets/{project}",
            get(quotas::show).put(quotas::update),
        )
        .route("/v2.1/os-quota-sets/{project}/detail", get(quotas::detail))
        .route(
            "/v2.1/os-quota-sets/{project}/defaults",
            get(quotas::defaults),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let versioned = Router::new()
        .route("/v2.1", get(version::version))
        .route("/v2.1/", get(version::version))
        .merge(v21)
        .fallback(not_found)
        .layer(middleware::from_fn(version::microversion));
    let inner = Router::new()
        .route("/", get(version::versions))
        .merge(versioned)
        .with_state(state);
    let svc = tower::ServiceBuilder::new()
        .map_request(strip_project)
        .service(inner);
    Router::new().fallback_service(svc)
}
