//! The token check every protected route goes through.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use identity_core::service::{IssuedToken, ValidateOptions};
use identity_core::{Error, TokenId};

use crate::error::ApiError;
use crate::AppState;

/// The `X-Auth-Token` header.
pub const AUTH_TOKEN: &str = "x-auth-token";
/// The `X-Subject-Token` header.
pub const SUBJECT_TOKEN: &str = "x-subject-token";

/// The validated caller, put in request extensions by [`require_token`].
#[derive(Debug, Clone)]
pub struct Caller(pub IssuedToken);

impl Caller {
    /// Whether the caller holds the `admin` role.
    pub fn is_admin(&self) -> bool {
        self.0.token.has_role("admin")
    }

    /// Whether the caller is this user or an admin.
    pub fn is_self_or_admin(&self, user_id: &str) -> bool {
        self.is_admin() || self.0.token.user.id.as_str() == user_id
    }
}

/// Middleware: answers 401 unless `X-Auth-Token` names a valid token; then
/// stores the [`Caller`] for the handler.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = match req
        .headers()
        .get(AUTH_TOKEN)
        .and_then(|v| v.to_str().ok())
        .map(TokenId::new)
    {
        Some(Ok(id)) => id,
        _ => {
            return ApiError::Unauthorized("missing or malformed X-Auth-Token".into())
                .into_response()
        }
    };
    match state
        .identity()
        .validate_token(&id, &ValidateOptions::default())
        .await
    {
        Ok(issued) => {
            req.extensions_mut().insert(Caller(issued));
            next.run(req).await
        }
        Err(Error::NotFound { .. }) => {
            ApiError::Unauthorized("invalid or expired X-Auth-Token".into()).into_response()
        }
        Err(e) => ApiError::Core(e).into_response(),
    }
}
