//! Version discovery and the JSON schemas glanceclient validates against.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::router::AppState;

/// The versions we claim: the v2 core API without import, multi-store,
/// cache or locations (those gate on later minor versions).
const VERSIONS: &[(&str, &str)] = &[
    ("v2.5", "CURRENT"),
    ("v2.4", "SUPPORTED"),
    ("v2.3", "SUPPORTED"),
    ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"),
    ("v2.0", "SUPPORTED"),
];

fn versions_doc(state: &AppState, headers: &HeaderMap) -> Value {
    let base = match &state.public_endpoint {
        Some(e) => e.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost:9292");
            format!("http://{host}")
        }
    };
    let versions: Vec<Value> = VERSIONS
        .iter()
        .map(|(id, status)| {
            json!({"id": id, "status": status, "links": [{"rel": "self", "href": format!("{base}/v2/")}]})
        })
        .collect();
    json!({ "versions": versions })
}

/// `GET /` and unknown paths outside `/v2`: 300 Multiple Choices.
pub(crate) async fn multiple_choices(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    (
        StatusCode::MULTIPLE_CHOICES,
        Json(versions_doc(&state, &headers)),
    )
        .into_response()
}

/// `GET /versions`: 200.
pub(crate) async fn versions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    Json(versions_doc(&state, &headers)).into_response()
}

fn nullable(t: &str) -> Value {
    json!({ "type": ["null", t] })
}

/// Glance's `image` schema: every key we return with its type, custom
/// properties as strings.
pub(crate) fn image_schema() -> Value {
    let mut disk: Vec<Value> = vec![Value::Null];
    disk.extend(
        glance_core::image::DiskFormat::ALL
            .iter()
            .map(|f| json!(f.as_str())),
    );
    let mut container: Vec<Value> = vec![Value::Null];
    container.extend(
        glance_core::image::ContainerFormat::ALL
            .iter()
            .map(|f| json!(f.as_str())),
    );
    let statuses: Vec<&str> = glance_core::ImageStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    json!({
        "name": "image",
        "properties": {
            "id": {"type": "string", "description": "An identifier for the image",
                   "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
            "name": {"type": ["null", "string"], "maxLength": 255, "description": "Descriptive name for the image"},
            "status": {"type": "string", "readOnly": true, "enum": statuses},
            "visibility": {"type": "string", "enum": ["community", "public", "private", "shared"]},
            "protected": {"type": "boolean"},
            "os_hidden": {"type": "boolean"},
            "checksum": {"type": ["null", "string"], "readOnly": true, "maxLength": 32},
            "os_hash_algo": {"type": ["null", "string"], "readOnly": true, "maxLength": 64},
            "os_hash_value": {"type": ["null", "string"], "readOnly": true, "maxLength": 128},
            "owner": {"type": ["null", "string"], "maxLength": 255},
            "size": {"type": ["null", "integer"], "readOnly": true},
            "virtual_size": {"type": ["null", "integer"], "readOnly": true},
            "container_format": {"type": ["null", "string"], "enum": container},
            "disk_format": {"type": ["null", "string"], "enum": disk},
            "created_at": {"type": "string", "readOnly": true},
            "updated_at": {"type": "string", "readOnly": true},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "direct_url": {"type": "string", "readOnly": true},
            "min_ram": {"type": "integer"},
            "min_disk": {"type": "integer"},
            "self": {"type": "string", "readOnly": true},
            "file": {"type": "string", "readOnly": true},
            "stores": {"type": "string", "readOnly": true},
            "schema": {"type": "string", "readOnly": true},
            "locations": {"type": "array", "items": {"type": "object"}},
            "kernel_id": nullable("string"),
            "ramdisk_id": nullable("string"),
            "instance_uuid": {"type": "string"},
            "architecture": {"type": "string"},
            "os_distro": {"type": "string"},
            "os_version": {"type": "string"},
            "description": {"type": "string"}
        },
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    })
}

/// `GET /v2/schemas/image`.
pub(crate) async fn schema_image() -> Json<Value> {
    Json(image_schema())
}

/// `GET /v2/schemas/images`.
pub(crate) async fn schema_images() -> Json<Value> {
    Json(json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"}
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    }))
}

fn member_schema() -> Value {
    json!({
        "name": "member",
        "properties": {
            "member_id": {"type": "string"},
            "image_id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "accepted", "rejected"]},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "schema": {"type": "string", "readOnly": true}
        }
    })
}

/// `GET /v2/schemas/member`.
pub(crate) async fn schema_member() -> Json<Value> {
    Json(member_schema())
}

/// `GET /v2/schemas/members`.
pub(crate) async fn schema_members() -> Json<Value> {
    Json(json!({
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema()},
            "schema": {"type": "string"}
        }
    }))
}
