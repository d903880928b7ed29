//! The one error type of glance-core.

/// A boxed error from a backend or a library below us.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result with glance-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a kind a caller can branch on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named thing does not exist, was deleted, or is invisible to the caller.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `image 0b5e…`.
        what: String,
    },
    /// The thing exists already.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What collided.
        what: String,
    },
    /// The request conflicts with the current state (e.g. a status transition).
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
    /// The caller may not do this (policy, protected image, wrong status).
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// A quota (size cap, properties, tags, members) would be exceeded.
    #[error("quota exceeded: {reason}")]
    QuotaExceeded {
        /// Which limit.
        reason: String,
    },
    /// A byte range lies outside the image data.
    #[error("range not satisfiable for {size} bytes")]
    RangeNotSatisfiable {
        /// The size of the data.
        size: u64,
    },
    /// The image data is not in the declared disk format (HTTP 415).
    #[error("image disk_format {declared} does not match stream data {detected}")]
    FormatMismatch {
        /// The declared `disk_format`.
        declared: &'static str,
        /// What the data looks like.
        detected: &'static str,
    },
    /// The backend does not support this operation.
    #[error("{operation} is not supported by the {backend} backend")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
        /// The backend that refused.
        backend: &'static str,
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

    /// Shorthand for [`Error::QuotaExceeded`].
    pub fn quota(reason: impl Into<String>) -> Self {
        Self::QuotaExceeded {
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
}

/// Runs blocking work (filesystem, SQLite) on tokio's blocking pool; a
/// panicked or cancelled task becomes [`Error::Backend`] of `backend`.
pub(crate) async fn run_blocking<T, F>(backend: &'static str, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::backend(backend, e))?
}

/// Maps a failure of the shared SQL layer onto our kinds: unique violations
/// are `AlreadyExists`, dangling references `NotFound`, lost connections and
/// serialization failures `Unavailable`, bad locations, credentials and
/// schema versions `InvalidConfig`, the rest `Backend`.
pub(crate) fn from_sql(backend: &'static str, e: sql_support::Error) -> Error {
    use sql_support::Failure;
    match e.failure() {
        Failure::UniqueViolation(constraint) => {
            Error::already_exists(constraint.unwrap_or_else(|| "row".to_owned()))
        }
        Failure::ForeignKeyViolation => Error::not_found("referenced row"),
        Failure::Retryable => Error::Unavailable {
            reason: format!("{backend} database: {}", chain(&e)),
        },
        Failure::Config => Error::config(format!("{backend} database: {}", chain(&e))),
        _ => Error::backend(backend, e),
    }
}

/// `e` and its sources, joined with `: `.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
