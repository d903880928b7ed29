//! Who may sign EC2 requests: [`Ec2Credentials`] looks up an access key.
//! In process it is the identity service's EC2 credentials
//! ([`IdentityEc2Credentials`]); a remote lookup (Keystone's
//! `/v3/ec2tokens`) can implement the same trait later.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use identity_core::model::AssignmentFilter;
use identity_core::{AssignmentTarget, Error as IdentityError, IdentityService};

use super::error::{Ec2Error, Ec2Result};

/// A secret key; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Ec2Secret(String);

impl Ec2Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret, for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Ec2Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ec2Secret(<redacted>)")
    }
}

/// What an access key stands for: its secret and the caller requests
/// signed with it act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Principal {
    /// The secret requests are signed with.
    pub secret: Ec2Secret,
    /// The user.
    pub user_id: String,
    /// The project requests act on.
    pub project_id: String,
    /// The user's role names on that project.
    pub roles: Vec<String>,
}

/// Looks up EC2 access keys.
#[async_trait]
pub trait Ec2Credentials: Send + Sync + fmt::Debug + 'static {
    /// The principal of `access`, `None` when there is none (or its user
    /// or project is disabled). Errors mean the lookup itself failed.
    async fn lookup(&self, access: &str) -> Ec2Result<Option<Ec2Principal>>;

    /// A token acting as the key's user on its project, asked for once the
    /// request's signature checked out; `None` (the default) when the
    /// services need none.
    async fn token(&self, _access: &str) -> Ec2Result<Option<Ec2Secret>> {
        Ok(None)
    }
}

/// A fixed set of keys (tests, standalone servers).
#[derive(Debug, Clone, Default)]
pub struct StaticEc2Credentials(HashMap<String, Ec2Principal>);

impl StaticEc2Credentials {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `access`.
    pub fn with(mut self, access: impl Into<String>, principal: Ec2Principal) -> Self {
        self.0.insert(access.into(), principal);
        self
    }
}

#[async_trait]
impl Ec2Credentials for StaticEc2Credentials {
    async fn lookup(&self, access: &str) -> Ec2Result<Option<Ec2Principal>> {
        Ok(self.0.get(access).cloned())
    }
}

/// The identity service's EC2 credentials (`openstack ec2 credentials
/// create`): a key works while its user is enabled and holds a role on its
/// enabled project; the context carries those roles and a token issued for
/// the key (reused until a minute before it expires).
#[derive(Debug, Clone)]
pub struct IdentityEc2Credentials(pub Arc<IdentityService>, TokenCache);

/// Tokens issued per access key, with their expiry.
#[derive(Clone, Default)]
pub(crate) struct TokenCache(Arc<Mutex<HashMap<String, (Ec2Secret, identity_core::Timestamp)>>>);

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCache(<redacted>)")
    }
}

impl IdentityEc2Credentials {
    /// Keys of `identity`.
    pub fn new(identity: Arc<IdentityService>) -> Self {
        Self(identity, TokenCache::default())
    }
}

fn unavailable(e: IdentityError) -> Ec2Error {
    Ec2Error::unavailable(format!("ec2 credential lookup: {e}"))
}

#[async_trait]
impl Ec2Credentials for IdentityEc2Credentials {
    async fn lookup(&self, access: &str) -> Ec2Result<Option<Ec2Principal>> {
        let cred = match self.0.find_ec2_credential(access).await {
            Ok(c) => c,
            Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        match self.0.get_user(&cred.user_id).await {
            Ok(u) if u.enabled => {}
            Ok(_) | Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        }
        match self.0.get_project(&cred.project_id).await {
            Ok(p) if p.enabled => {}
            Ok(_) | Err(IdentityError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        }
        let filter = AssignmentFilter {
            user_id: Some(cred.user_id.clone()),
            target: Some(AssignmentTarget::Project(cred.project_id.clone())),
            role_id: None,
        };
        let assignments = self
            .0
            .list_role_assignments(&filter)
            .await
            .map_err(unavailable)?;
        let mut roles = Vec::with_capacity(assignments.len());
        for a in assignments {
            match self.0.get_role(&a.role_id).await {
                Ok(r) => roles.push(r.name),
                Err(IdentityError::NotFound { .. }) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        if roles.is_empty() {
            return Ok(None);
        }
        // (The token cache is keyed by access key; see `token`.)
        Ok(Some(Ec2Principal {
            secret: Ec2Secret::new(cred.secret.expose()),
            user_id: cred.user_id.to_string(),
            project_id: cred.project_id.to_string(),
            roles,
        }))
    }

    async fn token(&self, access: &str) -> Ec2Result<Option<Ec2Secret>> {
        let now = super::time::epoch_secs(std::time::SystemTime::now()).saturating_add(60);
        let soon = identity_core::Timestamp::from_micros(now.saturating_mul(1_000_000));
        let cached = {
            let cache = self.1 .0.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(access)
                .filter(|(_, exp)| *exp > soon)
                .map(|(t, _)| t.clone())
        };
        if cached.is_some() {
            return Ok(cached);
        }
        let issued = match self.0.authenticate_ec2(access).await {
            Ok(t) => t,
            Err(e @ (IdentityError::Unauthorized { .. } | IdentityError::NotFound { .. })) => {
                return Err(Ec2Error::auth(format!("Unusable credential: {e}")))
            }
            Err(e) => return Err(unavailable(e)),
        };
        let token = Ec2Secret::new(issued.token.id.expose());
        let mut cache = self.1 .0.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(access.to_owned(), (token.clone(), issued.token.expires_at));
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use identity_core::service::{BootstrapConfig, PasswordHashing, UserUpdate};
    use identity_core::{
        AssignmentTarget, DomainId, IdentityConfig, MemoryIdentityBackend, Password, TokenId,
    };

    use super::*;

    #[tokio::test]
    async fn identity_keys_carry_roles_and_a_cached_token() {
        let cfg = IdentityConfig {
            password_hashing: PasswordHashing::insecure_fast(),
            ..IdentityConfig::default()
        };
        let id = IdentityService::new(Arc::new(MemoryIdentityBackend::new()), cfg).unwrap();
        id.bootstrap(&BootstrapConfig::new(Password::new("secret")))
            .await
            .unwrap();
        let id = Arc::new(id);
        let domain = DomainId::default_domain();
        let project = id.create_project(&domain, "p").await.unwrap();
        let user = id.create_user(&domain, "u", None).await.unwrap();
        let _ = id.create_role("member", None).await;
        let target = AssignmentTarget::Project(project.id.clone());
        id.grant_role_by_name(&user.id, target, "member")
            .await
            .unwrap();
        let cred = id
            .create_ec2_credential(&user.id, &project.id)
            .await
            .unwrap();

        let keys = IdentityEc2Credentials::new(id.clone());
        let p = keys.lookup(&cred.access).await.unwrap().unwrap();
        assert_eq!(p.project_id, project.id.to_string());
        assert_eq!(p.roles, ["member"]);
        assert_eq!(p.secret.expose(), cred.secret.expose());
        assert!(!format!("{p:?}{keys:?}").contains(cred.secret.expose()));
        assert!(keys.lookup("unknown").await.unwrap().is_none());

        // The token is the user's on the project, and reused.
        let t = keys.token(&cred.access).await.unwrap().unwrap();
        let v = id
            .validate_token(&TokenId::new(t.expose()).unwrap(), &Default::default())
            .await
            .unwrap();
        assert_eq!(v.token.user.id, user.id);
        let again = keys.token(&cred.access).await.unwrap().unwrap();
        assert_eq!(again, t);
        assert_eq!(keys.token("unknown").await.unwrap_err().code, "AuthFailure");

        let off = UserUpdate {
            enabled: Some(false),
            ..UserUpdate::default()
        };
        id.update_user(&user.id, &off).await.unwrap();
        assert!(keys.lookup(&cred.access).await.unwrap().is_none());
    }
}
