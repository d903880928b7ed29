//! Getting (and caching) a token and storage URL: tempauth v1 or Keystone
//! v3 password auth with the `object-store` endpoint from the catalog.

use serde::Deserialize;
use serde_json::json;

use super::config::SwiftAuthConfig;
use super::BACKEND;
use crate::error::{Error, Result};
use crate::store::remote::{self, Secret};

/// A token and the account URL it is good for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) token: Secret,
    /// e.g. `http://127.0.0.1:8080/v1/AUTH_test`, no trailing `/`.
    pub(crate) storage_url: String,
}

/// Authenticates once and hands out the cached session until told the
/// token was refused.
#[derive(Debug)]
pub(crate) struct Authenticator {
    client: reqwest::Client,
    config: SwiftAuthConfig,
    pub(super) cached: tokio::sync::Mutex<Option<Session>>,
}

impl Authenticator {
    pub(crate) fn new(client: reqwest::Client, config: SwiftAuthConfig) -> Self {
        Self {
            client,
            config,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The cached session, authenticating if there is none.
    pub(crate) async fn session(&self) -> Result<Session> {
        let mut cached = self.cached.lock().await;
        if let Some(s) = cached.as_ref() {
            return Ok(s.clone());
        }
        let s = self.authenticate().await?;
        *cached = Some(s.clone());
        Ok(s)
    }

    /// Drops `stale` (a session whose token got a 401) so the next
    /// [`Self::session`] authenticates again; a newer session is kept.
    pub(crate) async fn invalidate(&self, stale: &Session) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref() == Some(stale) {
            *cached = None;
        }
    }

    async fn authenticate(&self) -> Result<Session> {
        match &self.config {
            SwiftAuthConfig::Tempauth {
                auth_url,
                user,
                key,
            } => self.tempauth(auth_url, user, key).await,
            SwiftAuthConfig::Keystone {
                auth_url,
                user,
                password,
                project,
                user_domain,
                project_domain,
                region,
                interface,
            } => {
                let body = json!({"auth": {
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": user,
                        "domain": {"name": user_domain},
                        "password": password.expose(),
                    }}},
                    "scope": {"project": {"name": project, "domain": {"name": project_domain}}},
                }});
                let url = format!("{}/auth/tokens", auth_url.trim_end_matches('/'));
                let resp = self
                    .client
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| remote::transport(BACKEND, e))?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(refused(status));
                }
                let token = remote::header(&resp, "x-subject-token")
                    .ok_or_else(|| Error::backend(BACKEND, "keystone answered no X-Subject-Token"))?
                    .to_string();
                let body = remote::small_body(BACKEND, resp, 4 << 20).await?;
                let doc: TokenDoc =
                    serde_json::from_slice(&body).map_err(|e| Error::backend(BACKEND, e))?;
                let storage_url = object_store_url(&doc, region.as_deref(), interface)?;
                Ok(Session {
                    token: Secret::new(token),
                    storage_url,
                })
            }
        }
    }

    async fn tempauth(&self, auth_url: &str, user: &str, key: &Secret) -> Result<Session> {
        let resp = self
            .client
            .get(auth_url)
            .header("x-auth-user", user)
            .header("x-auth-key", key.expose())
            .send()
            .await
            .map_err(|e| remote::transport(BACKEND, e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(refused(status));
        }
        let token = remote::header(&resp, "x-auth-token");
        let url = remote::header(&resp, "x-storage-url");
        match (token, url) {
            (Some(t), Some(u)) => Ok(Session {
                token: Secret::new(t),
                storage_url: u.trim_end_matches('/').to_string(),
            }),
            _ => Err(Error::backend(
                BACKEND,
                "tempauth answered no X-Auth-Token or X-Storage-Url",
            )),
        }
    }
}

fn refused(status: reqwest::StatusCode) -> Error {
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        Error::config(format!("swift store credentials refused ({status})"))
    } else {
        remote::status_error(BACKEND, "swift auth", status)
    }
}

#[derive(Deserialize)]
struct TokenDoc {
    token: TokenBody,
}

#[derive(Deserialize)]
struct TokenBody {
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    endpoints: Vec<EndpointEntry>,
}

#[derive(Deserialize)]
struct EndpointEntry {
    interface: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    url: String,
}

/// The `object-store` endpoint of `interface` (in `region` if given).
fn object_store_url(doc: &TokenDoc, region: Option<&str>, interface: &str) -> Result<String> {
    doc.token
        .catalog
        .iter()
        .filter(|s| s.kind == "object-store")
        .flat_map(|s| &s.endpoints)
        .find(|e| {
            e.interface == interface
                && region.is_none_or(|r| {
                    e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r)
                })
        })
        .map(|e| e.url.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            Error::config(format!(
                "no {interface} object-store endpoint{} in the keystone catalog",
                region
                    .map(|r| format!(" in region {r}"))
                    .unwrap_or_default()
            ))
        })
}
