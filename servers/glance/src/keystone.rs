//! [`KeystoneAuthenticator`]: Glance callers from identity tokens.

use std::sync::Arc;

use async_trait::async_trait;
use glance_core::image::access::Caller;
use glance_core::ProjectId;
use identity_core::{TokenInfo, TokenValidator};

use crate::auth::Authenticator;

/// Resolves `X-Auth-Token` through the identity service (in process or
/// over HTTP): the token's project is the caller's project, the `admin`
/// role makes an admin, a token with `reader` but not `member` is read-only.
#[derive(Debug, Clone)]
pub struct KeystoneAuthenticator {
    validator: Arc<dyn TokenValidator>,
}

impl KeystoneAuthenticator {
    /// An authenticator asking `validator`.
    pub fn new(validator: Arc<dyn TokenValidator>) -> Self {
        Self { validator }
    }
}

/// The Glance caller a token stands for.
pub fn caller_of(info: &TokenInfo) -> Option<Caller> {
    let project = match &info.project_id {
        Some(p) => Some(ProjectId::new(p.clone()).ok()?),
        None => None,
    };
    Some(Caller::from_roles(project, &info.roles))
}

#[async_trait]
impl Authenticator for KeystoneAuthenticator {
    async fn authenticate(&self, token: &str) -> Option<Caller> {
        match self.validator.validate(token).await {
            Ok(Some(info)) => caller_of(&info),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "token validation failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity_core::Timestamp;

    fn info(project: Option<&str>, roles: &[&str]) -> TokenInfo {
        TokenInfo {
            user_id: "u".into(),
            user_name: "alice".into(),
            user_domain_id: "default".into(),
            project_id: project.map(str::to_string),
            project_name: project.map(str::to_string),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            expires_at: Timestamp::from_micros(0),
        }
    }

    #[test]
    fn roles_and_project_map_to_caller() {
        let c = caller_of(&info(Some("p1"), &["member"])).unwrap();
        assert_eq!(c.project.as_ref().unwrap().as_str(), "p1");
        assert!(!c.is_admin);
        assert!(caller_of(&info(Some("p1"), &["Admin"])).unwrap().is_admin);
        assert!(caller_of(&info(None, &[])).unwrap().project.is_none());
        let reader = caller_of(&info(Some("p1"), &["reader"])).unwrap();
        assert!(reader.read_only && !reader.can_write());
        assert!(c.can_write());
    }
}
