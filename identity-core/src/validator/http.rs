//! [`HttpTokenValidator`]: asks a Keystone v3 server about a token.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{TokenInfo, TokenValidator};
use crate::error::{Error, Result};
use crate::time::Timestamp;

/// Validates tokens with `GET /v3/auth/tokens` on a remote identity
/// server, presenting the token as both `X-Auth-Token` and
/// `X-Subject-Token` (a token may inspect itself), so no service
/// credentials are needed. Wrap it in a [`super::CachingValidator`].
#[derive(Debug, Clone)]
pub struct HttpTokenValidator {
    url: String,
    client: reqwest::Client,
}

impl HttpTokenValidator {
    /// A validator for the identity server at `auth_url` (with or without
    /// the trailing `/v3`), giving up on a request after `timeout`.
    pub fn new(auth_url: &str, timeout: Duration) -> Result<Self> {
        let base = auth_url.trim_end_matches('/');
        let base = base.strip_suffix("/v3").unwrap_or(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::invalid("auth_url must be an http(s) URL"));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Backend {
                backend: "http",
                source: Box::new(e),
            })?;
        Ok(Self {
            url: format!("{base}/v3/auth/tokens?nocatalog"),
            client,
        })
    }
}

#[derive(Deserialize)]
struct Body {
    token: WireToken,
}

#[derive(Deserialize)]
struct WireToken {
    user: WireUser,
    #[serde(default)]
    project: Option<WireNamed>,
    #[serde(default)]
    roles: Vec<WireNamed>,
    expires_at: String,
}

#[derive(Deserialize)]
struct WireUser {
    id: String,
    name: String,
    domain: WireNamed,
}

#[derive(Deserialize)]
struct WireNamed {
    id: String,
    #[serde(default)]
    name: String,
}

fn unavailable(reason: impl Into<String>) -> Error {
    Error::Unavailable {
        reason: reason.into(),
    }
}

#[async_trait]
impl TokenValidator for HttpTokenValidator {
    async fn validate(&self, token: &str) -> Result<Option<TokenInfo>> {
        let Ok(value) = reqwest::header::HeaderValue::from_str(token) else {
            return Ok(None);
        };
        let resp = self
            .client
            .get(&self.url)
            .header("x-auth-token", value.clone())
            .header("x-subject-token", value)
            .send()
            .await
            .map_err(|e| unavailable(format!("identity server unreachable: {e}")))?;
        match resp.status().as_u16() {
            200 => {}
            401 | 403 | 404 => return Ok(None),
            s => return Err(unavailable(format!("identity server answered {s}"))),
        }
        let body: Body = resp
            .json()
            .await
            .map_err(|e| unavailable(format!("bad token body from identity server: {e}")))?;
        let t = body.token;
        let expires_at = Timestamp::parse_iso8601(&t.expires_at)
            .ok_or_else(|| unavailable("bad expires_at from identity server"))?;
        Ok(Some(TokenInfo {
            user_id: t.user.id,
            user_name: t.user.name,
            user_domain_id: t.user.domain.id,
            project_name: t.project.as_ref().map(|p| p.name.clone()),
            project_id: t.project.map(|p| p.id),
            roles: t.roles.into_iter().map(|r| r.name).collect(),
            expires_at,
        }))
    }
}
