//! `/v3/users`: CRUD, the user's projects and the self-service password change.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use identity_core::service::{NewUser, UserUpdate};
use identity_core::{DomainId, Password, ProjectId, UserId};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::{
    caller_domain, collection, forbidden, list_filter, member_body, path_id, require_admin, Params,
};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{views, AppState};

fn bad(m: &str) -> ApiError {
    ApiError::BadRequest(m.into())
}

fn project_id(p: Option<String>) -> ApiResult<Option<ProjectId>> {
    p.map(|p| ProjectId::new(p).map_err(|_| bad("invalid default_project_id")))
        .transpose()
}

/// Present-but-null becomes `Some(None)`, absent stays `None`.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

pub(crate) async fn list_users(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let base = s.public_url();
    let list = s.identity().list_users(&list_filter(&q)?).await?;
    let items = list.iter().map(|u| views::user(u, base)).collect();
    Ok(collection("users", items, base, "/v3/users"))
}

#[derive(Debug, Deserialize)]
struct CreateUser {
    name: String,
    domain_id: Option<String>,
    password: Option<Password>,
    default_project_id: Option<String>,
    enabled: Option<bool>,
}

pub(crate) async fn create_user(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    require_admin(&caller)?;
    let req: CreateUser = member_body(&body, "user")?;
    let domain_id = match req.domain_id {
        Some(d) => DomainId::new(d).map_err(|_| bad("invalid domain_id"))?,
        None => caller_domain(&caller).clone(),
    };
    let new = NewUser {
        password: req.password,
        default_project_id: project_id(req.default_project_id)?,
        enabled: req.enabled.unwrap_or(true),
        ..NewUser::new(domain_id, req.name)
    };
    let u = s.identity().create_user_with(&new).await?;
    let body = json!({"user": views::user(&u, s.public_url())});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The user id of the path, if the caller is that user or an admin.
pub(crate) fn own_user_id(id: String, caller: &Caller) -> ApiResult<UserId> {
    if !caller.is_self_or_admin(&id) {
        return Err(forbidden());
    }
    path_id("user", id, UserId::new)
}

pub(crate) async fn show_user(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = own_user_id(id, &caller)?;
    let user = s.identity().get_user(&id).await?;
    Ok(Json(json!({"user": views::user(&user, s.public_url())})))
}

#[derive(Debug, Deserialize)]
struct PatchUser {
    name: Option<String>,
    password: Option<Password>,
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    default_project_id: Option<Option<String>>,
    domain_id: Option<String>,
}

pub(crate) async fn update_user(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let id = path_id("user", id, UserId::new)?;
    let req: PatchUser = member_body(&body, "user")?;
    if let Some(d) = req.domain_id {
        if s.identity().get_user(&id).await?.domain_id.as_str() != d {
            return Err(bad("Cannot change the domain of a user"));
        }
    }
    let update = UserUpdate {
        name: req.name,
        password: req.password,
        enabled: req.enabled,
        default_project_id: req.default_project_id.map(project_id).transpose()?,
    };
    let u = s.identity().update_user(&id, &update).await?;
    Ok(Json(json!({"user": views::user(&u, s.public_url())})))
}

pub(crate) async fn delete_user(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    let id = path_id("user", id, UserId::new)?;
    s.identity().delete_user(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn user_projects(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = own_user_id(id, &caller)?;
    s.identity().get_user(&id).await?;
    let base = s.public_url();
    let list = s.identity().projects_for_user(&id).await?;
    let items = list.iter().map(|p| views::project(p, base)).collect();
    Ok(collection(
        "projects",
        items,
        base,
        &format!("/v3/users/{id}/projects"),
    ))
}

#[derive(Debug, Deserialize)]
struct ChangePassword {
    password: Password,
    original_password: Password,
}

/// `POST /v3/users/{id}/password`: needs no token, only the original
/// password (so a user whose token expired can still change it).
pub(crate) async fn change_password(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: ChangePassword = member_body(&body, "user")?;
    let id = UserId::new(id).map_err(|_| ApiError::Unauthorized("malformed user id".into()))?;
    s.identity()
        .change_password(&id, &req.original_password, &req.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
