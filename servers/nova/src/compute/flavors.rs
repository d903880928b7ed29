//! `/flavors`: list, detail (with `is_public`, `minRam`, `minDisk`,
//! paging), show, admin create and delete.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use nova_core::model::{Flavor, FlavorId};
use nova_core::RequestContext;
use serde_json::{json, Value};

use super::json_body;
use super::views;
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;
use crate::util::{bool_of, int_of, parse_bool, query_get, query_pairs};

/// Which flavors a listing shows: `is_public` is `None` (literal string)
/// for all, else true/false; non-admins see public ones only.
async fn filtered(
    state: &ApiState,
    ctx: &RequestContext,
    raw: Option<&str>,
) -> ApiResult<Vec<Flavor>> {
    let q = query_pairs(raw);
    let is_public = match query_get(&q, "is_public") {
        Some(s) if s.eq_ignore_ascii_case("none") => None,
        Some(s) => Some(
            parse_bool(s)
                .ok_or_else(|| Fault::bad_request(format!("Invalid is_public filter [{s}]")))?,
        ),
        None => Some(true),
    };
    let num = |key: &str| -> ApiResult<Option<u64>> {
        query_get(&q, key)
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| Fault::bad_request(format!("Invalid {key} filter [{s}]")))
            })
            .transpose()
    };
    let (min_ram, min_disk) = (num("minRam")?, num("minDisk")?);
    let mut flavors: Vec<Flavor> = state
        .api
        .list_flavors(ctx)
        .await?
        .into_iter()
        .filter(|f| match (ctx.is_admin(), is_public) {
            (true, None) => true,
            (true, Some(p)) => f.is_public == p,
            (false, _) => f.is_public,
        })
        .filter(|f| min_ram.is_none_or(|m| f.ram_mb >= m))
        .filter(|f| min_disk.is_none_or(|m| f.root_gb >= m))
        .collect();
    if let Some(m) = query_get(&q, "marker") {
        let pos = flavors
            .iter()
            .position(|f| f.id.as_str() == m)
            .ok_or_else(|| Fault::bad_request(format!("marker [{m}] not found")))?;
        flavors.drain(..=pos);
    }
    if let Some(l) = query_get(&q, "limit") {
        let n: usize = l
            .parse()
            .map_err(|_| Fault::bad_request("limit param must be an integer"))?;
        flavors.truncate(n);
    }
    Ok(flavors)
}

/// `GET /flavors`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let base = state.base_url(&headers);
    let flavors = filtered(&state, &ctx, raw.as_deref()).await?;
    let items: Vec<Value> = flavors
        .iter()
        .map(|f| views::flavor_brief(f, &base))
        .collect();
    Ok(Json(json!({ "flavors": items })))
}

/// `GET /flavors/detail`.
pub(crate) async fn detail(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let base = state.base_url(&headers);
    let flavors = filtered(&state, &ctx, raw.as_deref()).await?;
    let items: Vec<Value> = flavors.iter().map(|f| views::flavor(f, &base)).collect();
    Ok(Json(json!({ "flavors": items })))
}

/// `GET /flavors/{id}`: by id only (404 for names; OSC then lists).
pub(crate) async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let not_found = || Fault::not_found(format!("Flavor {id} could not be found."));
    let f = state.api.get_flavor(&ctx, &id).await.map_err(|e| match e {
        nova_core::Error::NotFound { .. } => not_found(),
        e => e.into(),
    })?;
    if f.id.as_str() != id {
        return Err(not_found());
    }
    Ok(Json(
        json!({"flavor": views::flavor(&f, &state.base_url(&headers))}),
    ))
}

fn flavor_of(body: &Value) -> ApiResult<Flavor> {
    let f = body
        .get("flavor")
        .filter(|f| f.is_object())
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute flavor."))?;
    let bad = |k: &str| Fault::bad_request(format!("Invalid input for field/attribute {k}."));
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("name"))?;
    let uint = |k: &str, required: bool| -> ApiResult<u64> {
        match f.get(k) {
            None | Some(Value::Null) if !required => Ok(0),
            Some(v) => int_of(v)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| bad(k)),
            None => Err(bad(k)),
        }
    };
    let id = match f.get("id") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(bad("id")),
    };
    let id = if id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        id
    };
    let vcpus = u32::try_from(uint("vcpus", true)?).map_err(|_| bad("vcpus"))?;
    let mut flavor = Flavor::new(
        FlavorId::new(id).map_err(|_| bad("id"))?,
        name,
        uint("ram", true)?,
        vcpus,
        uint("disk", true)?,
    )
    .map_err(|e| Fault::bad_request(e.to_string()))?;
    flavor.swap_mb = match f.get("swap") {
        Some(Value::String(s)) if s.is_empty() => 0,
        _ => uint("swap", false)?,
    };
    flavor.ephemeral_gb = uint("OS-FLV-EXT-DATA:ephemeral", false)?;
    if let Some(r) = f.get("rxtx_factor").filter(|v| !v.is_null()) {
        flavor.rxtx_factor = r
            .as_f64()
            .or_else(|| r.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| bad("rxtx_factor"))?;
    }
    if let Some(p) = f.get("os-flavor-access:is_public").filter(|v| !v.is_null()) {
        flavor.is_public = bool_of(p).ok_or_else(|| bad("os-flavor-access:is_public"))?;
    }
    flavor
        .validate()
        .map_err(|e| Fault::bad_request(e.to_string()))?;
    Ok(flavor)
}

/// `POST /flavors` (admin) → 200.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let flavor = flavor_of(&json_body(&body)?)?;
    let f = state.api.create_flavor(&ctx, flavor).await?;
    Ok(Json(
        json!({"flavor": views::flavor(&f, &state.base_url(&headers))}),
    ))
}

/// `DELETE /flavors/{id}` (admin) → 202.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = FlavorId::new(id.clone())
        .map_err(|_| Fault::not_found(format!("Flavor {id} could not be found.")))?;
    state.api.delete_flavor(&ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc_flavor_create_body_parses() {
        let body = json!({"flavor": {"name": "f1", "ram": 256, "vcpus": 1, "disk": 1, "id": null,
            "swap": 0, "OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": true,
            "rxtx_factor": 1.0}});
        let f = flavor_of(&body).unwrap();
        assert_eq!(
            (f.name.as_str(), f.ram_mb, f.vcpus, f.root_gb),
            ("f1", 256, 1, 1)
        );
        assert!(uuid::Uuid::parse_str(f.id.as_str()).is_ok());
        let body =
            json!({"flavor": {"name": "f2", "ram": "64", "vcpus": "2", "disk": 0, "id": 42}});
        assert_eq!(flavor_of(&body).unwrap().id.as_str(), "42");
        assert!(
            flavor_of(&json!({"flavor": {"name": "x", "ram": -1, "vcpus": 1, "disk": 0}})).is_err()
        );
        assert!(flavor_of(&json!({"flavor": {"name": "x", "vcpus": 1, "disk": 0}})).is_err());
        assert!(
            flavor_of(&json!({"flavor": {"name": "x", "ram": 1, "vcpus": 0, "disk": 0}})).is_err()
        );
    }
}
