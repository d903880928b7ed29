//! Keystone-token mode: the proxy accepts identity-service tokens beside
//! tempauth's. A token scoped to project `P` owns account
//! `<reseller_prefix>P` when it carries an operator role, may only read it
//! with a reader role, and is a reseller admin with the reseller role.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::Identity;
use crate::error::Result;

/// What a Keystone token says about its bearer, as the proxy needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeystoneIdentity {
    /// User id.
    pub user_id: String,
    /// User name.
    pub user_name: String,
    /// The project the token is scoped to, if any.
    pub project_id: Option<String>,
    /// Role names on that project.
    pub roles: Vec<String>,
}

/// Resolves Keystone tokens (in process or against an identity server).
#[async_trait]
pub trait KeystoneValidator: Send + Sync + fmt::Debug + 'static {
    /// The bearer of `token`; `Ok(None)` for an unknown, expired or revoked
    /// token; `Err(Unavailable)` when the identity service cannot answer.
    async fn validate(&self, token: &str) -> Result<Option<KeystoneIdentity>>;
}

/// How Keystone roles map to Swift access.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct KeystoneAuthConfig {
    /// Prefix of the account of a project (`AUTH_` + project id).
    pub reseller_prefix: String,
    /// Roles that own their project's account.
    pub operator_roles: Vec<String>,
    /// Roles that may only read (GET/HEAD) their project's account.
    pub reader_roles: Vec<String>,
    /// The role that may use every account.
    pub reseller_admin_role: String,
}

impl Default for KeystoneAuthConfig {
    fn default() -> Self {
        Self {
            reseller_prefix: "AUTH_".into(),
            operator_roles: vec!["admin".into(), "member".into()],
            reader_roles: vec!["reader".into()],
            reseller_admin_role: "ResellerAdmin".into(),
        }
    }
}

/// The proxy's Keystone mode: a validator plus the role mapping.
#[derive(Debug, Clone)]
pub(crate) struct KeystoneAuth {
    pub(crate) validator: Arc<dyn KeystoneValidator>,
    pub(crate) config: KeystoneAuthConfig,
}

impl KeystoneAuth {
    /// The identity behind `token`, in tempauth's group terms.
    pub(crate) async fn identify(&self, token: &str) -> Result<Option<Identity>> {
        Ok(self.validator.validate(token).await?.map(|k| self.map(&k)))
    }

    fn map(&self, k: &KeystoneIdentity) -> Identity {
        let has = |names: &[String]| {
            k.roles
                .iter()
                .any(|r| names.iter().any(|n| n.eq_ignore_ascii_case(r)))
        };
        let mut groups = vec![k.user_name.clone()];
        let mut read_only = Vec::new();
        if let Some(p) = &k.project_id {
            let account = format!("{}{p}", self.config.reseller_prefix);
            if has(&self.config.operator_roles) {
                groups.push(account);
            } else if has(&self.config.reader_roles) {
                read_only.push(account);
            }
        }
        if has(std::slice::from_ref(&self.config.reseller_admin_role)) {
            groups.push(".reseller_admin".into());
        }
        Identity {
            user: k.user_name.clone(),
            groups,
            read_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct None_;
    #[async_trait]
    impl KeystoneValidator for None_ {
        async fn validate(&self, _: &str) -> Result<Option<KeystoneIdentity>> {
            Ok(None)
        }
    }

    fn auth() -> KeystoneAuth {
        KeystoneAuth {
            validator: Arc::new(None_),
            config: KeystoneAuthConfig::default(),
        }
    }

    fn ident(project: Option<&str>, roles: &[&str]) -> KeystoneIdentity {
        KeystoneIdentity {
            user_id: "u1".into(),
            user_name: "alice".into(),
            project_id: project.map(str::to_string),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn roles_map_to_groups() {
        let a = auth();
        let member = a.map(&ident(Some("p1"), &["Member"]));
        assert!(member.has_group("AUTH_p1"));
        assert!(member.read_only.is_empty());
        let reader = a.map(&ident(Some("p1"), &["reader"]));
        assert!(!reader.has_group("AUTH_p1"));
        assert_eq!(reader.read_only, vec!["AUTH_p1".to_string()]);
        let nobody = a.map(&ident(Some("p1"), &["other"]));
        assert!(!nobody.has_group("AUTH_p1") && nobody.read_only.is_empty());
        let unscoped = a.map(&ident(None, &["admin"]));
        assert_eq!(unscoped.groups, vec!["alice".to_string()]);
        let reseller = a.map(&ident(Some("p1"), &["ResellerAdmin"]));
        assert!(reseller.has_group(".reseller_admin"));
    }

    #[tokio::test]
    async fn unknown_tokens_have_no_identity() {
        assert_eq!(auth().identify("t").await.unwrap(), None);
    }
}
