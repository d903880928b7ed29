//! The one error type of nova-core.

use std::time::Duration;

/// A boxed error from a backend or a library below us.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result with nova-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a kind a caller can branch on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named thing does not exist or is invisible to the caller.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `instance 0b5e…`.
        what: String,
    },
    /// The thing exists already.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What collided.
        what: String,
    },
    /// The request conflicts with the current state (Nova's 409).
    #[error("conflict: {reason}")]
    Conflict {
        /// Why.
        reason: String,
    },
    /// The input is malformed or outside the constraints.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Why.
        reason: String,
    },
    /// A configuration value is wrong.
    #[error("invalid config: {reason}")]
    InvalidConfig {
        /// Why.
        reason: String,
    },
    /// The caller may not do this.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// A per-project quota would be exceeded.
    #[error("quota exceeded for {resource}: requested {requested}, used {used}, limit {limit}")]
    QuotaExceeded {
        /// The resource, e.g. `cores`.
        resource: String,
        /// Amount asked for.
        requested: u64,
        /// Amount in use or reserved before the request.
        used: u64,
        /// The project's limit.
        limit: u64,
    },
    /// The scheduler found no host for a request (Nova's `NoValidHost`).
    #[error("No valid host was found. {reason}")]
    NoValidHost {
        /// Why, e.g. which filter removed the last host.
        reason: String,
    },
    /// No free address is left in a network or pool.
    #[error("no more addresses in {pool}")]
    NoMoreAddresses {
        /// The network or floating pool.
        pool: String,
    },
    /// The backend does not support this operation.
    #[error("{operation} is not supported by the {backend} backend")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
        /// The backend that refused.
        backend: &'static str,
    },
    /// A call got no answer in time.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What was waited for, e.g. `call compute.host1 spawn`.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// A remote service answered a call with an error.
    #[error("remote {kind}: {message}")]
    Remote {
        /// The remote error kind (see [`Error::kind`]).
        kind: String,
        /// The remote message.
        message: String,
    },
    /// Temporarily unavailable; retrying may succeed.
    #[error("unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// A backend failed in a way with no other meaning.
    #[error("{backend} backend failed")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Shorthand for [`Error::AlreadyExists`].
    pub fn already_exists(what: impl Into<String>) -> Self {
        Self::AlreadyExists { what: what.into() }
    }

    /// Shorthand for [`Error::Conflict`].
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::Conflict {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidConfig`].
    pub fn config(reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Forbidden`].
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Unavailable`].
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
        }
    }

    /// Wraps an error of `backend` that has no other meaning.
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            backend,
            source: source.into(),
        }
    }

    /// A stable name of the kind, used to carry errors over the bus.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::InvalidInput { .. } => "InvalidInput",
            Self::InvalidConfig { .. } => "InvalidConfig",
            Self::Forbidden { .. } => "Forbidden",
            Self::QuotaExceeded { .. } => "QuotaExceeded",
            Self::NoValidHost { .. } => "NoValidHost",
            Self::NoMoreAddresses { .. } => "NoMoreAddresses",
            Self::Unsupported { .. } => "Unsupported",
            Self::Timeout { .. } => "Timeout",
            Self::Remote { kind, .. } => remote_kind(kind),
            Self::Unavailable { .. } => "Unavailable",
            Self::Backend { .. } => "Backend",
        }
    }
}

/// Keeps a remote kind stable across hops without allocating.
fn remote_kind(kind: &str) -> &'static str {
    const KINDS: [&str; 13] = [
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "InvalidInput",
        "InvalidConfig",
        "Forbidden",
        "QuotaExceeded",
        "NoValidHost",
        "NoMoreAddresses",
        "Unsupported",
        "Timeout",
        "Unavailable",
        "Backend",
    ];
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("Remote")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_valid_host_message_starts_like_nova() {
        let e = Error::NoValidHost {
            reason: "0 hosts passed".into(),
        };
        assert!(e.to_string().starts_with("No valid host was found"));
        assert_eq!(e.kind(), "NoValidHost");
    }

    #[test]
    fn remote_kind_round_trips_known_kinds_only() {
        let e = Error::Remote {
            kind: "Conflict".into(),
            message: "busy".into(),
        };
        assert_eq!(e.kind(), "Conflict");
        let e = Error::Remote {
            kind: "Weird".into(),
            message: "x".into(),
        };
        assert_eq!(e.kind(), "Remote");
    }
}
