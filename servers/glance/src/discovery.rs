//! Version discovery and the JSON schemas glanceclient validates against.

use std::sync::LazyLock;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::router::AppState;

/// The versions we claim: up to v2.9 (import v2.6, hidden images v2.7,
/// multi-store v2.8, copy-image v2.9); not tasks (v2.12), cache or the
/// locations API (v2.17), which clients gate on those versions.
const VERSIONS: &[(&str, &str)] = &[
    ("v2.9", "CURRENT"),
    ("v2.8", "SUPPORTED"),
    ("v2.7", "SUPPORTED"),
    ("v2.6", "SUPPORTED"),
    ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"),
    ("v2.3", "SUPPORTED"),
    ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"),
    ("v2.0", "SUPPORTED"),
];

fn versions_doc(state: &AppState, headers: &HeaderMap) -> Value {
    let base = state.base_url(headers);
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

/// The properties of Glance's `image` schema: its base properties plus
/// the custom ones of the stock `schema-image.json` (`is_base: false`).
const IMAGE_PROPERTIES: &str = include_str!("schemas/image_properties.json");

static IMAGE_SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    // A constant of this crate; the unit tests check that it parses.
    let properties: Value = serde_json::from_str(IMAGE_PROPERTIES).unwrap_or(Value::Null);
    json!({
        "name": "image",
        "properties": properties,
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    })
});

/// Glance's `image` schema (a permissive schema: custom properties are strings).
pub(crate) fn image_schema() -> Value {
    IMAGE_SCHEMA.clone()
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
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"}
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    }))
}

/// Glance's member schema in its "minimal" form (name and properties).
fn member_schema() -> Value {
    const UUID: &str =
        "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";
    json!({
        "name": "member",
        "properties": {
            "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
            "image_id": {"type": "string", "description": "An identifier for the image", "pattern": UUID},
            "created_at": {"type": "string", "description": "Date and time of image member creation"},
            "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
            "status": {"type": "string", "description": "The status of this image member",
                       "enum": ["pending", "accepted", "rejected"]},
            "schema": {"readOnly": true, "type": "string"}
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
        },
        "links": [{"rel": "describedby", "href": "{schema}"}]
    }))
}

/// `GET /v2/schemas/metadefs/namespace`: glanceclient loads it on first
/// use; we have no metadefs, so a valid schema with no properties.
pub(crate) async fn schema_metadefs_namespace() -> Json<Value> {
    Json(json!({"name": "namespace", "properties": {}, "additionalProperties": false}))
}

/// `GET /v2/schemas/metadefs/resource_type`, as the namespace one.
pub(crate) async fn schema_metadefs_resource_type() -> Json<Value> {
    Json(
        json!({"name": "resource_type_association", "properties": {}, "additionalProperties": false}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_schema_is_glances() {
        let props: Value = serde_json::from_str(IMAGE_PROPERTIES).unwrap();
        let s = image_schema();
        assert_eq!(s["properties"], props);
        // Every key image_json renders with a non-string value is declared.
        for (k, t) in [
            ("os_hash_value", json!(["null", "string"])),
            ("size", json!(["null", "integer"])),
            ("virtual_size", json!(["null", "integer"])),
            ("protected", json!("boolean")),
            ("os_hidden", json!("boolean")),
            ("min_ram", json!("integer")),
            ("tags", json!("array")),
            ("owner", json!(["null", "string"])),
        ] {
            assert_eq!(s["properties"][k]["type"], t, "{k}");
        }
        let disk: Vec<Value> = std::iter::once(Value::Null)
            .chain(
                glance_core::image::DiskFormat::ALL
                    .iter()
                    .map(|f| json!(f.as_str())),
            )
            .collect();
        assert_eq!(s["properties"]["disk_format"]["enum"], json!(disk));
        let statuses = s["properties"]["status"]["enum"].as_array().unwrap().len();
        assert_eq!(statuses, glance_core::ImageStatus::ALL.len());
        assert_eq!(props.as_object().unwrap().len(), 34);
    }
}
