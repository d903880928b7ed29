//! Image metadata handlers: create, list, show, PATCH, delete, tags.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use glance_core::image::access::Caller;
use glance_core::service::CreateImage;
use glance_core::{Error, Image, ImageId};
use http::{header, HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::ApiError;
use crate::router::AppState;
use crate::wire::{has_field, image_json, remove_field, set_field};

pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;

/// Parses a path id; anything but a UUID is "not found", as OSC expects.
pub(crate) fn parse_id(id: &str) -> ApiResult<ImageId> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("no image found with ID {id}")))
}

pub(crate) fn json_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON in request body: {e}")))
}

/// `POST /v2/images`.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let Value::Object(obj) = json_body(&body)? else {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    };
    let mut tmpl = Image::new(ImageId::new_v4(), None, 0);
    let mut req = CreateImage::default();
    for (k, v) in &obj {
        if k == "id" {
            let id = v
                .as_str()
                .ok_or_else(|| ApiError::bad_request("id must be a string"))?;
            req.id = Some(
                id.parse()
                    .map_err(|_| ApiError::bad_request("id must be a uuid"))?,
            );
            continue;
        }
        set_field(&mut tmpl, k, v)?;
    }
    req.name = tmpl.name;
    req.visibility = obj.contains_key("visibility").then_some(tmpl.visibility);
    req.protected = tmpl.protected;
    req.os_hidden = tmpl.os_hidden;
    req.disk_format = tmpl.disk_format;
    req.container_format = tmpl.container_format;
    req.min_disk = tmpl.min_disk;
    req.min_ram = tmpl.min_ram;
    req.tags = tmpl.tags;
    req.properties = tmpl.properties;
    let image = state.service.create(&caller, req).await?;
    let location = format!("{}/v2/images/{}", state.base_url(&headers), image.id);
    let methods = state.service.import_methods().join(",");
    let stores: Vec<&str> = state.service.stores().ids().collect();
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location),
            (
                header::HeaderName::from_static("openstack-image-import-methods"),
                methods,
            ),
            (
                header::HeaderName::from_static("openstack-image-store-ids"),
                stores.join(","),
            ),
        ],
        Json(image_json(&image)),
    )
        .into_response())
}

/// `GET /v2/images/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    Ok(Json(image_json(&state.service.get(&caller, &id).await?)))
}

/// `DELETE /v2/images/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    state.service.delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2/images/{id}/actions/deactivate`.
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    state.service.deactivate(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2/images/{id}/actions/reactivate`.
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    state.service.reactivate(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v2/images/{id}/tags/{tag}`.
pub(crate) async fn add_tag(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    if tag.is_empty() || tag.chars().count() > 255 {
        return Err(ApiError::bad_request("tag must be 1 to 255 characters"));
    }
    state.service.add_tag(&caller, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v2/images/{id}/tags/{tag}`.
pub(crate) async fn delete_tag(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    state.service.delete_tag(&caller, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

const PATCH_TYPES: &[&str] = &[
    "application/openstack-images-v2.1-json-patch",
    "application/openstack-images-v2.0-json-patch",
];

/// One JSON-patch operation, validated.
#[derive(Debug)]
enum PatchOp {
    Set {
        key: String,
        value: Value,
        replace: bool,
    },
    Remove {
        key: String,
    },
}

fn parse_patch(body: &Value) -> ApiResult<Vec<PatchOp>> {
    let ops = body
        .as_array()
        .ok_or_else(|| ApiError::bad_request("patch body must be a JSON array"))?;
    ops.iter()
        .map(|op| {
            let kind = op.get("op").and_then(Value::as_str);
            let path = op
                .get("path")
                .and_then(Value::as_str)
                .and_then(|p| p.strip_prefix('/'))
                .filter(|p| !p.is_empty() && !p.contains('/'))
                .ok_or_else(|| ApiError::bad_request("patch path must be /<attribute>"))?;
            let key = path.replace("~1", "/").replace("~0", "~");
            match kind {
                Some(k @ ("add" | "replace")) => Ok(PatchOp::Set {
                    value: op
                        .get("value")
                        .cloned()
                        .ok_or_else(|| ApiError::bad_request("patch op needs a value"))?,
                    key,
                    replace: k == "replace",
                }),
                Some("remove") => Ok(PatchOp::Remove { key }),
                _ => Err(ApiError::bad_request(
                    "patch op must be add, replace or remove",
                )),
            }
        })
        .collect()
}

fn apply_patch(img: &mut Image, ops: Vec<PatchOp>) -> Result<(), Error> {
    for op in ops {
        match op {
            PatchOp::Set {
                key,
                value,
                replace,
            } => {
                if matches!(key.as_str(), "disk_format" | "container_format")
                    && img.status != glance_core::ImageStatus::Queued
                {
                    return Err(Error::forbidden(format!(
                        "attribute {key} can be only replaced for a queued image"
                    )));
                }
                if replace && !has_field(img, &key) {
                    return Err(Error::conflict(format!("property {key} does not exist")));
                }
                set_field(img, &key, &value)?;
            }
            PatchOp::Remove { key } => remove_field(img, &key)?,
        }
    }
    Ok(())
}

/// `PATCH /v2/images/{id}` with a Glance JSON-patch body.
pub(crate) async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if !PATCH_TYPES.contains(&ctype) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "content type {ctype:?} is not supported; use {}",
                PATCH_TYPES[0]
            ),
        ));
    }
    let ops = parse_patch(&json_body(&body)?)?;
    let image = state
        .service
        .modify(&caller, &id, move |img| apply_patch(img, ops))
        .await?;
    Ok(Json(image_json(&image)))
}
