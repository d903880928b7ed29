//! `/v3/domains` (read only) and `/v3/projects`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use identity_core::service::{NewProject, ProjectUpdate};
use identity_core::{DomainId, ProjectId};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    caller_domain, collection, forbidden, list_filter, member_body, path_id, require_admin, Params,
};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{views, AppState};

pub(crate) async fn list_domains(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let base = s.public_url();
    let list = s.identity().list_domains(&list_filter(&q)?).await?;
    let items = list.iter().map(|d| views::domain_view(d, base)).collect();
    Ok(collection("domains", items, base, "/v3/domains"))
}

pub(crate) async fn show_domain(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = path_id("domain", id, DomainId::new)?;
    let own = caller.0.token.user.domain.id == id || *caller_domain(&caller) == id;
    if !caller.is_admin() && !own {
        return Err(forbidden());
    }
    let d = s.identity().get_domain(&id).await?;
    Ok(Json(
        json!({"domain": views::domain_view(&d, s.public_url())}),
    ))
}

pub(crate) async fn list_projects(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let base = s.public_url();
    let list = s.identity().list_projects(&list_filter(&q)?).await?;
    let items = list.iter().map(|p| views::project(p, base)).collect();
    Ok(collection("projects", items, base, "/v3/projects"))
}

#[derive(Debug, Deserialize)]
struct CreateProject {
    name: String,
    domain_id: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    #[serde(default)]
    is_domain: bool,
    parent_id: Option<String>,
}

fn bad(m: &str) -> ApiError {
    ApiError::BadRequest(m.into())
}

pub(crate) async fn create_project(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let req: CreateProject = member_body(&body, "project")?;
    if req.is_domain {
        return Err(bad("projects acting as domains are not supported"));
    }
    let domain_id = match req.domain_id {
        Some(d) => DomainId::new(d).map_err(|_| bad("invalid domain_id"))?,
        None => caller_domain(&caller).clone(),
    };
    if req.parent_id.is_some_and(|p| p != domain_id.as_str()) {
        return Err(bad(
            "project hierarchies are not supported: parent_id must be the domain",
        ));
    }
    let new = NewProject {
        description: req.description.unwrap_or_default(),
        enabled: req.enabled.unwrap_or(true),
        ..NewProject::new(domain_id, req.name)
    };
    let p = s.identity().create_project_with(&new).await?;
    let body = json!({"project": views::project(&p, s.public_url())});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(crate) async fn show_project(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = path_id("project", id, ProjectId::new)?;
    if !caller.is_admin() {
        let mine = s
            .identity()
            .projects_for_user(&caller.0.token.user.id)
            .await?;
        if !mine.iter().any(|p| p.id == id) {
            return Err(forbidden());
        }
    }
    let project = s.identity().get_project(&id).await?;
    Ok(Json(
        json!({"project": views::project(&project, s.public_url())}),
    ))
}

#[derive(Debug, Deserialize)]
struct PatchProject {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    domain_id: Option<String>,
}

pub(crate) async fn update_project(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let id = path_id("project", id, ProjectId::new)?;
    let req: PatchProject = member_body(&body, "project")?;
    if let Some(d) = req.domain_id {
        if s.identity().get_project(&id).await?.domain_id.as_str() != d {
            return Err(bad("Cannot change the domain of a project"));
        }
    }
    let update = ProjectUpdate {
        name: req.name,
        description: req.description,
        enabled: req.enabled,
    };
    let p = s.identity().update_project(&id, &update).await?;
    Ok(Json(json!({"project": views::project(&p, s.public_url())})))
}

pub(crate) async fn delete_project(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    let id = path_id("project", id, ProjectId::new)?;
    s.identity().delete_project(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
