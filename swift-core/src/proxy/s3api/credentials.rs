//! Who may sign S3 requests: access keys, their secrets and projects.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;

use crate::error::Result;

/// An S3 secret key; its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Secret(String);

impl S3Secret {
    /// Wraps a secret key.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }
    /// The secret itself, for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for S3Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3Secret(<redacted>)")
    }
}

/// What an access key stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Credential {
    /// The secret requests are signed with.
    pub secret: S3Secret,
    /// The project whose account (`<reseller_prefix><project_id>`) the
    /// requests act on.
    pub project_id: String,
}

/// Looks up S3 access keys, e.g. Keystone's EC2 credentials.
#[async_trait]
pub trait S3Credentials: Send + Sync + fmt::Debug + 'static {
    /// The credential of `access`, `None` if there is none. Errors mean
    /// the lookup itself failed (the client sees 503).
    async fn lookup(&self, access: &str) -> Result<Option<S3Credential>>;
}

/// A fixed list of access keys, e.g. from a config file.
#[derive(Debug, Clone, Default)]
pub struct StaticS3Credentials(HashMap<String, S3Credential>);

impl StaticS3Credentials {
    /// No keys yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds (or replaces) `access`.
    pub fn with(mut self, access: impl Into<String>, credential: S3Credential) -> Self {
        self.0.insert(access.into(), credential);
        self
    }
}

#[async_trait]
impl S3Credentials for StaticS3Credentials {
    async fn lookup(&self, access: &str) -> Result<Option<S3Credential>> {
        Ok(self.0.get(access).cloned())
    }
}
