//! Image member handlers: `/v2/images/{id}/members[/{member}]`.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use bytes::Bytes;
use glance_core::image::access::Caller;
use glance_core::image::{ImageMember, MemberStatus};
use glance_core::ProjectId;
use http::StatusCode;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::images::{json_body, parse_id, ApiResult};
use crate::router::AppState;
use crate::wire::timestamp;

fn member_json(m: &ImageMember) -> Value {
    json!({
        "member_id": m.member.as_str(),
        "image_id": m.image_id.to_string(),
        "status": m.status.as_str(),
        "created_at": timestamp(m.created_at),
        "updated_at": timestamp(m.updated_at),
        "schema": "/v2/schemas/member",
    })
}

fn project(s: &str) -> ApiResult<ProjectId> {
    ProjectId::new(s).map_err(|_| ApiError::not_found(format!("member {s} not found")))
}

fn string_field(body: &Bytes, key: &str) -> ApiResult<String> {
    json_body(body)?
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request(format!("request body must have a string {key:?}")))
}

/// `POST /v2/images/{id}/members` `{"member": "<project>"}`: 200.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let member = ProjectId::new(string_field(&body, "member")?)?;
    let m = state.service.add_member(&caller, &id, member).await?;
    Ok(Json(member_json(&m)))
}

/// `GET /v2/images/{id}/members`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let ms = state.service.list_members(&caller, &id).await?;
    Ok(Json(json!({
        "members": ms.iter().map(member_json).collect::<Vec<_>>(),
        "schema": "/v2/schemas/members",
    })))
}

/// `GET /v2/images/{id}/members/{member}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let m = state
        .service
        .get_member(&caller, &id, &project(&member)?)
        .await?;
    Ok(Json(member_json(&m)))
}

/// `PUT /v2/images/{id}/members/{member}` `{"status": "accepted"}`.
pub(crate) async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let status: MemberStatus = string_field(&body, "status")?.parse()?;
    let m = state
        .service
        .set_member_status(&caller, &id, &project(&member)?, status)
        .await?;
    Ok(Json(member_json(&m)))
}

/// `DELETE /v2/images/{id}/members/{member}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    state
        .service
        .delete_member(&caller, &id, &project(&member)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
