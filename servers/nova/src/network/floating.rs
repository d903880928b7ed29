//! `/v2.0/floatingips`: create from an external network (= a nova-core
//! floating pool), list, show, associate/disassociate by `port_id`,
//! delete.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use nova_core::model::{FloatingIp, FloatingIpId};
use nova_core::RequestContext;
use serde_json::{json, Value};

use super::{all_ports, filter_by, pool_network_id, port_id, NetResult, NeutronError};
use crate::state::ApiState;
use crate::util::{query_get, query_pairs};

fn view(f: &FloatingIp, caller: &RequestContext) -> Value {
    let project = f
        .project_id
        .as_ref()
        .map_or(caller.project_id.as_str(), |p| p.as_str());
    let port = match (&f.instance_id, f.fixed_address) {
        (Some(i), Some(a)) => Some(port_id(i, a)),
        _ => None,
    };
    json!({
        "id": f.id.to_string(),
        "floating_ip_address": f.address.to_string(),
        "floating_network_id": pool_network_id(&f.pool),
        "fixed_ip_address": f.fixed_address.map(|a| a.to_string()),
        "port_id": port,
        "router_id": null,
        "status": if f.instance_id.is_some() { "ACTIVE" } else { "DOWN" },
        "project_id": project,
        "tenant_id": project,
        "description": "",
        "tags": [],
        "port_details": null,
        "dns_domain": "",
        "dns_name": "",
        "qos_policy_id": null,
        "revision_number": 0,
    })
}

fn not_found(id: &str) -> NeutronError {
    NeutronError::not_found(
        "FloatingIPNotFound",
        format!("Floating IP {id} could not be found"),
    )
}

fn fip_id(id: &str) -> NetResult<FloatingIpId> {
    id.parse().map_err(|_| not_found(id))
}

fn body_of(body: &Bytes) -> NetResult<serde_json::Map<String, Value>> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| NeutronError::bad_request(format!("Malformed request body: {e}")))?;
    v.get("floatingip")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| NeutronError::bad_request("Resource body required"))
}

/// Associates `f` with the server and address behind `port`, or
/// disassociates it when `port` is `None`.
async fn set_port(
    state: &ApiState,
    ctx: &RequestContext,
    f: &FloatingIpId,
    port: Option<&str>,
) -> NetResult<FloatingIp> {
    let Some(port) = port else {
        return Ok(state.api.disassociate_floating_ip(ctx, f).await?);
    };
    let (_, server, addr) = all_ports(state, ctx, None)
        .await?
        .into_iter()
        .find(|(v, _, _)| v.get("id").and_then(Value::as_str) == Some(port))
        .ok_or_else(|| {
            NeutronError::not_found("PortNotFound", format!("Port {port} could not be found."))
        })?;
    Ok(state
        .api
        .associate_floating_ip(ctx, f, &server, Some(addr))
        .await?)
}

fn port_arg(body: &serde_json::Map<String, Value>) -> NetResult<Option<Option<String>>> {
    match body.get("port_id") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(NeutronError::bad_request("Invalid input for port_id.")),
    }
}

pub(super) async fn create(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> NetResult<Response> {
    let body = body_of(&body)?;
    let net = body
        .get("floating_network_id")
        .and_then(Value::as_str)
        .ok_or_else(|| NeutronError::bad_request("Invalid input for floating_network_id."))?;
    let pools = state.api.list_floating_pools(&ctx).await?;
    let pool = pools
        .iter()
        .find(|p| pool_network_id(p) == net || p.as_str() == net)
        .ok_or_else(|| {
            NeutronError::not_found(
                "ExternalNetworkNotFound",
                format!("Network {net} could not be found."),
            )
        })?;
    let mut f = state.api.allocate_floating_ip(&ctx, Some(pool)).await?;
    if let Some(Some(port)) = port_arg(&body)? {
        f = set_port(&state, &ctx, &f.id, Some(&port)).await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"floatingip": view(&f, &ctx)})),
    )
        .into_response())
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(raw): RawQuery,
) -> NetResult<Json<Value>> {
    let q = query_pairs(raw.as_deref());
    let all = ctx.is_admin() && query_get(&q, "project_id").is_none();
    let fips: Vec<Value> = state
        .api
        .list_floating_ips(&ctx, all)
        .await?
        .iter()
        .map(|f| view(f, &ctx))
        .collect();
    let keys = [
        "id",
        "floating_ip_address",
        "floating_network_id",
        "fixed_ip_address",
        "port_id",
        "project_id",
        "status",
    ];
    Ok(Json(json!({"floatingips": filter_by(fips, &q, &keys)})))
}

pub(super) async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> NetResult<Json<Value>> {
    let f = state
        .api
        .get_floating_ip(&ctx, &fip_id(&id)?)
        .await
        .map_err(|e| match e {
            nova_core::Error::NotFound { .. } => not_found(&id),
            e => e.into(),
        })?;
    Ok(Json(json!({"floatingip": view(&f, &ctx)})))
}

pub(super) async fn update(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    body: Bytes,
) -> NetResult<Json<Value>> {
    let fid = fip_id(&id)?;
    let body = body_of(&body)?;
    let f = match port_arg(&body)? {
        Some(port) => set_port(&state, &ctx, &fid, port.as_deref()).await?,
        None => state.api.get_floating_ip(&ctx, &fid).await?,
    };
    Ok(Json(json!({"floatingip": view(&f, &ctx)})))
}

pub(super) async fn delete(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> NetResult<StatusCode> {
    state
        .api
        .release_floating_ip(&ctx, &fip_id(&id)?)
        .await
        .map_err(|e| match e {
            nova_core::Error::NotFound { .. } => not_found(&id),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
