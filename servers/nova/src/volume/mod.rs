//! The Block Storage v3 subset the `openstack` CLI needs (volumes
//! create/list/detail/show/delete, availability zones, version discovery)
//! over [`nova_core::ComputeApi`]. Faults use the nova/Cinder body; quota
//! errors are 413 `overLimit` as in Cinder.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use nova_core::model::{Volume, VolumeId, ZoneName};
use nova_core::RequestContext;
use serde_json::{json, Value};

use crate::auth::require_token;
use crate::fault::{ApiResult, Fault, QuotaStyle};
use crate::state::ApiState;
use crate::util::{int_of, iso_micros, parse_bool, query_get, query_pairs};

fn core(e: nova_core::Error) -> Fault {
    Fault::from_core(e, QuotaStyle::OverLimit)
}

fn v3(base: &str) -> Value {
    json!({
        "id": "v3.0",
        "status": "CURRENT",
        "version": "3.0",
        "min_version": "3.0",
        "updated": "2023-08-31T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/v3/")}],
        "media-types": [{"base": "application/json",
            "type": "application/vnd.openstack.volume+json;version=3"}],
    })
}

async fn versions(State(state): State<ApiState>, headers: HeaderMap) -> Json<Value> {
    Json(json!({"versions": [v3(&state.base_url(&headers))]}))
}

/// Echoes the (only) microversion served.
async fn version_header(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "openstack-api-version",
        HeaderValue::from_static("volume 3.0"),
    );
    h.insert(
        http::header::VARY,
        HeaderValue::from_static("OpenStack-API-Version"),
    );
    resp
}

fn links(base: &str, project: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{base}/v3/{project}/volumes/{id}")},
        {"rel": "bookmark", "href": format!("{base}/{project}/volumes/{id}")},
    ])
}

/// The full volume.
pub(crate) fn volume_view(v: &Volume, base: &str) -> Value {
    let id = v.id.to_string();
    let attachments: Vec<Value> = v
        .attachment
        .iter()
        .map(|a| {
            json!({
                "id": id,
                "attachment_id": crate::util::derived_uuid(&[&id, &a.instance_id.to_string()]).to_string(),
                "volume_id": id,
                "server_id": a.instance_id.to_string(),
                "host_name": null,
                "device": a.device,
                "attached_at": iso_micros(a.attached_at),
            })
        })
        .collect();
    json!({
        "id": id,
        "name": v.name,
        "size": v.size_gb,
        "status": v.status.as_str(),
        "attachments": attachments,
        "availability_zone": v.zone.as_str(),
        "bootable": "false",
        "encrypted": false,
        "multiattach": false,
        "created_at": iso_micros(v.created_at),
        "updated_at": null,
        "description": null,
        "volume_type": "__DEFAULT__",
        "snapshot_id": null,
        "source_volid": null,
        "metadata": {},
        "user_id": null,
        "replication_status": null,
        "consistencygroup_id": null,
        "os-vol-tenant-attr:tenant_id": v.project_id.as_str(),
        "links": links(base, v.project_id.as_str(), &id),
    })
}

async fn listing(
    state: &ApiState,
    ctx: &RequestContext,
    raw: Option<&str>,
) -> ApiResult<Vec<Volume>> {
    let q = query_pairs(raw);
    let all = query_get(&q, "all_tenants")
        .is_some_and(|a| a.is_empty() || parse_bool(a).unwrap_or(true))
        && ctx.is_admin();
    let mut vols = state.api.list_volumes(ctx, all).await.map_err(core)?;
    if let Some(name) = query_get(&q, "name") {
        vols.retain(|v| v.name.as_deref() == Some(name));
    }
    if let Some(status) = query_get(&q, "status") {
        vols.retain(|v| v.status.as_str() == status);
    }
    Ok(vols)
}

async fn list(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let base = state.base_url(&headers);
    let vols = listing(&state, &ctx, raw.as_deref()).await?;
    let items: Vec<Value> = vols
        .iter()
        .map(|v| {
            let id = v.id.to_string();
            json!({"id": id, "name": v.name, "links": links(&base, v.project_id.as_str(), &id)})
        })
        .collect();
    Ok(Json(json!({ "volumes": items })))
}

async fn detail(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let base = state.base_url(&headers);
    let vols = listing(&state, &ctx, raw.as_deref()).await?;
    let items: Vec<Value> = vols.iter().map(|v| volume_view(v, &base)).collect();
    Ok(Json(json!({ "volumes": items })))
}

fn volume_id(s: &str) -> ApiResult<VolumeId> {
    s.parse()
        .map_err(|_| Fault::not_found(format!("Volume {s} could not be found.")))
}

async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    Path((_project, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let v = state
        .api
        .get_volume(&ctx, &volume_id(&id)?)
        .await
        .map_err(core)?;
    Ok(Json(
        json!({"volume": volume_view(&v, &state.base_url(&headers))}),
    ))
}

async fn delete(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path((_project, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .api
        .delete_volume(&ctx, &volume_id(&id)?)
        .await
        .map_err(core)?;
    Ok(StatusCode::ACCEPTED)
}

async fn create(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = crate::compute::json_body(&body)?;
    let v = body
        .get("volume")
        .filter(|v| v.is_object())
        .ok_or_else(|| Fault::bad_request("Missing required element 'volume' in request body."))?;
    let size = v
        .get("size")
        .and_then(int_of)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute size."))?;
    let name = v.get("name").and_then(Value::as_str).map(str::to_owned);
    let zone = match v.get("availability_zone").and_then(Value::as_str) {
        Some(z) if !z.is_empty() => Some(
            ZoneName::new(z)
                .map_err(|_| Fault::bad_request(format!("Availability zone '{z}' is invalid.")))?,
        ),
        _ => None,
    };
    let vol = state
        .api
        .create_volume(&ctx, size, name, zone)
        .await
        .map_err(core)?;
    let view = volume_view(&vol, &state.base_url(&headers));
    Ok((StatusCode::ACCEPTED, Json(json!({ "volume": view }))).into_response())
}

async fn zones(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let zones = state.api.availability_zones(&ctx).await.map_err(core)?;
    let items: Vec<Value> = zones
        .iter()
        .map(|z| json!({"zoneName": z.name.as_str(), "zoneState": {"available": z.available}}))
        .collect();
    Ok(Json(json!({ "availabilityZoneInfo": items })))
}

async fn not_found() -> Fault {
    Fault::not_found("The resource could not be found.")
}

/// The Block Storage v3 router.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/v3/{project}/volumes", get(list).post(create))
        .route("/v3/{project}/volumes/detail", get(detail))
        .route("/v3/{project}/volumes/{id}", get(show).delete(delete))
        .route("/v3/{project}/os-availability-zone", get(zones))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/", get(versions))
        .route("/v3", get(versions))
        .route("/v3/", get(versions))
        .merge(api)
        .fallback(not_found)
        .layer(middleware::from_fn(version_header))
        .with_state(state)
}

#[cfg(test)]
mod tests;
