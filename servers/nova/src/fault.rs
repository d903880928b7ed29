//! Nova's (and Cinder's) fault bodies: `{"<faultName>":{"code":N,
//! "message":"…"}}`, and the mapping of [`nova_core::Error`] kinds.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use nova_core::Error;

/// How quota errors are reported: nova answers 403 for instance quotas,
/// Cinder 413 `overLimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaStyle {
    /// 403 forbidden (Compute).
    Forbidden,
    /// 413 overLimit (Block Storage).
    OverLimit,
}

/// An error answer of the Compute or Block Storage API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    status: StatusCode,
    message: String,
}

impl Fault {
    /// A fault with an explicit status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 badRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 itemNotFound.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 403 forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 409 conflictingRequest.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Nova's fault name for a status.
    pub fn name(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "badRequest",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "itemNotFound",
            405 => "badMethod",
            409 => "conflictingRequest",
            413 | 429 => "overLimit",
            415 => "badMediaType",
            501 => "notImplemented",
            503 => "serviceUnavailable",
            _ => "computeFault",
        }
    }

    /// The fault for a core error, with `style` for quota errors.
    pub(crate) fn from_core(e: Error, style: QuotaStyle) -> Self {
        let status = match &e {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::AlreadyExists { .. } | Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::InvalidInput { .. } | Error::NoValidHost { .. } => StatusCode::BAD_REQUEST,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::QuotaExceeded { .. } => match style {
                QuotaStyle::Forbidden => StatusCode::FORBIDDEN,
                QuotaStyle::OverLimit => StatusCode::PAYLOAD_TOO_LARGE,
            },
            Error::NoMoreAddresses { .. } => StatusCode::CONFLICT,
            Error::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
            Error::Unavailable { .. } | Error::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Remote { .. } => match e.kind() {
                "NotFound" => StatusCode::NOT_FOUND,
                "AlreadyExists" | "Conflict" | "NoMoreAddresses" => StatusCode::CONFLICT,
                "InvalidInput" | "NoValidHost" => StatusCode::BAD_REQUEST,
                "Forbidden" | "QuotaExceeded" => StatusCode::FORBIDDEN,
                "Unavailable" | "Timeout" => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "request failed");
            return Self::new(
                status,
                "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.",
            );
        }
        Self::new(status, message_of(&e))
    }
}

/// Nova's wording where clients or tests look at it.
fn message_of(e: &Error) -> String {
    match e {
        Error::NotFound { what } => {
            let mut it = what.splitn(2, ' ');
            match (it.next(), it.next()) {
                (Some(kind), Some(id)) => {
                    let mut k: Vec<char> = kind.chars().collect();
                    if let Some(c) = k.first_mut() {
                        *c = c.to_ascii_uppercase();
                    }
                    format!("{} {id} could not be found.", k.into_iter().collect::<String>())
                }
                _ => format!("{what} could not be found."),
            }
        }
        Error::QuotaExceeded {
            resource,
            requested,
            used,
            limit,
        } => format!(
            "Quota exceeded for {resource}: Requested {requested}, but already used {used} of {limit} {resource}"
        ),
        Error::Conflict { reason } | Error::InvalidInput { reason } | Error::Forbidden { reason } => {
            reason.clone()
        }
        Error::Remote { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl From<Error> for Fault {
    fn from(e: Error) -> Self {
        Self::from_core(e, QuotaStyle::Forbidden)
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ self.name(): {
            "code": self.status.as_u16(),
            "message": self.message,
        }});
        (self.status, axum::Json(body)).into_response()
    }
}

/// Result of a handler.
pub(crate) type ApiResult<T> = Result<T, Fault>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_nova_faults() {
        let f = Fault::from(Error::not_found("instance abc"));
        assert_eq!((f.status().as_u16(), f.name()), (404, "itemNotFound"));
        assert_eq!(f.message(), "Instance abc could not be found.");
        let q = Error::QuotaExceeded {
            resource: "instances".into(),
            requested: 1,
            used: 1,
            limit: 1,
        };
        assert_eq!(Fault::from(q).status().as_u16(), 403);
        let q = Error::QuotaExceeded {
            resource: "gigabytes".into(),
            requested: 1,
            used: 1,
            limit: 1,
        };
        let f = Fault::from_core(q, QuotaStyle::OverLimit);
        assert_eq!((f.status().as_u16(), f.name()), (413, "overLimit"));
        assert_eq!(
            Fault::from(Error::conflict("busy")).name(),
            "conflictingRequest"
        );
        assert_eq!(Fault::from(Error::invalid("x")).name(), "badRequest");
        let f = Fault::from(Error::backend("db", "disk on fire"));
        assert_eq!((f.status().as_u16(), f.name()), (500, "computeFault"));
        assert!(!f.message().contains("fire"));
        assert_eq!(
            Fault::new(StatusCode::NOT_ACCEPTABLE, "x").name(),
            "computeFault"
        );
    }
}
