//! Token authentication: the [`Authenticator`] seam and the tower layer
//! that turns `X-Auth-Token` into a [`Caller`] request extension.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use glance_core::image::access::Caller;

use crate::error::ApiError;
use crate::router::AppState;

/// Resolves a token to the caller it stands for; the identity server
/// implements it, tests use [`StaticAuthenticator`].
#[async_trait]
pub trait Authenticator: Send + Sync + fmt::Debug + 'static {
    /// The caller of `token`, or `None` if the token is unknown or expired.
    async fn authenticate(&self, token: &str) -> Option<Caller>;
}

/// A fixed token → caller map (tests and development only).
#[derive(Default)]
pub struct StaticAuthenticator {
    tokens: HashMap<String, Caller>,
}

impl StaticAuthenticator {
    /// An authenticator that knows no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `token` standing for `caller`.
    pub fn with_token(mut self, token: impl Into<String>, caller: Caller) -> Self {
        self.tokens.insert(token.into(), caller);
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
    async fn authenticate(&self, token: &str) -> Option<Caller> {
        self.tokens.get(token).cloned()
    }
}

/// Middleware: 401 without a valid `X-Auth-Token`, else the [`Caller`]
/// goes into the request extensions for the handlers.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let token = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let caller = match token {
        Some(t) if !t.is_empty() => state.authenticator.authenticate(&t).await,
        _ => None,
    };
    match caller {
        Some(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        None => {
            let mut resp = ApiError::unauthorized().into_response();
            if let Ok(v) = http::HeaderValue::from_str(&format!(
                "Keystone uri=\"{}\"",
                state.auth_url.as_deref().unwrap_or("")
            )) {
                resp.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
            }
            resp
        }
    }
}
