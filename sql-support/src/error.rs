//! The error type of sql-support and the kinds cores map it to.

/// A boxed error from a library below us.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The location string names no backend we know, or is malformed.
    #[error("invalid database location: {reason}")]
    InvalidLocation {
        /// Why.
        reason: String,
    },
    /// The database was migrated by a newer build.
    #[error("{component} schema version {found} is newer than this build ({supported})")]
    SchemaTooNew {
        /// Which component's schema.
        component: String,
        /// The version found in `schema_version`.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A PostgreSQL query or connection failed.
    #[cfg(feature = "postgres")]
    #[error("postgres request failed")]
    Postgres(#[from] tokio_postgres::Error),
    /// No pooled connection could be had.
    #[cfg(feature = "postgres")]
    #[error("no postgres connection available")]
    Pool(#[source] BoxError),
}

/// The meaning of a database failure, for mapping onto a core's own error
/// kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// A unique or primary-key constraint refused the row (the constraint
    /// name, when known).
    UniqueViolation(Option<String>),
    /// A foreign key points at nothing.
    ForeignKeyViolation,
    /// Worth retrying: connection lost or refused, serialization failure,
    /// deadlock, pool exhausted, server shutting down.
    Retryable,
    /// Wrong configuration: bad location, schema too new, bad credentials.
    Config,
    /// Anything else.
    Other,
}

impl Error {
    /// What this failure means to a caller.
    pub fn failure(&self) -> Failure {
        match self {
            Self::InvalidLocation { .. } | Self::SchemaTooNew { .. } => Failure::Config,
            #[cfg(feature = "postgres")]
            Self::Postgres(e) => crate::pg::classify(e),
            #[cfg(feature = "postgres")]
            Self::Pool(_) => Failure::Retryable,
        }
    }
}
