//! `GET /limits` and `/os-quota-sets/{project}[/detail|/defaults]`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use nova_core::api::QuotaReport;
use nova_core::model::{ProjectId, QuotaLimits, QuotaResource};
use nova_core::RequestContext;
use serde_json::{json, Map, Value};

use super::json_body;
use crate::fault::{ApiResult, Fault};
use crate::state::ApiState;
use crate::util::int_of;

/// Quota fields nova reports that nova-core does not track, with nova's
/// defaults (≤2.35 set).
const FIXED: [(&str, i64); 11] = [
    ("fixed_ips", -1),
    ("metadata_items", 128),
    ("injected_files", 5),
    ("injected_file_content_bytes", 10240),
    ("injected_file_path_bytes", 255),
    ("key_pairs", 100),
    ("security_groups", 10),
    ("security_group_rules", 20),
    ("server_groups", 10),
    ("server_group_members", 10),
    ("networks", -1),
];

/// The compute resources shown in quota sets.
const COMPUTE: [QuotaResource; 4] = [
    QuotaResource::Instances,
    QuotaResource::Cores,
    QuotaResource::Ram,
    QuotaResource::FloatingIps,
];

fn limit(l: &QuotaLimits, r: QuotaResource) -> i64 {
    l.get(r).and_then(|n| i64::try_from(n).ok()).unwrap_or(-1)
}

fn used(rep: &QuotaReport, r: QuotaResource) -> (u64, u64) {
    rep.usage.get(&r).map_or((0, 0), |u| (u.in_use, u.reserved))
}

fn quota_set(limits: &QuotaLimits, id: Option<&str>, detail: Option<&QuotaReport>) -> Value {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), json!(id));
    }
    for r in COMPUTE {
        let l = limit(limits, r);
        let v = match detail {
            Some(rep) => {
                let (in_use, reserved) = used(rep, r);
                json!({"limit": l, "in_use": in_use, "reserved": reserved})
            }
            None => json!(l),
        };
        m.insert(r.as_str().into(), v);
    }
    for (k, n) in FIXED {
        let v = match detail {
            Some(_) => json!({"limit": n, "in_use": 0, "reserved": 0}),
            None => json!(n),
        };
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

fn project(p: &str) -> ApiResult<ProjectId> {
    ProjectId::new(p).map_err(|_| Fault::bad_request(format!("Invalid project id {p}")))
}

/// `GET /limits`.
pub(crate) async fn limits(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
) -> ApiResult<Json<Value>> {
    let rep = state.api.quotas(&ctx, &ctx.project_id.clone()).await?;
    let l = |r| limit(&rep.limits, r);
    let u = |r| used(&rep, r).0;
    Ok(Json(json!({"limits": {"rate": [], "absolute": {
        "maxTotalInstances": l(QuotaResource::Instances),
        "maxTotalCores": l(QuotaResource::Cores),
        "maxTotalRAMSize": l(QuotaResource::Ram),
        "maxTotalFloatingIps": l(QuotaResource::FloatingIps),
        "maxTotalKeypairs": 100,
        "maxServerMeta": 128,
        "maxImageMeta": 128,
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxSecurityGroups": 10,
        "maxSecurityGroupRules": 20,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "totalInstancesUsed": u(QuotaResource::Instances),
        "totalCoresUsed": u(QuotaResource::Cores),
        "totalRAMUsed": u(QuotaResource::Ram),
        "totalFloatingIpsUsed": u(QuotaResource::FloatingIps),
        "totalSecurityGroupsUsed": 0,
        "totalServerGroupsUsed": 0,
    }}})))
}

/// `GET /os-quota-sets/{project}`.
pub(crate) async fn show(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(p): Path<String>,
) -> ApiResult<Json<Value>> {
    let rep = state.api.quotas(&ctx, &project(&p)?).await?;
    Ok(Json(
        json!({"quota_set": quota_set(&rep.limits, Some(&p), None)}),
    ))
}

/// `GET /os-quota-sets/{project}/detail`.
pub(crate) async fn detail(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(p): Path<String>,
) -> ApiResult<Json<Value>> {
    let rep = state.api.quotas(&ctx, &project(&p)?).await?;
    Ok(Json(
        json!({"quota_set": quota_set(&rep.limits, Some(&p), Some(&rep))}),
    ))
}

/// `GET /os-quota-sets/{project}/defaults`.
pub(crate) async fn defaults(Path(p): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"quota_set": quota_set(&QuotaLimits::default(), Some(&p), None)}),
    ))
}

/// `PUT /os-quota-sets/{project}` (admin): sets the given limits (-1 =
/// unlimited); unknown keys are refused, untracked known ones ignored.
pub(crate) async fn update(
    State(state): State<ApiState>,
    Extension(ctx): Extension<RequestContext>,
    Path(p): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let pid = project(&p)?;
    let body = json_body(&body)?;
    let qs = body
        .get("quota_set")
        .and_then(Value::as_object)
        .ok_or_else(|| Fault::bad_request("Invalid input for field/attribute quota_set."))?;
    let mut updates = Vec::new();
    for (k, v) in qs {
        if k == "force" {
            continue;
        }
        let n = int_of(v)
            .filter(|n| *n >= -1)
            .ok_or_else(|| Fault::bad_request(format!("Invalid input for field/attribute {k}.")))?;
        match COMPUTE.iter().find(|r| r.as_str() == k) {
            Some(r) => updates.push((*r, u64::try_from(n).ok())),
            None if FIXED.iter().any(|(f, _)| f == k) => {}
            None => {
                return Err(Fault::bad_request(format!(
                    "Additional properties are not allowed ('{k}' was unexpected)"
                )))
            }
        }
    }
    let mut limits = state.api.quotas(&ctx, &pid).await?.limits;
    for (r, n) in updates {
        limits.set(r, n);
    }
    let rep = state.api.set_quotas(&ctx, &pid, limits).await?;
    Ok(Json(
        json!({"quota_set": quota_set(&rep.limits, None, None)}),
    ))
}
