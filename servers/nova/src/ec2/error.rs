//! EC2 errors: a code, a message and an HTTP status. Client mistakes are
//! 4xx (boto3 retries 5xx), unreachable backends 503.

use http::StatusCode;

/// An error as the EC2 API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    /// HTTP status.
    pub status: StatusCode,
    /// EC2 error code (`InvalidInstanceID.NotFound`, …).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// The nova-core error kind this came from, if any.
    core_kind: Option<&'static str>,
}

/// Results of EC2 handlers.
pub type Ec2Result<T> = std::result::Result<T, Ec2Error>;

impl Ec2Error {
    /// A 400 with `code`.
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Any status and code.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            core_kind: None,
        }
    }

    /// `MissingParameter` for `name`.
    pub fn missing(name: &str) -> Self {
        Self::client(
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    /// `InvalidParameterValue` for `name`.
    pub fn invalid(name: &str, value: &str) -> Self {
        Self::client(
            "InvalidParameterValue",
            format!("Value ({value}) for parameter {name} is invalid"),
        )
    }

    /// `AuthFailure` (401).
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AuthFailure", message)
    }

    /// `SignatureDoesNotMatch` (403).
    pub fn signature() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method.",
        )
    }

    /// `Unavailable` (503).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", message)
    }

    /// Uses `code` when this came from a core NotFound.
    pub fn not_found_as(self, code: &str) -> Self {
        self.when("NotFound", code)
    }

    /// Uses `code` when this came from a core AlreadyExists.
    pub fn duplicate_as(self, code: &str) -> Self {
        self.when("AlreadyExists", code)
    }

    /// Uses `code` when this came from a core Conflict.
    pub fn conflict_as(self, code: &str) -> Self {
        self.when("Conflict", code)
    }

    fn when(mut self, kind: &str, code: &str) -> Self {
        if self.core_kind == Some(kind) {
            self.code = code.to_owned();
        }
        self
    }
}

impl From<nova_core::Error> for Ec2Error {
    fn from(e: nova_core::Error) -> Self {
        use nova_core::Error as E;
        let (status, code) = match &e {
            E::NotFound { .. } => (StatusCode::BAD_REQUEST, "InvalidParameterValue"),
            E::AlreadyExists { .. } => (StatusCode::BAD_REQUEST, "InvalidParameterValue"),
            E::Conflict { .. } => (StatusCode::BAD_REQUEST, "IncorrectState"),
            E::InvalidInput { .. } => (StatusCode::BAD_REQUEST, "InvalidParameterValue"),
            E::Forbidden { .. } => (StatusCode::FORBIDDEN, "UnauthorizedOperation"),
            E::QuotaExceeded { .. } => (StatusCode::BAD_REQUEST, "ResourceLimitExceeded"),
            E::NoValidHost { .. } => (StatusCode::BAD_REQUEST, "InsufficientInstanceCapacity"),
            E::NoMoreAddresses { .. } => (StatusCode::BAD_REQUEST, "AddressLimitExceeded"),
            E::Unsupported { .. } => (StatusCode::BAD_REQUEST, "UnsupportedOperation"),
            E::Timeout { .. } | E::Remote { .. } | E::Unavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "Unavailable")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        };
        let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %e, "ec2 request failed");
            "An internal error has occurred".to_owned()
        } else {
            e.to_string()
        };
        Self {
            status,
            code: code.to_owned(),
            message,
            core_kind: Some(e.kind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_client_codes() {
        let e: Ec2Error = nova_core::Error::not_found("instance x").into();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = e.not_found_as("InvalidInstanceID.NotFound");
        assert_eq!(e.code, "InvalidInstanceID.NotFound");
        let e: Ec2Error = nova_core::Error::conflict("busy").into();
        assert_eq!(e.clone().not_found_as("X").code, "IncorrectState");
        assert_eq!(e.conflict_as("VolumeInUse").code, "VolumeInUse");
        let e: Ec2Error = nova_core::Error::unavailable("db").into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        let e: Ec2Error = nova_core::Error::invalid("bad").into();
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::BAD_REQUEST, "InvalidParameterValue")
        );
    }
}
