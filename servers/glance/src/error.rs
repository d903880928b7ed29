//! Mapping core errors to HTTP: status codes, and Glance's fault bodies
//! (HTML by default, JSON when the client asks for it).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use glance_core::Error;
use http::{header, HeaderValue, StatusCode};

/// An error answer of the API: a status and a short message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

/// Carried on error responses so [`format_errors`] can render the body
/// in the format the request asked for.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with an explicit status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "This server could not verify that you are authorized to access the document you requested.",
        )
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::AlreadyExists { .. } | Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::InvalidInput { .. } => StatusCode::BAD_REQUEST,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::QuotaExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::FormatMismatch { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "request failed");
            return Self::new(status, "The server has either erred or is incapable of performing the requested operation.");
        }
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let fault = Fault {
            status: self.status,
            message: self.message,
        };
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
            fault.message.clone(),
        )
            .into_response();
        resp.extensions_mut().insert(fault);
        resp
    }
}

fn wants_json(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Middleware: renders [`Fault`]s as HTML, or as Glance's JSON
/// `{"message","code","title"}` when `Accept` names `application/json`;
/// stamps every response with `x-openstack-request-id`.
pub(crate) async fn format_errors(req: Request, next: Next) -> Response {
    let json = wants_json(&req);
    let mut resp = next.run(req).await;
    if let Some(fault) = resp.extensions_mut().remove::<Fault>() {
        let reason = fault.status.canonical_reason().unwrap_or("Error");
        let code = format!("{} {}", fault.status.as_u16(), reason);
        let headers = resp.headers().clone();
        resp = if json {
            let body = serde_json::json!({"message": fault.message, "code": code, "title": reason});
            (fault.status, axum::Json(body)).into_response()
        } else {
            let body = format!(
                "<html>\n <head>\n  <title>{code}</title>\n </head>\n <body>\n  <h1>{code}</h1>\n  {}<br /><br />\n\n\n\n </body>\n</html>",
                escape_html(&fault.message)
            );
            (
                fault.status,
                [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
                body,
            )
                .into_response()
        };
        for (k, v) in headers.iter() {
            if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
                resp.headers_mut().insert(k.clone(), v.clone());
            }
        }
    }
    let id = format!("req-{}", uuid::Uuid::new_v4());
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    resp
}
