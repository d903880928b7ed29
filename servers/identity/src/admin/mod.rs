//! Keystone's administration APIs: domains, projects, users, roles and
//! role assignments. Policy: the `admin` role is needed for every write and
//! every list; a user may show itself, the projects it holds a role on and
//! their domains.

use std::collections::HashMap;

use axum::Json;
use identity_core::service::ListFilter;
use identity_core::{DomainId, TokenScope};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::views;

pub(crate) mod projects;
pub(crate) mod roles;
pub(crate) mod users;

/// Query parameters, decoded.
pub(crate) type Params = HashMap<String, String>;

pub(crate) fn forbidden() -> ApiError {
    ApiError::Forbidden("You are not authorized to perform the requested action.".into())
}

/// The domain a token acts in: its scope's, else its user's.
pub(crate) fn caller_domain(caller: &Caller) -> &DomainId {
    let t = &caller.0.token;
    match &t.scope {
        TokenScope::Project(p) => &p.domain.id,
        TokenScope::Domain(d) => &d.id,
        TokenScope::Unscoped => &t.user.domain.id,
    }
}

/// 403 unless the caller holds `admin`.
pub(crate) fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// Parses a path id; one that cannot be an id cannot exist either (404),
/// which is what name lookups by OpenStack clients rely on.
pub(crate) fn path_id<T>(
    kind: &str,
    raw: String,
    parse: impl FnOnce(String) -> identity_core::Result<T>,
) -> ApiResult<T> {
    let shown = raw.clone();
    parse(raw).map_err(|_| ApiError::NotFound(format!("Could not find {kind}: {shown}.")))
}

/// The object under `key` of a JSON request body (`{"project": {...}}`).
pub(crate) fn member_body<T: DeserializeOwned>(bytes: &[u8], key: &str) -> ApiResult<T> {
    let bad = |e: String| ApiError::BadRequest(format!("Invalid input for {key}: {e}"));
    let mut v: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let inner = v
        .get_mut(key)
        .filter(|m| m.is_object())
        .map(Value::take)
        .ok_or_else(|| bad(format!("'{key}' is a required object")))?;
    serde_json::from_value(inner).map_err(|e| bad(e.to_string()))
}

/// A boolean query value as Keystone reads it (`?enabled=false`).
fn bool_param(v: &str) -> ApiResult<bool> {
    match v.to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "Expected a boolean value, got {v:?}"
        ))),
    }
}

/// `?name=`, `?domain_id=` and `?enabled=` of the list calls.
pub(crate) fn list_filter(q: &Params) -> ApiResult<ListFilter> {
    // No domain can have a malformed id: filter with a fresh one, which
    // matches nothing.
    let domain_id = q
        .get("domain_id")
        .map(|d| DomainId::new(d.as_str()).unwrap_or_else(|_| DomainId::generate()));
    Ok(ListFilter {
        name: q.get("name").cloned(),
        domain_id,
        enabled: q.get("enabled").map(|v| bool_param(v)).transpose()?,
    })
}

/// Whether a flag parameter is present and not false (`?effective`,
/// `?include_names=True`).
pub(crate) fn flag(q: &Params, name: &str) -> bool {
    q.get(name).is_some_and(|v| bool_param(v).unwrap_or(true))
}

/// `{"<key>": [...], "links": {...}}` for a list at `path` under `base`.
pub(crate) fn collection(key: &str, items: Vec<Value>, base: &str, path: &str) -> Json<Value> {
    let url = format!("{base}{path}");
    let mut body = json!({ "links": views::collection_links(&url) });
    body[key] = Value::Array(items);
    Json(body)
}
