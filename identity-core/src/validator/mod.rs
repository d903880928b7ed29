//! Token validation as the other services need it: "who is behind this
//! token, in which project, with which roles?"
//!
//! [`TokenValidator`] is implemented by [`IdentityService`] itself (one
//! process), by [`HttpTokenValidator`] (a remote identity server, Keystone's
//! `GET /v3/auth/tokens`), and by [`CachingValidator`], which remembers
//! answers for a short time in front of either.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::ids::TokenId;
use crate::model::TokenScope;
use crate::service::{IdentityService, ValidateOptions};
use crate::time::{Clock as _, SystemClock, Timestamp};

/// What a valid token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// User id.
    pub user_id: String,
    /// User name.
    pub user_name: String,
    /// The user's domain id.
    pub user_domain_id: String,
    /// The project the token is scoped to, if any.
    pub project_id: Option<String>,
    /// That project's name.
    pub project_name: Option<String>,
    /// Role names on the scope (empty when unscoped).
    pub roles: Vec<String>,
    /// When the token stops being valid.
    pub expires_at: Timestamp,
}

impl TokenInfo {
    /// Whether the token carries the role `name` (case-insensitive, as
    /// Keystone role names are compared by policy).
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(name))
    }
}

/// Resolves bearer tokens. Shared across tasks.
#[async_trait]
pub trait TokenValidator: Send + Sync + fmt::Debug + 'static {
    /// The token's facts; `Ok(None)` when it is unknown, expired or
    /// revoked; `Err` only when the answer could not be obtained (then the
    /// caller should answer 503, not 401).
    async fn validate(&self, token: &str) -> Result<Option<TokenInfo>>;
}

#[async_trait]
impl TokenValidator for IdentityService {
    async fn validate(&self, token: &str) -> Result<Option<TokenInfo>> {
        let Ok(id) = TokenId::new(token) else {
            return Ok(None);
        };
        match self.validate_token(&id, &ValidateOptions::default()).await {
            Ok(issued) => {
                let t = issued.token;
                let (project_id, project_name) = match &t.scope {
                    TokenScope::Project(p) => {
                        (Some(p.id.as_str().to_string()), Some(p.name.clone()))
                    }
                    _ => (None, None),
                };
                Ok(Some(TokenInfo {
                    user_id: t.user.id.as_str().to_string(),
                    user_name: t.user.name.clone(),
                    user_domain_id: t.user.domain.id.as_str().to_string(),
                    project_id,
                    project_name,
                    roles: t.roles.iter().map(|r| r.name.clone()).collect(),
                    expires_at: t.expires_at,
                }))
            }
            Err(
                Error::NotFound { .. } | Error::Unauthorized { .. } | Error::InvalidInput { .. },
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Remembers validations for at most `ttl` (never past the token's own
/// expiry), as keystonemiddleware does; a revoked token stays usable here
/// for at most `ttl`. Unknown tokens are not remembered.
pub struct CachingValidator {
    inner: Arc<dyn TokenValidator>,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], (TokenInfo, Instant)>>,
}

impl fmt::Debug for CachingValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingValidator")
            .field("inner", &self.inner)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachingValidator {
    /// Caches `inner`'s answers for `ttl`, keeping at most 10,000 tokens.
    pub fn new(inner: Arc<dyn TokenValidator>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            capacity: 10_000,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(token: &str) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(token.as_bytes()).into()
    }
}

#[async_trait]
impl TokenValidator for CachingValidator {
    async fn validate(&self, token: &str) -> Result<Option<TokenInfo>> {
        let key = Self::key(token);
        let now = Instant::now();
        {
            let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((info, until)) = map.get(&key) {
                if *until > now {
                    return Ok(Some(info.clone()));
                }
            }
        }
        let answer = self.inner.validate(token).await?;
        if let Some(info) = &answer {
            let left_us = info.expires_at.as_micros() - SystemClock.now().as_micros();
            let left = Duration::from_micros(u64::try_from(left_us).unwrap_or(0));
            let until = now + self.ttl.min(left);
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= self.capacity {
                map.retain(|_, (_, u)| *u > now);
                if map.len() >= self.capacity {
                    map.clear();
                }
            }
            map.insert(key, (info.clone(), until));
        }
        Ok(answer)
    }
}

#[cfg(feature = "http-client")]
mod http;
#[cfg(feature = "http-client")]
pub use http::HttpTokenValidator;

#[cfg(test)]
mod tests;
