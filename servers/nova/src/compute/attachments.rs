//! `/servers/{id}/os-volume_attachments[/{volume}]`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use nova_core::model::VolumeId;
use nova_core::RequestContext;
use serde_json::{json, Value};

use super::views;
use super::{json_body, parse_id};
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;

fn volume_id(s: &str) -> ApiResult<VolumeId> {
    s.parse()
        .map_err(|_| Fault::not_found(format!("Volume {s} could not be found.")))
}

/// `GET …/os-volume_attachments`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let atts = state.api.list_attachments(&ctx, &id).await?;
    let items: Vec<Value> = atts.iter().map(views::attachment).collect();
    Ok(Json(json!({ "volumeAttachments": items })))
}

/// `GET …/os-volume_attachments/{volume}`.
pub(crate) async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, vol)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let vid = volume_id(&vol)?;
    let atts = state.api.list_attachments(&ctx, &id).await?;
    let a = atts
        .iter()
        .find(|a| a.volume_id == vid)
        .ok_or_else(|| Fault::not_found(format!("Volume {vol} is not attached to {id}")))?;
    Ok(Json(json!({"volumeAttachment": views::attachment(a)})))
}

/// `POST …/os-volume_attachments` with `{"volumeAttachment":{"volumeId",
/// "device"}}` → 200.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let body = json_body(&body)?;
    let att = body
        .get("volumeAttachment")
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute volumeAttachment."))?;
    let vol = att
        .get("volumeId")
        .and_then(Value::as_str)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute volumeId."))?;
    let vid = volume_id(vol)?;
    let device = att
        .get("device")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    let a = state.api.attach_volume(&ctx, &id, &vid, device).await?;
    Ok(Json(json!({"volumeAttachment": views::attachment(&a)})))
}

/// `DELETE …/os-volume_attachments/{volume}` → 202.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, vol)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "Instance")?;
    let vid = volume_id(&vol)?;
    state.api.detach_volume(&ctx, &id, &vid).await?;
    Ok(StatusCode::ACCEPTED)
}
