//! Proxy configuration.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::hash::HashConfig;
use crate::names::Constraints;

/// Settings of the proxy server: authentication, timeouts and limits.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// The built-in tempauth users and token settings.
    pub tempauth: TempAuthConfig,
    /// Seconds to wait for a storage node's answer (or the next chunk).
    pub node_timeout_secs: f64,
    /// Seconds to wait for a storage node to accept a request.
    pub conn_timeout_secs: f64,
    /// Cluster limits on names, metadata and sizes.
    pub constraints: Constraints,
    /// Create an account on its first container PUT or POST, and answer an
    /// empty listing for a missing account.
    pub account_autocreate: bool,
    /// Allow PUT and DELETE of accounts (by a reseller admin).
    pub allow_account_management: bool,
    /// Scheme of `X-Storage-Url`; `None` takes the request's scheme.
    pub storage_url_scheme: Option<String>,
    /// The cluster's path-hash secret; set by the server, never read from
    /// the file.
    #[serde(skip, default = "default_hash")]
    pub hash: HashConfig,
}

fn default_hash() -> HashConfig {
    HashConfig::new("", "")
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            tempauth: TempAuthConfig::default(),
            node_timeout_secs: 10.0,
            conn_timeout_secs: 0.5,
            constraints: Constraints::default(),
            account_autocreate: true,
            allow_account_management: false,
            storage_url_scheme: None,
            hash: default_hash(),
        }
    }
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("tempauth", &self.tempauth)
            .field("node_timeout_secs", &self.node_timeout_secs)
            .field("conn_timeout_secs", &self.conn_timeout_secs)
            .field("constraints", &self.constraints)
            .field("account_autocreate", &self.account_autocreate)
            .field("allow_account_management", &self.allow_account_management)
            .field("storage_url_scheme", &self.storage_url_scheme)
            .field("hash", &self.hash)
            .finish()
    }
}

impl ProxyConfig {
    /// Checks the values; fails with [`Error::InvalidConfig`].
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("node_timeout_secs", self.node_timeout_secs),
            ("conn_timeout_secs", self.conn_timeout_secs),
        ] {
            if !v.is_finite() || v <= 0.0 || v > 86_400.0 {
                return Err(Error::config(format!("{name} must be in (0, 86400]")));
            }
        }
        if let Some(s) = &self.storage_url_scheme {
            if s != "http" && s != "https" {
                return Err(Error::config("storage_url_scheme must be http or https"));
            }
        }
        self.tempauth.validate()
    }

    pub(crate) fn node_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.node_timeout_secs)
    }

    pub(crate) fn conn_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.conn_timeout_secs)
    }
}

/// Settings of the built-in tempauth authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TempAuthConfig {
    /// The users that may authenticate.
    pub users: Vec<TempAuthUser>,
    /// Lifetime of an issued token, in seconds.
    pub token_life_secs: u64,
    /// Prefix of the accounts tempauth serves (`AUTH_`).
    pub reseller_prefix: String,
    /// More account prefixes served besides `reseller_prefix`, e.g.
    /// `SERVICE_` requiring group `service`: an account owner reaches
    /// `SERVICE_<account>` only with a service user's token in
    /// `X-Service-Token` as well.
    pub service_prefixes: Vec<ServicePrefix>,
}

/// One more reseller prefix of tempauth (Swift's
/// `reseller_prefix = AUTH, SERVICE` with `SERVICE_require_group`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePrefix {
    /// The account prefix, e.g. `SERVICE_`.
    pub prefix: String,
    /// The group that one of the request's tokens must carry for an
    /// owner to act on such an account; `None`: ownership suffices.
    #[serde(default)]
    pub require_group: Option<String>,
}

impl Default for TempAuthConfig {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            token_life_secs: 86_400,
            reseller_prefix: "AUTH_".into(),
            service_prefixes: Vec::new(),
        }
    }
}

impl TempAuthConfig {
    fn validate(&self) -> Result<()> {
        if self.token_life_secs == 0 {
            return Err(Error::config("tempauth.token_life_secs must be positive"));
        }
        if self.reseller_prefix.contains('/') {
            return Err(Error::config("tempauth.reseller_prefix cannot contain /"));
        }
        for sp in &self.service_prefixes {
            if sp.prefix.is_empty() || sp.prefix.contains('/') || sp.prefix == self.reseller_prefix
            {
                return Err(Error::config(format!(
                    "tempauth service prefix {:?} must be non-empty, without /, and differ from reseller_prefix",
                    sp.prefix
                )));
            }
        }
        let mut seen = HashSet::new();
        for u in &self.users {
            if u.account.is_empty() || u.user.is_empty() {
                return Err(Error::config("tempauth user needs an account and a user"));
            }
            if u.account.contains(':') || u.account.contains('/') || u.user.contains(':') {
                return Err(Error::config(format!(
                    "tempauth user {}:{} has a bad character",
                    u.account, u.user
                )));
            }
            if !seen.insert((u.account.as_str(), u.user.as_str())) {
                return Err(Error::config(format!(
                    "tempauth user {}:{} is listed twice",
                    u.account, u.user
                )));
            }
        }
        Ok(())
    }
}

/// One tempauth user: `account:user` with a key and groups (`.admin`,
/// `.reseller_admin`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempAuthUser {
    /// Account name without the reseller prefix (`test` for `AUTH_test`).
    pub account: String,
    /// User name within the account.
    pub user: String,
    /// The user's key (password).
    pub key: String,
    /// Groups: `.admin` makes the user the account's owner,
    /// `.reseller_admin` gives access to every account.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl fmt::Debug for TempAuthUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempAuthUser")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("key", &"<redacted>")
            .field("groups", &self.groups)
            .finish()
    }
}
