//! Route handlers: extract, make one core call, map the result.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use identity_core::service::{IssuedToken, ValidateOptions};
use identity_core::{Error, ProjectId, TokenId, UserId};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Caller, SUBJECT_TOKEN};
use crate::error::{ApiError, ApiResult};
use crate::{views, wire, AppState};

/// Whether the query holds `name` as a flag (`?name`, `?name=1`, `?name=true`).
fn flag(query: Option<&str>, name: &str) -> bool {
    query.unwrap_or("").split('&').any(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        k == name && !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no")
    })
}

fn token_response(
    status: StatusCode,
    issued: &IssuedToken,
    nocatalog: bool,
) -> ApiResult<Response> {
    let header = HeaderValue::from_str(issued.token.id.expose())
        .map_err(|_| ApiError::Core(Error::invalid("token id is not a valid header")))?;
    let catalog = (!nocatalog).then_some(&issued.catalog);
    let mut resp = (status, Json(views::token(&issued.token, catalog))).into_response();
    resp.headers_mut().insert(SUBJECT_TOKEN, header);
    Ok(resp)
}

pub(crate) async fn versions(State(s): State<AppState>) -> Response {
    let body = json!({"versions": {"values": [views::version(s.public_url())]}});
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

pub(crate) async fn version_v3(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"version": views::version(s.public_url())}))
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("The resource could not be found.".into())
}

pub(crate) async fn issue_token(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let req = wire::auth_request(&body)?;
    let issued = s.identity().authenticate(&req).await?;
    token_response(
        StatusCode::CREATED,
        &issued,
        flag(q.as_deref(), "nocatalog"),
    )
}

/// The subject token, which only its own user or an admin may inspect.
async fn subject(
    s: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    allow_expired: bool,
) -> ApiResult<IssuedToken> {
    let id = headers
        .get(SUBJECT_TOKEN)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::BadRequest("X-Subject-Token header is required".into()))?;
    let not_found = || ApiError::NotFound("Could not find token.".into());
    let id = TokenId::new(id).map_err(|_| not_found())?;
    let issued = match s
        .identity()
        .validate_token(&id, &ValidateOptions { allow_expired })
        .await
    {
        Err(Error::NotFound { .. }) => return Err(not_found()),
        r => r?,
    };
    if !caller.is_self_or_admin(issued.token.user.id.as_str()) {
        return Err(ApiError::Forbidden(
            "You are not authorized to perform the requested action.".into(),
        ));
    }
    Ok(issued)
}

pub(crate) async fn validate_token(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q = q.as_deref();
    let issued = subject(&s, &caller, &headers, flag(q, "allow_expired")).await?;
    token_response(StatusCode::OK, &issued, flag(q, "nocatalog"))
}

pub(crate) async fn revoke_token(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let issued = subject(&s, &caller, &headers, true).await?;
    s.identity().revoke_token(&issued.token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn auth_catalog(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<serde_json::Value> {
    let url = format!("{}/v3/auth/catalog", s.public_url());
    Json(json!({"catalog": caller.0.catalog.services, "links": views::collection_links(&url)}))
}

pub(crate) async fn auth_projects(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<serde_json::Value>> {
    let projects = s
        .identity()
        .projects_for_user(&caller.0.token.user.id)
        .await?;
    let base = s.public_url();
    let list: Vec<_> = projects.iter().map(|p| views::project(p, base)).collect();
    let url = format!("{base}/v3/auth/projects");
    Ok(Json(
        json!({"projects": list, "links": views::collection_links(&url)}),
    ))
}

fn user_id(id: String, caller: &Caller) -> ApiResult<UserId> {
    crate::admin::users::own_user_id(id, caller)
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateEc2 {
    tenant_id: String,
}

pub(crate) async fn create_ec2(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let id = user_id(id, &caller)?;
    let req: CreateEc2 = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid credential request: {e}")))?;
    let project = ProjectId::new(req.tenant_id)
        .map_err(|_| ApiError::BadRequest("invalid tenant_id".into()))?;
    let cred = s.identity().create_ec2_credential(&id, &project).await?;
    let body = json!({"credential": views::ec2_credential(&cred, s.public_url())});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(crate) async fn list_ec2(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = user_id(id, &caller)?;
    let base = s.public_url();
    let creds = s.identity().list_ec2_credentials(&id).await?;
    let list: Vec<_> = creds
        .iter()
        .map(|c| views::ec2_credential(c, base))
        .collect();
    let url = format!("{base}/v3/users/{id}/credentials/OS-EC2");
    Ok(Json(
        json!({"credentials": list, "links": views::collection_links(&url)}),
    ))
}

pub(crate) async fn show_ec2(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, access)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = user_id(id, &caller)?;
    let cred = s.identity().get_ec2_credential(&id, &access).await?;
    Ok(Json(
        json!({"credential": views::ec2_credential(&cred, s.public_url())}),
    ))
}

pub(crate) async fn delete_ec2(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, access)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = user_id(id, &caller)?;
    s.identity().delete_ec2_credential(&id, &access).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::flag;

    #[test]
    fn flags() {
        assert!(flag(Some("nocatalog"), "nocatalog"));
        assert!(flag(Some("a=1&allow_expired=1"), "allow_expired"));
        assert!(!flag(Some("allow_expired=0"), "allow_expired"));
        assert!(!flag(None, "nocatalog"));
    }
}
