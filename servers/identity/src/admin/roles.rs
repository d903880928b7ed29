//! `/v3/roles`, grants on projects and domains, and `/v3/role_assignments`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use identity_core::model::{AssignmentFilter, RoleAssignment};
use identity_core::{AssignmentTarget, DomainId, ProjectId, RoleId, UserId};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{collection, flag, list_filter, member_body, path_id, require_admin, Params};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{views, AppState};

pub(crate) async fn list_roles(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let base = s.public_url();
    let list = if q.contains_key("domain_id") {
        // Every role is global: none belongs to a domain.
        Vec::new()
    } else {
        s.identity().list_roles(&list_filter(&q)?).await?
    };
    let items = list.iter().map(|r| views::role(r, base)).collect();
    Ok(collection("roles", items, base, "/v3/roles"))
}

pub(crate) async fn show_role(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let id = path_id("role", id, RoleId::new)?;
    let r = s.identity().get_role(&id).await?;
    Ok(Json(json!({"role": views::role(&r, s.public_url())})))
}

#[derive(Debug, Deserialize)]
struct CreateRole {
    name: String,
    description: Option<String>,
    domain_id: Option<String>,
}

pub(crate) async fn create_role(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let req: CreateRole = member_body(&body, "role")?;
    if req.domain_id.is_some() {
        return Err(ApiError::BadRequest(
            "domain-specific roles are not supported".into(),
        ));
    }
    let r = s
        .identity()
        .create_role(&req.name, req.description.as_deref())
        .await?;
    let body = json!({"role": views::role(&r, s.public_url())});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(crate) async fn delete_role(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    let id = path_id("role", id, RoleId::new)?;
    s.identity().delete_role(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The grant named by `/v3/{projects|domains}/{target}/users/{user}/roles/{role}`.
fn grant_path<const DOMAIN: bool>(
    (target, user, role): (String, String, String),
) -> ApiResult<RoleAssignment> {
    let target = if DOMAIN {
        AssignmentTarget::Domain(path_id("domain", target, DomainId::new)?)
    } else {
        AssignmentTarget::Project(path_id("project", target, ProjectId::new)?)
    };
    Ok(RoleAssignment {
        user_id: path_id("user", user, UserId::new)?,
        target,
        role_id: path_id("role", role, RoleId::new)?,
    })
}

/// `PUT`: grants the role (idempotent), 204.
pub(crate) async fn grant<const DOMAIN: bool>(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(p): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    s.identity().grant_role(&grant_path::<DOMAIN>(p)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `HEAD`/`GET`: 204 when the grant exists, 404 otherwise.
pub(crate) async fn check_grant<const DOMAIN: bool>(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(p): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    s.identity().check_role(&grant_path::<DOMAIN>(p)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE`: removes the grant, 204; 404 when absent.
pub(crate) async fn revoke<const DOMAIN: bool>(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(p): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    s.identity().revoke_role(&grant_path::<DOMAIN>(p)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The filter of `GET /v3/role_assignments`; `None` when it can match
/// nothing (groups, system scope, inheritance, malformed ids).
fn assignment_filter(q: &Params) -> ApiResult<Option<AssignmentFilter>> {
    if ["group.id", "scope.system", "scope.OS-INHERIT:inherited_to"]
        .iter()
        .any(|k| q.contains_key(*k))
    {
        return Ok(None);
    }
    let (project, domain) = (q.get("scope.project.id"), q.get("scope.domain.id"));
    if project.is_some() && domain.is_some() {
        return Err(ApiError::BadRequest(
            "Specify either a domain or project, not both".into(),
        ));
    }
    if flag(q, "include_subtree") && project.is_none() {
        return Err(ApiError::BadRequest(
            "include_subtree needs scope.project.id".into(),
        ));
    }
    let target = match (project, domain) {
        (Some(p), _) => match ProjectId::new(p.as_str()) {
            Ok(p) => Some(AssignmentTarget::Project(p)),
            Err(_) => return Ok(None),
        },
        (None, Some(d)) => match DomainId::new(d.as_str()) {
            Ok(d) => Some(AssignmentTarget::Domain(d)),
            Err(_) => return Ok(None),
        },
        (None, None) => None,
    };
    let user_id = match q.get("user.id").map(|u| UserId::new(u.as_str())) {
        Some(Ok(u)) => Some(u),
        Some(Err(_)) => return Ok(None),
        None => None,
    };
    let role_id = match q.get("role.id").map(|r| RoleId::new(r.as_str())) {
        Some(Ok(r)) => Some(r),
        Some(Err(_)) => return Ok(None),
        None => None,
    };
    Ok(Some(AssignmentFilter {
        user_id,
        target,
        role_id,
    }))
}

/// `GET /v3/role_assignments`. Every assignment is a direct user grant, so
/// `?effective` lists the same ones.
pub(crate) async fn list_assignments(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let base = s.public_url();
    let list = match assignment_filter(&q)? {
        Some(f) => s.identity().list_role_assignments(&f).await?,
        None => Vec::new(),
    };
    let items = if flag(&q, "include_names") {
        let named = s.identity().name_assignments(list).await?;
        named
            .iter()
            .map(|n| views::named_assignment(n, base))
            .collect()
    } else {
        list.iter().map(|a| views::assignment(a, base)).collect()
    };
    Ok(collection(
        "role_assignments",
        items,
        base,
        "/v3/role_assignments",
    ))
}
