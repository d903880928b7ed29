//! The one error type of swift-core.

/// A boxed error from a backend or a library below us.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result with swift-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a kind a caller can branch on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named thing does not exist (or was deleted).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `object AUTH_a/c/o`.
        what: String,
    },
    /// The thing exists already, or a newer version exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What collided.
        what: String,
    },
    /// The request conflicts with the current state (e.g. non-empty container).
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
    /// The backend does not support this operation.
    #[error("{operation} is not supported by the {backend} backend")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
        /// The backend that refused.
        backend: &'static str,
    },
    /// A device is missing, unmounted or full.
    #[error("insufficient storage on device {device}")]
    InsufficientStorage {
        /// The device name.
        device: String,
    },
    /// A data integrity check failed (checksum mismatch, corrupt file).
    #[error("integrity check failed: {what}")]
    Corrupt {
        /// What failed the check.
        what: String,
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

    /// Wraps an I/O error of the filesystem backend; a missing file maps to
    /// [`Error::NotFound`], a full disk to [`Error::InsufficientStorage`].
    pub fn io(what: impl Into<String>, err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => Self::NotFound { what: what.into() },
            std::io::ErrorKind::StorageFull => Self::InsufficientStorage {
                device: what.into(),
            },
            _ => Self::Backend {
                backend: "fs",
                source: Box::new(err),
            },
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
        .map_err(|e| Error::Backend {
            backend,
            source: Box::new(e),
        })?
}
