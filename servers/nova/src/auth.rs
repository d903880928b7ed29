//! Token authentication shared by the Compute, Block Storage and
//! Networking APIs: the [`Authenticator`] seam, a Keystone-backed one, and
//! the middleware that turns `X-Auth-Token` into a [`RequestContext`]
//! request extension (or Keystone's 401).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use identity_core::{TokenInfo, TokenValidator};
use nova_core::model::{ProjectId, UserId};
use nova_core::RequestContext;

use crate::state::ApiState;

/// Resolves a token to the caller it stands for.
#[async_trait]
pub trait Authenticator: Send + Sync + fmt::Debug + 'static {
    /// The caller of `token`, or `None` if the token is unknown, expired
    /// or not scoped to a project.
    async fn authenticate(&self, token: &str) -> Option<RequestContext>;
}

/// A fixed token → context map (tests and development only).
#[derive(Default)]
pub struct StaticAuthenticator {
    tokens: HashMap<String, RequestContext>,
}

impl StaticAuthenticator {
    /// An authenticator that knows no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `token` standing for `ctx`.
    pub fn with_token(mut self, token: impl Into<String>, ctx: RequestContext) -> Self {
        self.tokens.insert(token.into(), ctx);
        self
    }
}

impl fmt::Debug for StaticAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are secrets: show only how many there are.
        f.debug_struct("StaticAuthenticator")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

#[async_trait]
impl Authenticator for StaticAuthenticator {
    async fn authenticate(&self, token: &str) -> Option<RequestContext> {
        self.tokens.get(token).cloned()
    }
}

/// Resolves tokens through the identity service (in process or over HTTP).
#[derive(Debug, Clone)]
pub struct KeystoneAuthenticator {
    validator: Arc<dyn TokenValidator>,
}

impl KeystoneAuthenticator {
    /// An authenticator asking `validator`.
    pub fn new(validator: Arc<dyn TokenValidator>) -> Self {
        Self { validator }
    }
}

/// The nova context a token stands for: project-scoped tokens only; role
/// names are lower-cased (policy compares them case-insensitively).
pub fn context_of(info: &TokenInfo) -> Option<RequestContext> {
    let project = ProjectId::new(info.project_id.clone()?).ok()?;
    let user = UserId::new(info.user_id.clone()).ok()?;
    let roles = info.roles.iter().map(|r| r.to_ascii_lowercase()).collect();
    Some(RequestContext::new(user, project, roles))
}

#[async_trait]
impl Authenticator for KeystoneAuthenticator {
    async fn authenticate(&self, token: &str) -> Option<RequestContext> {
        match self.validator.validate(token).await {
            Ok(Some(info)) => context_of(&info),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "token validation failed");
                None
            }
        }
    }
}

/// Keystone's 401 body and `WWW-Authenticate` header.
pub(crate) fn unauthorized(auth_url: Option<&str>) -> Response {
    let body = serde_json::json!({"error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }});
    let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    let base = auth_url.unwrap_or("").trim_end_matches("/v3");
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{base}\"")) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// Middleware: 401 without a valid `X-Auth-Token`, else the caller's
/// [`RequestContext`] (carrying the token) goes into the extensions.
pub(crate) async fn require_token(
    State(state): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Response {
    let token = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let ctx = match &token {
        Some(t) => state.auth.authenticate(t).await,
        None => None,
    };
    match (ctx, token) {
        (Some(ctx), Some(token)) => {
            req.extensions_mut().insert(ctx.with_token(token));
            next.run(req).await
        }
        _ => unauthorized(state.auth_url.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity_core::Timestamp;

    #[test]
    fn scoped_tokens_map_to_contexts() {
        let mut info = TokenInfo {
            user_id: "u1".into(),
            user_name: "alice".into(),
            user_domain_id: "default".into(),
            project_id: Some("p1".into()),
            project_name: Some("demo".into()),
            roles: vec!["Admin".into()],
            expires_at: Timestamp::from_micros(0),
        };
        let ctx = context_of(&info).unwrap();
        assert_eq!(ctx.project_id.as_str(), "p1");
        assert!(ctx.is_admin());
        info.project_id = None;
        assert!(context_of(&info).is_none());
    }
}
