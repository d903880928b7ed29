//! tempauth: users from config, `GET /auth/v1.0` issues tokens, every
//! request's token is checked and the account access decided.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{Cache, Clock, Identity};
use crate::headers::Headers;
use crate::proxy::config::TempAuthConfig;
use crate::proxy::response::Reply;

/// Why a request may not proceed: 401 (who are you?) or 403 (not you).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    Unauthorized,
    Forbidden,
}

impl Denied {
    pub(crate) fn status(self) -> u16 {
        match self {
            Denied::Unauthorized => 401,
            Denied::Forbidden => 403,
        }
    }
}

struct UserEntry {
    account: String,
    key: String,
    groups: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct TokenEntry {
    /// Unix seconds at which the token expires.
    expires: f64,
    groups: Vec<String>,
}

/// The tempauth service of one proxy.
pub(crate) struct TempAuth {
    users: HashMap<String, UserEntry>,
    prefix: String,
    /// Every account prefix served (`prefix` first) with the group an
    /// owner's request must also carry.
    prefixes: Vec<(String, Option<String>)>,
    token_life: Duration,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TempAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempAuth")
            .field("users", &self.users.len())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

const TOKEN_PREFIX: &str = "tk";

impl TempAuth {
    pub(crate) fn new(cfg: &TempAuthConfig, cache: Arc<dyn Cache>, clock: Arc<dyn Clock>) -> Self {
        let users = cfg
            .users
            .iter()
            .map(|u| {
                (
                    format!("{}:{}", u.account, u.user),
                    UserEntry {
                        account: u.account.clone(),
                        key: u.key.clone(),
                        groups: u.groups.clone(),
                    },
                )
            })
            .collect();
        let mut prefixes = vec![(cfg.reseller_prefix.clone(), None)];
        prefixes.extend(
            cfg.service_prefixes
                .iter()
                .map(|sp| (sp.prefix.clone(), sp.require_group.clone())),
        );
        Self {
            users,
            prefixes,
            prefix: cfg.reseller_prefix.clone(),
            token_life: Duration::from_secs(cfg.token_life_secs),
            cache,
            clock,
        }
    }

    fn now_secs(&self) -> f64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    /// Serves `GET /auth/...`: `path` is the part after `/auth/`, `base_url`
    /// is `scheme://host`.
    pub(crate) async fn handle_get_token(
        &self,
        method: &http::Method,
        path: &str,
        headers: &Headers,
        base_url: &str,
    ) -> Reply {
        if method != http::Method::GET {
            return Reply::status(400);
        }
        let segs: Vec<&str> = path.split('/').collect();
        // `/auth/v1.0`, `/auth/v1`, `/auth/auth` or `/auth/v1/<acct>/auth`.
        let (version, path_account) = match segs.as_slice() {
            [v] | [v, ""] => (*v, None),
            [v, a, "auth"] | [v, a, "auth", ""] if !a.is_empty() => (*v, Some(*a)),
            _ => return Reply::status(400),
        };
        if !matches!(version, "v1" | "v1.0" | "auth") {
            return Reply::status(400);
        }
        let user = headers
            .get("x-auth-user")
            .or_else(|| headers.get("x-storage-user"));
        let key = headers
            .get("x-auth-key")
            .or_else(|| headers.get("x-storage-pass"));
        let (Some(user), Some(key)) = (user, key) else {
            return Reply::status(401);
        };
        let account_user = match (path_account, user.split_once(':')) {
            (Some(a), Some((ua, _))) if a != ua => return Reply::status(401),
            (Some(a), None) => format!("{a}:{user}"),
            (_, Some(_)) => user.to_string(),
            (None, None) => return Reply::status(401),
        };
        let Some(entry) = self.users.get(&account_user) else {
            return Reply::status(401);
        };
        if !constant_time_eq(entry.key.as_bytes(), key.as_bytes()) {
            return Reply::status(401);
        }
        let (token, expires) = self.token_for(&account_user, entry).await;
        let url = format!("{base_url}/v1/{}{}", self.prefix, entry.account);
        let left = (expires - self.now_secs()).max(0.0) as u64;
        let body = serde_json::json!({"storage": {"default": "local", "local": url}}).to_string();
        Reply::typed(200, "application/json; charset=UTF-8", body)
            .with("x-auth-token", token.clone())
            .with("x-storage-token", token)
            .with("x-auth-token-expires", left.to_string())
            .with("x-storage-url", url)
    }

    /// The user's current token, or a new one.
    async fn token_for(&self, account_user: &str, entry: &UserEntry) -> (String, f64) {
        let user_key = format!("{}/user/{account_user}", self.prefix);
        if let Some(token) = self.cache.get(&user_key).await {
            if let Some(te) = self.lookup(&token).await {
                return (token, te.expires);
            }
        }
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = format!("{}{TOKEN_PREFIX}{}", self.prefix, hex::encode(raw));
        let expires = self.now_secs() + self.token_life.as_secs_f64();
        let te = TokenEntry {
            expires,
            groups: self.groups_of(account_user, entry),
        };
        if let Ok(v) = serde_json::to_string(&te) {
            self.cache
                .set(&self.token_key(&token), v, self.token_life)
                .await;
            self.cache
                .set(&user_key, token.clone(), self.token_life)
                .await;
        }
        (token, expires)
    }

    fn groups_of(&self, account_user: &str, entry: &UserEntry) -> Vec<String> {
        let mut groups = vec![account_user.to_string(), entry.account.clone()];
        for g in &entry.groups {
            if g == ".admin" {
                // An owner owns its account under every prefix.
                for (prefix, _) in &self.prefixes {
                    groups.push(format!("{prefix}{}", entry.account));
                }
            } else {
                groups.push(g.clone());
            }
        }
        groups
    }

    fn token_key(&self, token: &str) -> String {
        format!("{}/token/{token}", self.prefix)
    }

    async fn lookup(&self, token: &str) -> Option<TokenEntry> {
        let v = self.cache.get(&self.token_key(token)).await?;
        let te: TokenEntry = serde_json::from_str(&v).ok()?;
        (te.expires > self.now_secs()).then_some(te)
    }

    /// The groups of a token of ours, if it is valid.
    async fn token_groups(&self, token: &str) -> Option<Vec<String>> {
        if !token.starts_with(&format!("{}{TOKEN_PREFIX}", self.prefix)) {
            return None;
        }
        Some(self.lookup(token).await?.groups)
    }

    /// The identity behind the request's token, if it is valid. A valid
    /// `X-Service-Token` adds its groups (a service acting for the user).
    pub(crate) async fn identify(&self, headers: &Headers) -> Option<Identity> {
        let token = headers
            .get("x-auth-token")
            .or_else(|| headers.get("x-storage-token"))?;
        let mut groups = self.token_groups(token).await?;
        let user = groups.first().cloned().unwrap_or_default();
        if let Some(service) = headers.get("x-service-token") {
            if let Some(more) = self.token_groups(service).await {
                groups.extend(more);
            }
        }
        Some(Identity {
            user,
            groups,
            read_only: Vec::new(),
        })
    }

    /// Whether `account` has one of the prefixes tempauth serves.
    pub(crate) fn serves(&self, account: &str) -> bool {
        self.prefix_of(account).is_some()
    }

    /// The prefix rule `account` falls under (longest prefix first).
    fn prefix_of(&self, account: &str) -> Option<&(String, Option<String>)> {
        self.prefixes
            .iter()
            .filter(|(p, _)| account.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
    }

    /// Decides whether `id` may send `method` to `account[/container]`.
    pub(crate) fn authorize(
        &self,
        id: Option<&Identity>,
        method: &http::Method,
        account: &str,
        container: Option<&str>,
    ) -> Result<(), Denied> {
        let Some(id) = id else {
            return Err(Denied::Unauthorized);
        };
        let Some((prefix, require_group)) = self.prefix_of(account) else {
            return Err(Denied::Forbidden);
        };
        if id.has_group(".reseller_admin")
            && account != prefix
            && !account[prefix.len()..].starts_with('.')
        {
            return Ok(());
        }
        let account_op = method == http::Method::PUT || method == http::Method::DELETE;
        if id.has_group(account)
            && (!account_op || container.is_some())
            && require_group.as_ref().is_none_or(|g| id.has_group(g))
        {
            return Ok(());
        }
        let read = method == http::Method::GET || method == http::Method::HEAD;
        if read && id.read_only.iter().any(|a| a == account) {
            return Ok(());
        }
        Err(Denied::Forbidden)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
