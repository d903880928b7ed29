//! Keystone tokens for the proxy: identity-core's [`TokenValidator`] (in
//! process or over HTTP) seen as swift-core's [`KeystoneValidator`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use identity_core::{CachingValidator, TokenValidator};
use serde::Deserialize;
use swift_core::proxy::{KeystoneAuthConfig, KeystoneIdentity, KeystoneValidator};

/// A [`TokenValidator`] answering the proxy's Keystone questions.
#[derive(Debug, Clone)]
pub struct IdentityTokens(pub Arc<dyn TokenValidator>);

#[async_trait]
impl KeystoneValidator for IdentityTokens {
    async fn validate(&self, token: &str) -> swift_core::Result<Option<KeystoneIdentity>> {
        match self.0.validate(token).await {
            Ok(info) => Ok(info.map(|t| KeystoneIdentity {
                user_id: t.user_id,
                user_name: t.user_name,
                project_id: t.project_id,
                roles: t.roles,
            })),
            Err(e) => Err(swift_core::Error::Unavailable {
                reason: format!("token validation: {e}"),
            }),
        }
    }
}

/// `[keystone]` of the proxy's config: accept tokens of the identity
/// server at `auth_url` beside tempauth's.
///
/// ```toml
/// [keystone]
/// auth_url = "http://127.0.0.1:5000/v3"
/// cache_secs = 60
/// [keystone.roles]
/// operator_roles = ["admin", "member"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoneSettings {
    /// The identity server's URL.
    pub auth_url: String,
    /// How long a validated token is trusted without asking again.
    #[serde(default = "default_cache_secs")]
    pub cache_secs: u64,
    /// Seconds to wait for the identity server.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// How roles map to account access.
    #[serde(default)]
    pub roles: KeystoneAuthConfig,
}

fn default_cache_secs() -> u64 {
    60
}
fn default_timeout_secs() -> u64 {
    5
}

impl KeystoneSettings {
    /// The validator these settings describe: HTTP to `auth_url`, cached.
    pub fn validator(&self) -> anyhow::Result<Arc<dyn KeystoneValidator>> {
        let http = identity_core::validator::HttpTokenValidator::new(
            &self.auth_url,
            Duration::from_secs(self.timeout_secs.max(1)),
        )?;
        let cached = CachingValidator::new(Arc::new(http), Duration::from_secs(self.cache_secs));
        Ok(Arc::new(IdentityTokens(Arc::new(cached))))
    }
}
