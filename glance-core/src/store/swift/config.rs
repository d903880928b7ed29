//! Configuration of [`super::SwiftImageStore`].

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::remote::Secret;

/// How the Swift store authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SwiftAuthConfig {
    /// Swift's tempauth (v1): `GET auth_url` with `X-Auth-User`/`X-Auth-Key`
    /// answers `X-Storage-Url` and `X-Auth-Token`.
    Tempauth {
        /// e.g. `http://127.0.0.1:8080/auth/v1.0`.
        auth_url: String,
        /// `account:user`.
        user: String,
        /// The user's key.
        key: Secret,
    },
    /// Keystone v3 password auth; the storage URL is the `object-store`
    /// endpoint of the token's catalog.
    Keystone {
        /// The v3 root, e.g. `http://127.0.0.1:5000/v3`.
        auth_url: String,
        /// User name.
        user: String,
        /// The user's password.
        password: Secret,
        /// Project name to scope the token to.
        project: String,
        /// Domain name of the user (default `Default`).
        #[serde(default = "default_domain")]
        user_domain: String,
        /// Domain name of the project (default `Default`).
        #[serde(default = "default_domain")]
        project_domain: String,
        /// Region of the endpoint; `None` takes the first one.
        #[serde(default)]
        region: Option<String>,
        /// Endpoint interface (default `public`).
        #[serde(default = "default_interface")]
        interface: String,
    },
}

/// Configuration of [`super::SwiftImageStore`] (glance_store's
/// single-tenant `swift` driver).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwiftStoreConfig {
    /// How to get a token and storage URL.
    pub auth: SwiftAuthConfig,
    /// Container of the images (default `glance`).
    #[serde(default = "default_container")]
    pub container: String,
    /// Container of large-object segments; default `<container>_segments`.
    /// May equal `container`.
    #[serde(default)]
    pub segment_container: Option<String>,
    /// Create the containers on the first put (default true).
    #[serde(default = "default_true")]
    pub create_container: bool,
    /// Images of at least this size, or of unknown size that fill a
    /// segment, are stored as segments plus a manifest (default 5 GiB).
    #[serde(default = "default_large_object_size")]
    pub large_object_size: u64,
    /// Size of one segment; one segment is buffered in memory during a
    /// segmented put (default 200 MiB).
    #[serde(default = "default_segment_size")]
    pub segment_size: u64,
}

fn default_domain() -> String {
    "Default".into()
}

fn default_interface() -> String {
    "public".into()
}

fn default_container() -> String {
    "glance".into()
}

fn default_true() -> bool {
    true
}

fn default_large_object_size() -> u64 {
    5 << 30
}

fn default_segment_size() -> u64 {
    200 << 20
}

/// The largest segment we accept: it is buffered in memory.
const MAX_SEGMENT_SIZE: u64 = 5 << 30;

impl SwiftStoreConfig {
    /// A config with the defaults and `auth`.
    pub fn new(auth: SwiftAuthConfig) -> Self {
        Self {
            auth,
            container: default_container(),
            segment_container: None,
            create_container: true,
            large_object_size: default_large_object_size(),
            segment_size: default_segment_size(),
        }
    }

    /// The container holding segments.
    pub fn segment_container(&self) -> String {
        self.segment_container
            .clone()
            .unwrap_or_else(|| format!("{}_segments", self.container))
    }

    /// Checks names, URLs and sizes.
    pub fn validate(&self) -> Result<()> {
        let url = match &self.auth {
            SwiftAuthConfig::Tempauth { auth_url, user, .. } => {
                if !user.contains(':') {
                    return Err(Error::config("swift tempauth user must be account:user"));
                }
                auth_url
            }
            SwiftAuthConfig::Keystone {
                auth_url,
                user,
                project,
                ..
            } => {
                if user.is_empty() || project.is_empty() {
                    return Err(Error::config(
                        "swift keystone user and project are required",
                    ));
                }
                auth_url
            }
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::config(format!(
                "swift auth_url {url} is not http(s)"
            )));
        }
        check_container(&self.container)?;
        check_container(&self.segment_container())?;
        if self.segment_size == 0 || self.segment_size > MAX_SEGMENT_SIZE {
            return Err(Error::config(format!(
                "swift segment_size must be 1..={MAX_SEGMENT_SIZE}"
            )));
        }
        if self.large_object_size == 0 {
            return Err(Error::config("swift large_object_size must be positive"));
        }
        Ok(())
    }
}

/// Container names go into URLs unencoded: keep them to URL-safe characters.
fn check_container(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "swift container {name:?} must be 1-256 of A-Z a-z 0-9 - _ . ~"
        )))
    }
}
