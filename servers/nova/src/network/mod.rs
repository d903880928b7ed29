//! The Networking v2.0 subset the `openstack` CLI needs, over
//! [`nova_core::ComputeApi`]: networks (the project's fixed networks plus
//! one external network per floating IP pool), subnets, ports derived from
//! servers' fixed IPs, and floating IPs. Neutron's error body
//! `{"NeutronError":{"type","message","detail"}}`.

mod floating;

use std::net::Ipv4Addr;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use nova_core::api::ServerFilter;
use nova_core::model::{FixedIp, Instance, InstanceId, Network, NetworkMode};
use nova_core::{Error, RequestContext};
use serde_json::{json, Value};

use crate::auth::require_token;
use crate::state::ApiState;
use crate::util::{derived_uuid, query_get, query_pairs};

/// An error answer of the Networking API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeutronError {
    status: StatusCode,
    kind: String,
    message: String,
}

impl NeutronError {
    pub(crate) fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: kind.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(kind: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, kind, message)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "HTTPBadRequest", message)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<Error> for NeutronError {
    fn from(e: Error) -> Self {
        let (status, kind) = match e.kind() {
            "NotFound" => (StatusCode::NOT_FOUND, "NotFound"),
            "AlreadyExists" | "Conflict" => (StatusCode::CONFLICT, "Conflict"),
            "InvalidInput" => (StatusCode::BAD_REQUEST, "HTTPBadRequest"),
            "Forbidden" => (StatusCode::FORBIDDEN, "PolicyNotAuthorized"),
            "QuotaExceeded" => (StatusCode::CONFLICT, "OverQuota"),
            "NoMoreAddresses" => (StatusCode::CONFLICT, "IpAddressGenerationFailure"),
            "Unavailable" | "Timeout" => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "HTTPInternalServerError"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "request failed");
            return Self::new(
                status,
                kind,
                "Request Failed: internal server error while processing your request.",
            );
        }
        Self::new(status, kind, e.to_string())
    }
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let body =
            json!({"NeutronError": {"type": self.kind, "message": self.message, "detail": ""}});
        (self.status, Json(body)).into_response()
    }
}

pub(crate) type NetResult<T> = Result<T, NeutronError>;

/// The id of the external network standing for floating pool `pool`.
pub(crate) fn pool_network_id(pool: &str) -> String {
    derived_uuid(&["floating-pool", pool]).to_string()
}

/// The id of the (single) subnet of a fixed network.
fn subnet_id(net: &Network) -> String {
    derived_uuid(&["subnet", &net.id.to_string()]).to_string()
}

/// The id of the port of a server's fixed address.
pub(crate) fn port_id(server: &InstanceId, addr: Ipv4Addr) -> String {
    derived_uuid(&["port", &server.to_string(), &addr.to_string()]).to_string()
}

fn network_view(net: &Network, owner: &str) -> Value {
    let project = net.project_id.as_ref().map_or(owner, |p| p.as_str());
    json!({
        "id": net.id.to_string(), "name": net.label, "status": "ACTIVE", "admin_state_up": true,
        "shared": net.project_id.is_none(), "subnets": [subnet_id(net)], "tenant_id": project,
        "project_id": project, "router:external": false, "mtu": 1500, "description": "",
        "availability_zones": ["nova"], "tags": [], "port_security_enabled": true,
        "provider:network_type": match net.mode { NetworkMode::Vlan => "vlan", _ => "flat" },
    })
}

fn pool_view(pool: &str, owner: &str) -> Value {
    json!({
        "id": pool_network_id(pool), "name": pool, "status": "ACTIVE", "admin_state_up": true,
        "shared": false, "subnets": [], "tenant_id": owner, "project_id": owner,
        "router:external": true, "mtu": 1500, "description": "", "availability_zones": ["nova"],
        "tags": [], "port_security_enabled": true, "is_default": true,
    })
}

/// Keeps the items whose field equals each filter given in the query.
pub(crate) fn filter_by(items: Vec<Value>, q: &[(String, String)], keys: &[&str]) -> Vec<Value> {
    items
        .into_iter()
        .filter(|item| {
            keys.iter().all(|k| match query_get(q, k) {
                None => true,
                Some(want) => match item.get(*k) {
                    Some(Value::String(s)) => s == want,
                    Some(Value::Bool(b)) => want.eq_ignore_ascii_case(&b.to_string()),
                    Some(Value::Null) => want.is_empty(),
                    Some(other) => *other == want,
                    None => false,
                },
            })
        })
        .collect()
}

async fn all_networks(state: &ApiState, ctx: &RequestContext) -> NetResult<Vec<Value>> {
    let owner = ctx.project_id.as_str();
    let mut out: Vec<Value> = state
        .api
        .list_networks(ctx)
        .await?
        .iter()
        .map(|n| network_view(n, owner))
        .collect();
    for pool in state.api.list_floating_pools(ctx).await? {
        out.push(pool_view(&pool, owner));
    }
    Ok(out)
}

async fn networks(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(raw): RawQuery,
) -> NetResult<Json<Value>> {
    let q = query_pairs(raw.as_deref());
    let nets = filter_by(
        all_networks(&state, &ctx).await?,
        &q,
        &["id", "name", "router:external", "shared"],
    );
    Ok(Json(json!({ "networks": nets })))
}

async fn network(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> NetResult<Json<Value>> {
    let net = all_networks(&state, &ctx)
        .await?
        .into_iter()
        .find(|n| n.get("id").and_then(Value::as_str) == Some(&id))
        .ok_or_else(|| {
            NeutronError::not_found(
                "NetworkNotFound",
                format!("Network {id} could not be found."),
            )
        })?;
    Ok(Json(json!({ "network": net })))
}

async fn all_subnets(state: &ApiState, ctx: &RequestContext) -> NetResult<Vec<Value>> {
    let owner = ctx.project_id.as_str();
    Ok(state
        .api
        .list_networks(ctx)
        .await?
        .iter()
        .map(|n| {
            let project = n.project_id.as_ref().map_or(owner, |p| p.as_str());
            json!({
                "id": subnet_id(n), "name": n.label, "network_id": n.id.to_string(),
                "cidr": n.cidr.to_string(), "gateway_ip": n.gateway.to_string(), "ip_version": 4,
                "enable_dhcp": n.mode != NetworkMode::Flat,
                "dns_nameservers": n.dns.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                "allocation_pools": [], "host_routes": [], "tenant_id": project,
                "project_id": project, "description": "", "tags": [],
            })
        })
        .collect())
}

async fn subnets(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(raw): RawQuery,
) -> NetResult<Json<Value>> {
    let q = query_pairs(raw.as_deref());
    let subnets = filter_by(
        all_subnets(&state, &ctx).await?,
        &q,
        &["id", "name", "network_id"],
    );
    Ok(Json(json!({ "subnets": subnets })))
}

async fn subnet(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> NetResult<Json<Value>> {
    let s = all_subnets(&state, &ctx)
        .await?
        .into_iter()
        .find(|n| n.get("id").and_then(Value::as_str) == Some(&id))
        .ok_or_else(|| {
            NeutronError::not_found("SubnetNotFound", format!("Subnet {id} could not be found."))
        })?;
    Ok(Json(json!({ "subnet": s })))
}

fn port_view(inst: &Instance, ip: &FixedIp, subnet: Option<String>) -> Value {
    let project = inst.project_id.as_str();
    json!({
        "id": port_id(&inst.id, ip.address), "name": "", "network_id": ip.network_id.to_string(),
        "device_id": inst.id.to_string(), "device_owner": "compute:nova",
        "fixed_ips": [{"ip_address": ip.address.to_string(), "subnet_id": subnet}],
        "mac_address": ip.mac, "status": "ACTIVE", "admin_state_up": true,
        "tenant_id": project, "project_id": project, "security_groups": [],
        "binding:vnic_type": "normal", "description": "", "tags": [],
    })
}

/// Ports of the servers the caller sees (one per fixed IP), with the
/// server and address each stands for.
pub(crate) async fn all_ports(
    state: &ApiState,
    ctx: &RequestContext,
    device: Option<&str>,
) -> NetResult<Vec<(Value, InstanceId, Ipv4Addr)>> {
    let servers = match device {
        Some(d) => match d.parse::<InstanceId>() {
            Ok(id) => match state.api.get_server(ctx, &id).await {
                Ok(s) => vec![s],
                Err(Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(e.into()),
            },
            Err(_) => Vec::new(),
        },
        None => {
            state
                .api
                .list_servers(ctx, &ServerFilter::default())
                .await?
        }
    };
    let nets = state.api.list_networks(ctx).await.unwrap_or_default();
    let mut out = Vec::new();
    for s in servers {
        for ip in state.api.fixed_ips(ctx, &s.id).await.unwrap_or_default() {
            let subnet = nets.iter().find(|n| n.id == ip.network_id).map(subnet_id);
            out.push((port_view(&s, &ip, subnet), s.id, ip.address));
        }
    }
    Ok(out)
}

async fn ports(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(raw): RawQuery,
) -> NetResult<Json<Value>> {
    let q = query_pairs(raw.as_deref());
    let ports = all_ports(&state, &ctx, query_get(&q, "device_id")).await?;
    let views = filter_by(
        ports.into_iter().map(|p| p.0).collect(),
        &q,
        &["id", "network_id", "device_owner", "mac_address"],
    );
    Ok(Json(json!({ "ports": views })))
}

async fn port(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> NetResult<Json<Value>> {
    let p = all_ports(&state, &ctx, None)
        .await?
        .into_iter()
        .map(|p| p.0)
        .find(|p| p.get("id").and_then(Value::as_str) == Some(&id))
        .ok_or_else(|| {
            NeutronError::not_found("PortNotFound", format!("Port {id} could not be found."))
        })?;
    Ok(Json(json!({ "port": p })))
}

async fn versions(State(state): State<ApiState>, headers: HeaderMap) -> Json<Value> {
    let base = state.base_url(&headers);
    Json(json!({"versions": [{"id": "v2.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": format!("{base}/v2.0/")}]}]}))
}

async fn resources() -> Json<Value> {
    Json(json!({"resources": []}))
}

async fn extensions() -> Json<Value> {
    Json(json!({"extensions": []}))
}

async fn extension(Path(alias): Path<String>) -> NeutronError {
    NeutronError::not_found(
        "ExtensionNotFound",
        format!("Extension with alias {alias} does not exist"),
    )
}

async fn not_found() -> NeutronError {
    NeutronError::not_found("HTTPNotFound", "The resource could not be found.")
}

/// The Networking v2.0 router.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/v2.0/networks", get(networks))
        .route("/v2.0/networks/{id}", get(network))
        .route("/v2.0/subnets", get(subnets))
        .route("/v2.0/subnets/{id}", get(subnet))
        .route("/v2.0/ports", get(ports))
        .route("/v2.0/ports/{id}", get(port))
        .route(
            "/v2.0/floatingips",
            get(floating::list).post(floating::create),
        )
        .route(
            "/v2.0/floatingips/{id}",
            get(floating::show)
                .put(floating::update)
                .delete(floating::delete),
        )
        .route("/v2.0/extensions", get(extensions))
        .route("/v2.0/extensions/{alias}", get(extension))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/", get(versions))
        .route("/v2.0", get(resources))
        .route("/v2.0/", get(resources))
        .merge(api)
        .fallback(not_found)
        .with_state(state)
}
