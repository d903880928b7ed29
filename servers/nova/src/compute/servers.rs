//! `/servers`: create (incl. min/max count), list and detail with filters
//! and paging, show, delete, and server metadata.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use nova_core::api::{BootRequest, ServerFilter};
use nova_core::model::{Instance, InstanceId, ServerStatus};
use nova_core::RequestContext;
use serde_json::{json, Value};

use super::version::Microversion;
use super::views::{self, ServerExtras};
use super::{json_body, parse_id};
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;
use crate::util::{int_of, last_segment, parse_iso, query_get, query_pairs};

/// Renders one server with its addresses and attachments.
pub(crate) async fn render(
    state: &ApiState,
    ctx: &RequestContext,
    inst: &Instance,
    v: Microversion,
    base: &str,
) -> Value {
    let addresses = state.api.addresses(ctx, &inst.id).await.unwrap_or_default();
    let attachments = state
        .api
        .list_attachments(ctx, &inst.id)
        .await
        .unwrap_or_default();
    views::server(
        inst,
        &ServerExtras {
            base,
            version: v,
            is_admin: ctx.is_admin(),
            addresses: &addresses,
            attachments: &attachments,
        },
    )
}

fn str_field(s: &Value, key: &str) -> ApiResult<Option<String>> {
    match s.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(x)) => Ok(Some(x.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {key}."
        ))),
    }
}

fn count_field(s: &Value, key: &str) -> ApiResult<Option<u32>> {
    match s.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => int_of(x)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| {
                Fault::bad_request(format!(
                    "Invalid input for field/attribute {key}. Value: {x}. It must be an integer >= 1."
                ))
            }),
    }
}

/// The boot request in a `POST /servers` body.
pub(crate) fn boot_request(body: &Value) -> ApiResult<BootRequest> {
    let s = body
        .get("server")
        .filter(|s| s.is_object())
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute server."))?;
    let name = str_field(s, "name")?
        .filter(|n| !n.trim().is_empty() && n.len() <= 255)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute name."))?;
    let flavor = str_field(s, "flavorRef")?
        .filter(|f| !f.is_empty())
        .ok_or_else(|| Fault::bad_request("Missing flavorRef attribute."))?;
    let mut image = str_field(s, "imageRef")?.filter(|i| !i.is_empty());
    if image.is_none() {
        // Boot from an image through block_device_mapping_v2.
        if let Some(Value::Array(bdms)) = s.get("block_device_mapping_v2") {
            image = bdms
                .iter()
                .find(|b| b.get("source_type").and_then(Value::as_str) == Some("image"))
                .and_then(|b| b.get("uuid").and_then(Value::as_str))
                .map(str::to_owned);
        }
    }
    let min_count = count_field(s, "min_count")?.unwrap_or(1);
    let max_count = count_field(s, "max_count")?.unwrap_or(min_count);
    if min_count > max_count {
        return Err(Fault::bad_request("min_count must be <= max_count"));
    }
    let user_data = match str_field(s, "user_data")? {
        Some(d) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(d.trim())
                .map_err(|_| Fault::bad_request("Userdata content cannot be decoded."))?,
        ),
        None => None,
    };
    let metadata = match s.get("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(m) => metadata_map(m)?,
    };
    let security_groups = match s.get("security_groups") {
        Some(Value::Array(groups)) => groups
            .iter()
            .filter_map(|g| g.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let networks = match s.get("networks") {
        Some(Value::Array(nets)) => nets
            .iter()
            .filter_map(|n| n.get("uuid").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let mut hints = nova_core::scheduler::SchedulerHints::default();
    if let Some(h) = body.get("os:scheduler_hints") {
        for (key, out) in [
            ("same_host", &mut hints.same_host),
            ("different_host", &mut hints.different_host),
        ] {
            let ids: Vec<&str> = match h.get(key) {
                Some(Value::String(one)) => vec![one.as_str()],
                Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            for id in ids {
                out.push(parse_id(id, "Instance")?);
            }
        }
    }
    Ok(BootRequest {
        name,
        flavor: last_segment(&flavor).to_owned(),
        image: image.map(|i| last_segment(&i).to_owned()),
        key_name: str_field(s, "key_name")?,
        min_count,
        max_count,
        user_data,
        availability_zone: str_field(s, "availability_zone")?.filter(|z| !z.is_empty()),
        metadata,
        security_groups,
        networks,
        hints,
        client_token: None,
    })
}

/// A metadata object of string values (numbers are refused, as nova does).
pub(crate) fn metadata_map(m: &Value) -> ApiResult<BTreeMap<String, String>> {
    let obj = m
        .as_object()
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute metadata."))?;
    obj.iter()
        .map(|(k, v)| match v {
            Value::String(s) if !k.is_empty() && k.len() <= 255 && s.len() <= 255 => {
                Ok((k.clone(), s.clone()))
            }
            _ => Err(Fault::bad_request(format!(
                "Invalid input for field/attribute metadata. Value: {k}."
            ))),
        })
        .collect()
}

/// `POST /servers` → 202 with the first server's id, links and password.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let req = boot_request(&json_body(&body)?)?;
    let created = state.api.create_servers(&ctx, req).await?;
    let first = created
        .first()
        .ok_or_else(|| Fault::new(StatusCode::INTERNAL_SERVER_ERROR, "no server was created"))?;
    let base = state.base_url(&headers);
    let id = first.id.to_string();
    let body = json!({"server": {
        "id": id,
        "links": views::links(&base, "servers", &id),
        "adminPass": admin_pass(&first.id),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
    }});
    let mut resp = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}/v2.1/servers/{id}")) {
        resp.headers_mut().insert(http::header::LOCATION, loc);
    }
    Ok(resp)
}

/// A 12-character password shown once (the fake driver ignores it).
fn admin_pass(id: &InstanceId) -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("{}{}", &u[..8], &id.to_string()[..4])
}

/// The listing filter of a `GET /servers[/detail]` query.
fn filter_of(ctx: &RequestContext, q: &[(String, String)]) -> ApiResult<ServerFilter> {
    let mut f = ServerFilter::default();
    if let Some(all) = query_get(q, "all_tenants") {
        f.all_projects = all.is_empty() || crate::util::parse_bool(all).unwrap_or(true);
    }
    if ctx.is_admin() {
        if let Some(p) = query_get(q, "project_id").or_else(|| query_get(q, "tenant_id")) {
            f.project_id = nova_core::model::ProjectId::new(p).ok();
            f.all_projects = true;
        }
        if let Some(h) = query_get(q, "host") {
            f.host = Some(
                h.parse()
                    .map_err(|_| Fault::bad_request(format!("Invalid host {h}")))?,
            );
        }
    }
    f.name = query_get(q, "name").map(str::to_owned);
    if let Some(s) = query_get(q, "status") {
        f.status = Some(
            s.to_ascii_uppercase()
                .parse::<ServerStatus>()
                .map_err(|_| Fault::bad_request(format!("Invalid status value {s}")))?,
        );
    }
    if let Some(cs) = query_get(q, "changes-since").or_else(|| query_get(q, "changes_since")) {
        f.changes_since = Some(
            parse_iso(cs)
                .ok_or_else(|| Fault::bad_request(format!("Invalid changes-since value {cs}")))?,
        );
    }
    if let Some(l) = query_get(q, "limit") {
        let n: usize = l
            .parse()
            .map_err(|_| Fault::bad_request("limit param must be an integer"))?;
        f.limit = Some(n.min(1000));
    }
    if let Some(m) = query_get(q, "marker") {
        f.marker = Some(
            m.parse()
                .map_err(|_| Fault::bad_request(format!("marker [{m}] not found")))?,
        );
    }
    Ok(f)
}

async fn list_inner(
    state: &ApiState,
    ctx: &RequestContext,
    q: &[(String, String)],
) -> ApiResult<(Vec<Instance>, Option<usize>)> {
    let filter = filter_of(ctx, q)?;
    let limit = filter.limit;
    let servers = match state.api.list_servers(ctx, &filter).await {
        Err(nova_core::Error::NotFound { .. }) if filter.marker.is_some() => {
            return Err(Fault::bad_request(format!(
                "marker [{}] not found",
                query_get(q, "marker").unwrap_or("")
            )))
        }
        other => other?,
    };
    Ok((servers, limit))
}

fn next_link(base: &str, path: &str, q: &[(String, String)], last: &Instance) -> Value {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in q.iter().filter(|(k, _)| k != "marker") {
        ser.append_pair(k, v);
    }
    ser.append_pair("marker", &last.id.to_string());
    json!([{"rel": "next", "href": format!("{base}/v2.1/{path}?{}", ser.finish())}])
}

async fn listing(
    state: ApiState,
    ctx: RequestContext,
    v: Microversion,
    headers: HeaderMap,
    raw: Option<String>,
    detail: bool,
) -> ApiResult<Json<Value>> {
    let q = query_pairs(raw.as_deref());
    let (servers, limit) = list_inner(&state, &ctx, &q).await?;
    let base = state.base_url(&headers);
    let mut items = Vec::with_capacity(servers.len());
    for s in &servers {
        items.push(if detail {
            render(&state, &ctx, s, v, &base).await
        } else {
            views::server_brief(s, &base)
        });
    }
    let mut body = json!({ "servers": items });
    if let (Some(l), Some(last)) = (limit, servers.last()) {
        if servers.len() >= l && l > 0 {
            let path = if detail { "servers/detail" } else { "servers" };
            body["servers_links"] = next_link(&base, path, &q, last);
        }
    }
    Ok(Json(body))
}

/// `GET /servers`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    listing(state, ctx, v, headers, raw, false).await
}

/// `GET /servers/detail`.
pub(crate) async fn detail(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    listing(state, ctx, v, headers, raw, true).await
}

/// `GET /servers/{id}` (404 for names: OSC then searches by name).
pub(crate) async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(v): Extension<Microversion>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "Instance")?;
    let inst = state.api.get_server(&ctx, &id).await?;
    let base = state.base_url(&headers);
    Ok(Json(
        json!({"server": render(&state, &ctx, &inst, v, &base).await}),
    ))
}

/// `DELETE /servers/{id}` → 204.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "Instance")?;
    state.api.delete_server(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
