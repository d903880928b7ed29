//! `/servers/{id}/metadata[/{key}]`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use nova_core::RequestContext;
use serde_json::{json, Value};

use super::servers::metadata_map;
use super::{json_body, parse_id};
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;

fn body_metadata(body: &Bytes, key: &str) -> ApiResult<std::collections::BTreeMap<String, String>> {
    let v = json_body(body)?;
    let m = v
        .get(key)
        .ok_or_else(|| Fault::bad_request(format!("Malformed request body: missing {key}")))?;
    metadata_map(m)
}

/// `GET /servers/{id}/metadata`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let inst = state.api.get_server(&ctx, &id).await?;
    Ok(Json(json!({"metadata": inst.metadata})))
}

async fn update(
    state: ApiState,
    ctx: RequestContext,
    id: String,
    body: Bytes,
    replace: bool,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let meta = body_metadata(&body, "metadata")?;
    let out = state.api.update_metadata(&ctx, &id, meta, replace).await?;
    Ok(Json(json!({"metadata": out})))
}

/// `PUT /servers/{id}/metadata`: replaces all.
pub(crate) async fn replace(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    update(state, ctx, id, body, true).await
}

/// `POST /servers/{id}/metadata`: merges.
pub(crate) async fn merge(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    update(state, ctx, id, body, false).await
}

/// `GET /servers/{id}/metadata/{key}`.
pub(crate) async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let inst = state.api.get_server(&ctx, &id).await?;
    let v = inst
        .metadata
        .get(&key)
        .ok_or_else(|| Fault::not_found("Metadata item was not found"))?;
    Ok(Json(json!({"meta": {key: v}})))
}

/// `PUT /servers/{id}/metadata/{key}` with `{"meta":{key:value}}`.
pub(crate) async fn put_item(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, key)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let meta = body_metadata(&body, "meta")?;
    if meta.len() != 1 || !meta.contains_key(&key) {
        return Err(Fault::bad_request("Request body and URI mismatch"));
    }
    state
        .api
        .update_metadata(&ctx, &id, meta.clone(), false)
        .await?;
    Ok(Json(json!({"meta": meta})))
}

/// `DELETE /servers/{id}/metadata/{key}` → 204.
pub(crate) async fn delete_item(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "Instance")?;
    state.api.delete_metadata_item(&ctx, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
