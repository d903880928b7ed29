//! Import handlers: `PUT /stage`, `POST /import`, and the
//! `/v2/info/import` and `/v2/info/stores` discovery documents.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use bytes::Bytes;
use glance_core::image::access::Caller;
use glance_core::service::{ImportMethod, ImportRequest};
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::data::{body_stream, upload_options};
use crate::error::ApiError;
use crate::images::{json_body, parse_id, ApiResult};
use crate::router::AppState;

/// `PUT /v2/images/{id}/stage`: queued -> uploading, data to staging.
pub(crate) async fn stage(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    let opts = upload_options(&headers)?;
    state
        .service
        .stage(&caller, &id, body_stream(body), opts)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_import(body: &Value, headers: &HeaderMap) -> ApiResult<ImportRequest> {
    let bad = |m: &str| ApiError::bad_request(m.to_owned());
    let method = body
        .get("method")
        .ok_or_else(|| bad("import request needs a method"))?;
    let name = method
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("import method needs a name"))?;
    let method = match name {
        "glance-direct" => ImportMethod::GlanceDirect,
        "copy-image" => ImportMethod::CopyImage,
        "web-download" => ImportMethod::WebDownload {
            uri: method
                .get("uri")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("web-download needs a uri"))?
                .to_owned(),
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "import method {other} is not supported"
            )))
        }
    };
    let mut req = ImportRequest::new(method);
    if let Some(stores) = body.get("stores") {
        req.stores = stores
            .as_array()
            .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| bad("stores must be an array of store ids"))?;
    }
    let flag = |k: &str| match body.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("{k} must be a boolean"))),
    };
    req.all_stores = flag("all_stores")?.unwrap_or(false);
    req.all_stores_must_succeed = flag("all_stores_must_succeed")?.unwrap_or(true);
    if req.stores.is_empty() && !req.all_stores {
        if let Some(s) = headers
            .get("x-image-meta-store")
            .and_then(|v| v.to_str().ok())
        {
            req.stores = vec![s.to_owned()];
        }
    }
    Ok(req)
}

/// `POST /v2/images/{id}/import`: 202, the import runs in the background.
pub(crate) async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    let req = parse_import(&json_body(&body)?, &headers)?;
    // The task reports through the image record; nobody waits for it here.
    let _task = state.service.import(&caller, &id, req).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /v2/info/import`.
pub(crate) async fn info_import(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": state.service.import_methods(),
        }
    }))
}

/// `GET /v2/info/stores`: `default` is the string "true", as Glance sends it.
pub(crate) async fn info_stores(State(state): State<AppState>) -> Json<Value> {
    let stores = state.service.stores();
    let list: Vec<Value> = stores
        .ids()
        .map(|id| {
            let mut s = json!({ "id": id });
            if let Some(d) = state.store_descriptions.get(id) {
                s["description"] = json!(d);
            }
            if id == stores.default_id() {
                s["default"] = json!("true");
            }
            s
        })
        .collect();
    Json(json!({ "stores": list }))
}
