//! Hosts as the API shows them: `os-availability-zone[/detail]`,
//! `os-hypervisors[/detail|/{id}]` and `os-services`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use nova_core::model::ComputeHost;
use nova_core::RequestContext;
use serde_json::{json, Map, Value};

use super::json_body;
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;
use crate::util::iso_micros;

/// `GET /os-availability-zone`: zones without hosts.
pub(crate) async fn zones(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let zones = state.api.availability_zones(&ctx).await?;
    let items: Vec<Value> = zones
        .iter()
        .map(|z| json!({"zoneName": z.name.as_str(), "zoneState": {"available": z.available}, "hosts": null}))
        .collect();
    Ok(Json(json!({ "availabilityZoneInfo": items })))
}

/// `GET /os-availability-zone/detail` (admin): zones with their hosts.
pub(crate) async fn zones_detail(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    if !ctx.is_admin() {
        return Err(Fault::forbidden(
            "Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.",
        ));
    }
    let zones = state.api.availability_zones(&ctx).await?;
    let beats: Vec<(ComputeHost, bool)> = state.api.list_hosts(&ctx).await.unwrap_or_default();
    let items: Vec<Value> = zones
        .iter()
        .map(|z| {
            let mut hosts = Map::new();
            for (name, (enabled, up)) in &z.hosts {
                let updated = beats
                    .iter()
                    .find(|(h, _)| &h.host == name)
                    .map(|(h, _)| iso_micros(h.last_heartbeat));
                hosts.insert(
                    name.as_str().to_owned(),
                    json!({"nova-compute": {"available": up, "active": enabled, "updated_at": updated}}),
                );
            }
            json!({"zoneName": z.name.as_str(), "zoneState": {"available": z.available}, "hosts": hosts})
        })
        .collect();
    Ok(Json(json!({ "availabilityZoneInfo": items })))
}

/// One view per host, numbered from 1 in listing order (the integer ids
/// nova shows before 2.53).
fn numbered(
    hs: &[(ComputeHost, bool)],
    view: fn(usize, &ComputeHost, bool) -> Value,
) -> Vec<Value> {
    hs.iter()
        .enumerate()
        .map(|(i, (h, up))| view(i + 1, h, *up))
        .collect()
}

async fn hosts(state: &ApiState, ctx: &RequestContext) -> ApiResult<Vec<(ComputeHost, bool)>> {
    if !ctx.is_admin() {
        return Err(Fault::forbidden(
            "Policy doesn't allow os_compute_api:os-hypervisors:list to be performed.",
        ));
    }
    let mut h = state.api.list_hosts(ctx).await?;
    h.sort_by(|a, b| a.0.host.cmp(&b.0.host));
    Ok(h)
}

fn hypervisor_brief(id: usize, h: &ComputeHost, up: bool) -> Value {
    json!({
        "id": id,
        "hypervisor_hostname": h.host.as_str(),
        "state": if up { "up" } else { "down" },
        "status": if h.enabled { "enabled" } else { "disabled" },
    })
}

fn hypervisor_detail(id: usize, h: &ComputeHost, up: bool) -> Value {
    let mut v = hypervisor_brief(id, h, up);
    let free = h.free();
    let extra = json!({
        "vcpus": h.total.vcpus,
        "memory_mb": h.total.memory_mb,
        "local_gb": h.total.disk_gb,
        "vcpus_used": h.used.vcpus,
        "memory_mb_used": h.used.memory_mb,
        "local_gb_used": h.used.disk_gb,
        "hypervisor_type": h.hypervisor_type,
        "hypervisor_version": 1000,
        "free_ram_mb": free.memory_mb,
        "free_disk_gb": free.disk_gb,
        "current_workload": 0,
        "running_vms": h.running_vms,
        "disk_available_least": free.disk_gb,
        "host_ip": h.host_ip.map_or_else(|| "127.0.0.1".to_owned(), |a| a.to_string()),
        "cpu_info": "{}",
        "service": {
            "id": id,
            "host": h.host.as_str(),
            "disabled_reason": h.disabled_reason,
        },
    });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    v
}

/// `GET /os-hypervisors` (admin).
pub(crate) async fn hypervisors(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let hs = hosts(&state, &ctx).await?;
    let items = numbered(&hs, hypervisor_brief);
    Ok(Json(json!({ "hypervisors": items })))
}

/// `GET /os-hypervisors/detail` (admin).
pub(crate) async fn hypervisors_detail(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let hs = hosts(&state, &ctx).await?;
    let items = numbered(&hs, hypervisor_detail);
    Ok(Json(json!({ "hypervisors": items })))
}

/// `GET /os-hypervisors/{id}` (admin; integer ids before 2.53).
pub(crate) async fn hypervisor(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let hs = hosts(&state, &ctx).await?;
    let not_found = || Fault::not_found(format!("Hypervisor with ID '{id}' could not be found."));
    let n: usize = id.parse().map_err(|_| not_found())?;
    let (h, up) = n
        .checked_sub(1)
        .and_then(|i| hs.get(i))
        .ok_or_else(not_found)?;
    Ok(Json(json!({"hypervisor": hypervisor_detail(n, h, *up)})))
}

fn service_view(id: usize, h: &ComputeHost, up: bool) -> Value {
    json!({
        "id": id,
        "binary": "nova-compute",
        "host": h.host.as_str(),
        "zone": h.zone.as_str(),
        "status": if h.enabled { "enabled" } else { "disabled" },
        "state": if up { "up" } else { "down" },
        "updated_at": iso_micros(h.last_heartbeat),
        "disabled_reason": h.disabled_reason,
    })
}

/// `GET /os-services` (admin).
pub(crate) async fn services(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let hs = hosts(&state, &ctx).await?;
    let items = numbered(&hs, service_view);
    Ok(Json(json!({ "services": items })))
}

/// `PUT /os-services/{enable|disable|disable-log-reason}` (≤2.52 form).
pub(crate) async fn service_update(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(op): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = json_body(&body)?;
    let host = body
        .get("host")
        .and_then(Value::as_str)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute host."))?;
    let host = host
        .parse()
        .map_err(|_| Fault::not_found(format!("Compute host {host} could not be found.")))?;
    let reason = body
        .get("disabled_reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let enabled = match op.as_str() {
        "enable" => true,
        "disable" | "disable-log-reason" => false,
        other => return Err(Fault::not_found(format!("Unknown action {other}"))),
    };
    let h = state
        .api
        .set_host_enabled(&ctx, &host, enabled, reason.clone())
        .await?;
    let mut svc = json!({
        "host": h.host.as_str(),
        "binary": "nova-compute",
        "status": if h.enabled { "enabled" } else { "disabled" },
    });
    if op == "disable-log-reason" {
        svc["disabled_reason"] = json!(reason);
    }
    Ok(Json(json!({ "service": svc })))
}
