//! `/os-keypairs`: create/import (200 at 2.1, 201 from 2.2), list, show,
//! delete (202 at 2.1, 204 from 2.2).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use nova_core::RequestContext;
use serde_json::{json, Value};

use super::json_body;
use super::version::Microversion;
use super::views;
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;

/// `POST /os-keypairs`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
    body: Bytes,
) -> ApiResult<Response> {
    let body = json_body(&body)?;
    let k = body
        .get("keypair")
        .filter(|k| k.is_object())
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute keypair."))?;
    let name = k
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute name."))?;
    let public_key = match k.get("public_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute public_key.",
            ))
        }
    };
    let (kp, private) = state.api.create_key_pair(&ctx, name, public_key).await?;
    let status = if v.at_least(2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let view = views::keypair_created(&kp, private.as_deref(), v);
    Ok((status, Json(json!({ "keypair": view }))).into_response())
}

/// `GET /os-keypairs`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
) -> ApiResult<Json<Value>> {
    let kps = state.api.list_key_pairs(&ctx).await?;
    let items: Vec<Value> = kps.iter().map(|k| views::keypair_listed(k, v)).collect();
    Ok(Json(json!({ "keypairs": items })))
}

/// `GET /os-keypairs/{name}`.
pub(crate) async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let kp = state
        .api
        .get_key_pair(&ctx, &name)
        .await
        .map_err(|e| match e {
            nova_core::Error::NotFound { .. } => {
                Fault::not_found(format!("Keypair {name} not found for user {}", ctx.user_id))
            }
            e => e.into(),
        })?;
    Ok(Json(json!({"keypair": views::keypair_shown(&kp, v)})))
}

/// `DELETE /os-keypairs/{name}`.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .api
        .delete_key_pair(&ctx, &name)
        .await
        .map_err(|e| match e {
            nova_core::Error::NotFound { .. } => {
                Fault::not_found(format!("Keypair {name} not found for user {}", ctx.user_id))
            }
            e => e.into(),
        })?;
    Ok(if v.at_least(2) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    })
}
