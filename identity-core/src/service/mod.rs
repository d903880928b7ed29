//! The identity behaviour over any [`IdentityBackend`]: bootstrap,
//! authentication, token validation and revocation, EC2 credentials, and
//! administration of domains, projects, users, roles and assignments.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::IdentityBackend;
use crate::catalog::Catalog;
use crate::error::{run_blocking, Error, Result};
use crate::ids::{DomainId, ProjectId, RoleId, UserId};
use crate::model::{
    validate_name, AssignmentFilter, AssignmentTarget, Ec2Credential, Ec2Secret, Password,
    PasswordHash, Project, RoleAssignment, User,
};
use crate::time::{Clock, SystemClock};

mod admin;
#[cfg(test)]
mod admin_tests;
mod auth;
mod bootstrap;
mod password;
#[cfg(test)]
mod tests;

pub use admin::{
    ListFilter, NamedAssignment, NamedTarget, NewProject, NewUser, ProjectUpdate, UserUpdate,
};
pub use auth::{
    AuthIdentity, AuthRequest, DomainSelector, IssuedToken, ProjectSelector, ScopeRequest,
    UserSelector, ValidateOptions,
};
pub use bootstrap::{BootstrapConfig, BootstrapOutcome};
pub use password::PasswordHashing;

/// Longest token lifetime accepted: 30 days.
pub const MAX_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// Settings of [`IdentityService`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Token lifetime in seconds (default 3600).
    #[serde(default = "default_token_ttl_secs")]
    pub token_ttl_secs: u64,
    /// Cost of new password hashes.
    #[serde(default)]
    pub password_hashing: PasswordHashing,
}

fn default_token_ttl_secs() -> u64 {
    3600
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            token_ttl_secs: default_token_ttl_secs(),
            password_hashing: PasswordHashing::default(),
        }
    }
}

impl IdentityConfig {
    /// `Error::InvalidConfig` for a lifetime outside 1 s to 30 days or bad
    /// hashing parameters.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_TOKEN_TTL_SECS).contains(&self.token_ttl_secs) {
            return Err(Error::config(format!(
                "token_ttl_secs {} must be between 1 and {MAX_TOKEN_TTL_SECS}",
                self.token_ttl_secs
            )));
        }
        self.password_hashing.validate()
    }

    fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }
}

/// Identity operations over a backend, a clock and a service catalog.
#[derive(Clone)]
pub struct IdentityService {
    backend: Arc<dyn IdentityBackend>,
    clock: Arc<dyn Clock>,
    config: IdentityConfig,
    catalog: Arc<Catalog>,
    // Verified against when the user is unknown, so that answering takes as
    // long as for a wrong password.
    dummy_hash: Arc<tokio::sync::OnceCell<PasswordHash>>,
}

impl fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityService")
            .field("backend", &self.backend.name())
            .field("config", &self.config)
            .field("services", &self.catalog.services.len())
            .finish()
    }
}

impl IdentityService {
    /// A service on `backend` with the system clock and an empty catalog;
    /// `Error::InvalidConfig` when `config` is invalid.
    pub fn new(backend: Arc<dyn IdentityBackend>, config: IdentityConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            backend,
            clock: Arc::new(SystemClock),
            config,
            catalog: Arc::new(Catalog::new()),
            dummy_hash: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    /// Replaces the clock (tests inject a [`ManualClock`](crate::time::ManualClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the catalog returned with scoped tokens.
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Arc::new(catalog);
        self
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn IdentityBackend> {
        &self.backend
    }

    /// The catalog as registered (placeholders not filled in).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The settings.
    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    async fn hash_password(&self, password: &Password) -> Result<PasswordHash> {
        if password.expose().is_empty() {
            return Err(Error::invalid("password must not be empty"));
        }
        let (cost, pw) = (self.config.password_hashing, password.clone());
        run_blocking("argon2", move || password::hash(&cost, &pw)).await
    }

    async fn verify_password(&self, hash: &PasswordHash, password: &Password) -> Result<bool> {
        let (h, pw) = (hash.clone(), password.clone());
        run_blocking("argon2", move || Ok(password::verify(&h, &pw))).await
    }

    /// Burns the time of one verification; always fails.
    async fn verify_dummy(&self, password: &Password) -> Result<()> {
        let hash = self
            .dummy_hash
            .get_or_try_init(|| async {
                self.hash_password(&Password::new("ferrostack-dummy")).await
            })
            .await?
            .clone();
        self.verify_password(&hash, password).await?;
        Ok(())
    }

    /// Creates an enabled project named `name` in `domain`.
    /// `Error::AlreadyExists` when the name is taken, `Error::NotFound` for an
    /// unknown domain, `Error::InvalidInput` for a bad name.
    pub async fn create_project(&self, domain: &DomainId, name: &str) -> Result<Project> {
        let project = Project {
            id: ProjectId::generate(),
            name: name.to_owned(),
            domain_id: domain.clone(),
            description: String::new(),
            enabled: true,
        };
        self.backend.create_project(&project).await?;
        Ok(project)
    }

    /// Creates an enabled user; without a password it cannot use password
    /// authentication. Errors as for [`create_project`](Self::create_project).
    pub async fn create_user(
        &self,
        domain: &DomainId,
        name: &str,
        password: Option<&Password>,
    ) -> Result<User> {
        validate_name("user", name)?;
        let password_hash = match password {
            Some(p) => Some(self.hash_password(p).await?),
            None => None,
        };
        let user = User {
            id: UserId::generate(),
            name: name.to_owned(),
            domain_id: domain.clone(),
            enabled: true,
            default_project_id: None,
            password_hash,
        };
        self.backend.create_user(&user).await?;
        Ok(user)
    }

    /// Sets a user's password; `Error::NotFound` for an unknown user,
    /// `Error::InvalidInput` for an empty password.
    pub async fn set_password(&self, user: &UserId, password: &Password) -> Result<()> {
        let mut u = self.backend.get_user(user).await?;
        u.password_hash = Some(self.hash_password(password).await?);
        self.backend.update_user(&u).await
    }

    /// Grants the role named `role` to `user` on `target` (idempotent);
    /// `Error::NotFound` when any of them does not exist.
    pub async fn grant_role_by_name(
        &self,
        user: &UserId,
        target: AssignmentTarget,
        role: &str,
    ) -> Result<()> {
        let role = self.backend.find_role(role).await?;
        self.backend
            .grant_role(&RoleAssignment {
                user_id: user.clone(),
                target,
                role_id: role.id,
            })
            .await
    }

    /// Ids of the roles `user` holds on `target`, sorted.
    async fn role_ids_on(&self, user: &UserId, target: &AssignmentTarget) -> Result<Vec<RoleId>> {
        let filter = AssignmentFilter {
            user_id: Some(user.clone()),
            target: Some(target.clone()),
            role_id: None,
        };
        Ok(self
            .backend
            .list_role_assignments(&filter)
            .await?
            .into_iter()
            .map(|a| a.role_id)
            .collect())
    }

    /// The enabled projects on which `user` holds any role, sorted by id
    /// (what `GET /v3/auth/projects` lists).
    pub async fn projects_for_user(&self, user: &UserId) -> Result<Vec<Project>> {
        let filter = AssignmentFilter {
            user_id: Some(user.clone()),
            target: None,
            role_id: None,
        };
        let mut ids: Vec<ProjectId> = self
            .backend
            .list_role_assignments(&filter)
            .await?
            .into_iter()
            .filter_map(|a| match a.target {
                AssignmentTarget::Project(p) => Some(p),
                AssignmentTarget::Domain(_) => None,
            })
            .collect();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.backend.get_project(&id).await {
                Ok(p) if p.enabled => out.push(p),
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Creates an EC2 key pair (random 32-hex access and secret) for `user`
    /// on `project`. `Error::NotFound` for an unknown user or project,
    /// `Error::Forbidden` when the user holds no role on the project.
    pub async fn create_ec2_credential(
        &self,
        user: &UserId,
        project: &ProjectId,
    ) -> Result<Ec2Credential> {
        self.backend.get_user(user).await?;
        self.backend.get_project(project).await?;
        let target = AssignmentTarget::Project(project.clone());
        if self.role_ids_on(user, &target).await?.is_empty() {
            return Err(Error::forbidden(format!(
                "user {user} has no role on project {project}"
            )));
        }
        let cred = Ec2Credential {
            access: uuid::Uuid::new_v4().simple().to_string(),
            secret: Ec2Secret::new(uuid::Uuid::new_v4().simple().to_string()),
            user_id: user.clone(),
            project_id: project.clone(),
        };
        self.backend.create_ec2_credential(&cred).await?;
        Ok(cred)
    }

    /// The user's EC2 credentials, sorted by access key; `Error::NotFound`
    /// for an unknown user.
    pub async fn list_ec2_credentials(&self, user: &UserId) -> Result<Vec<Ec2Credential>> {
        self.backend.get_user(user).await?;
        self.backend.list_ec2_credentials(user).await
    }

    /// One of the user's credentials; `Error::NotFound` when absent or owned
    /// by another user.
    pub async fn get_ec2_credential(&self, user: &UserId, access: &str) -> Result<Ec2Credential> {
        match self.backend.get_ec2_credential(access).await {
            Ok(c) if &c.user_id == user => Ok(c),
            Ok(_) => Err(Error::not_found(format!("ec2 credential {access}"))),
            Err(e) => Err(e),
        }
    }

    /// Deletes one of the user's credentials; `Error::NotFound` when absent
    /// or owned by another user.
    pub async fn delete_ec2_credential(&self, user: &UserId, access: &str) -> Result<()> {
        self.get_ec2_credential(user, access).await?;
        self.backend.delete_ec2_credential(access).await
    }

    /// The credential with this access key, whoever owns it (for the EC2
    /// API's signature check); `Error::NotFound` when absent.
    pub async fn find_ec2_credential(&self, access: &str) -> Result<Ec2Credential> {
        self.backend.get_ec2_credential(access).await
    }
}
