//! Keystone's error body and the mapping from core errors to HTTP.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use identity_core::Error;
use serde_json::json;

/// What clients are told for every authentication failure.
pub const AUTH_REQUIRED: &str = "The request you have made requires authentication.";

/// An error answered with Keystone's body
/// `{"error": {"code": N, "title": "…", "message": "…"}}`.
#[derive(Debug)]
pub enum ApiError {
    /// A core error, mapped by kind.
    Core(Error),
    /// 400 with this message.
    BadRequest(String),
    /// 401 (the reason is logged at debug, never sent).
    Unauthorized(String),
    /// 403 with this message.
    Forbidden(String),
    /// 404 with this message.
    NotFound(String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

fn body(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut resp = (
        status,
        Json(json!({"error": {"code": status.as_u16(), "title": title, "message": message}})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Keystone"),
        );
    }
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(m) => body(StatusCode::BAD_REQUEST, &m),
            Self::Unauthorized(reason) => {
                tracing::debug!(%reason, "authentication failed");
                body(StatusCode::UNAUTHORIZED, AUTH_REQUIRED)
            }
            Self::Forbidden(m) => body(StatusCode::FORBIDDEN, &m),
            Self::NotFound(m) => body(StatusCode::NOT_FOUND, &m),
            Self::Core(e) => core_response(e),
        }
    }
}

fn core_response(e: Error) -> Response {
    match e {
        Error::NotFound { what } => body(StatusCode::NOT_FOUND, &format!("Could not find {what}.")),
        Error::AlreadyExists { what } => {
            body(StatusCode::CONFLICT, &format!("{what} already exists"))
        }
        Error::Conflict { reason } => body(StatusCode::CONFLICT, &reason),
        Error::InvalidInput { reason } => body(StatusCode::BAD_REQUEST, &reason),
        Error::Unauthorized { reason } => ApiError::Unauthorized(reason).into_response(),
        Error::Forbidden { reason } => body(StatusCode::FORBIDDEN, &reason),
        Error::Unsupported { .. } => body(StatusCode::NOT_IMPLEMENTED, &e.to_string()),
        Error::Unavailable { .. } => {
            tracing::warn!(error = %ErrorChain(&e), "identity backend unavailable");
            body(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
        e => {
            tracing::error!(error = %ErrorChain(&e), "identity request failed");
            body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error prevented the server from fulfilling your request.",
            )
        }
    }
}

/// Displays an error with its `source` chain.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cur = self.0.source();
        while let Some(s) = cur {
            write!(f, ": {s}")?;
            cur = s.source();
        }
        Ok(())
    }
}
