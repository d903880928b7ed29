//! Idempotent first-run setup: default domain, standard roles, admin user
//! and project.

use std::fmt;

use serde::Deserialize;

use super::IdentityService;
use crate::error::{Error, Result};
use crate::ids::{DomainId, ProjectId, RoleId, UserId};
use crate::model::{
    validate_name, AssignmentTarget, Domain, Password, Project, Role, User, STANDARD_ROLES,
};

/// What [`IdentityService::bootstrap`] creates. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Admin user name in the default domain (default `admin`).
    #[serde(default = "default_admin")]
    pub admin_user: String,
    /// Admin password; bootstrap resets it when it differs.
    pub admin_password: Password,
    /// Admin project name in the default domain (default `admin`).
    #[serde(default = "default_admin")]
    pub admin_project: String,
}

fn default_admin() -> String {
    "admin".to_owned()
}

impl BootstrapConfig {
    /// `admin` user and project with this password.
    pub fn new(admin_password: Password) -> Self {
        Self {
            admin_user: default_admin(),
            admin_password,
            admin_project: default_admin(),
        }
    }

    /// `Error::InvalidConfig` for bad names or an empty password.
    pub fn validate(&self) -> Result<()> {
        validate_name("user", &self.admin_user).map_err(|e| Error::config(e.to_string()))?;
        validate_name("project", &self.admin_project).map_err(|e| Error::config(e.to_string()))?;
        if self.admin_password.expose().is_empty() {
            return Err(Error::config("admin_password must not be empty"));
        }
        Ok(())
    }
}

impl fmt::Debug for BootstrapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootstrapConfig")
            .field("admin_user", &self.admin_user)
            .field("admin_password", &"<redacted>")
            .field("admin_project", &self.admin_project)
            .finish()
    }
}

/// What bootstrap found or created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapOutcome {
    /// The default domain.
    pub domain: Domain,
    /// `admin`, `member` and `reader`, in that order.
    pub roles: Vec<Role>,
    /// The admin user.
    pub admin_user: User,
    /// The admin project.
    pub admin_project: Project,
}

/// `Ok(Some(_))` when found, `Ok(None)` when absent.
fn found<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl IdentityService {
    /// Ensures the default domain, the standard roles, the admin project and
    /// the admin user (enabled, with the configured password) holding
    /// `admin` on the project. Idempotent: a second run changes nothing
    /// unless the password or enabled flag differs.
    pub async fn bootstrap(&self, cfg: &BootstrapConfig) -> Result<BootstrapOutcome> {
        cfg.validate()?;
        let b = &self.backend;
        let domain_id = DomainId::default_domain();
        let domain = match found(b.get_domain(&domain_id).await)? {
            Some(d) => d,
            None => {
                let d = Domain::default_domain();
                b.create_domain(&d).await?;
                d
            }
        };
        let mut roles = Vec::new();
        for name in STANDARD_ROLES {
            let role = match found(b.find_role(name).await)? {
                Some(r) => r,
                None => {
                    let r = Role {
                        id: RoleId::generate(),
                        name: name.to_owned(),
                        description: None,
                    };
                    b.create_role(&r).await?;
                    r
                }
            };
            roles.push(role);
        }
        let admin_project = match found(b.find_project(&domain_id, &cfg.admin_project).await)? {
            Some(p) => p,
            None => {
                let p = Project {
                    id: ProjectId::generate(),
                    name: cfg.admin_project.clone(),
                    domain_id: domain_id.clone(),
                    description: "Bootstrap project for initializing the cloud.".to_owned(),
                    enabled: true,
                };
                b.create_project(&p).await?;
                p
            }
        };
        let admin_user = match found(b.find_user(&domain_id, &cfg.admin_user).await)? {
            Some(mut u) => {
                let password_ok = match &u.password_hash {
                    Some(h) => self.verify_password(h, &cfg.admin_password).await?,
                    None => false,
                };
                if !password_ok || !u.enabled {
                    if !password_ok {
                        u.password_hash = Some(self.hash_password(&cfg.admin_password).await?);
                    }
                    u.enabled = true;
                    b.update_user(&u).await?;
                }
                u
            }
            None => {
                let u = User {
                    id: UserId::generate(),
                    name: cfg.admin_user.clone(),
                    domain_id: domain_id.clone(),
                    enabled: true,
                    default_project_id: None,
                    password_hash: Some(self.hash_password(&cfg.admin_password).await?),
                };
                b.create_user(&u).await?;
                u
            }
        };
        self.grant_role_by_name(
            &admin_user.id,
            AssignmentTarget::Project(admin_project.id.clone()),
            "admin",
        )
        .await?;
        Ok(BootstrapOutcome {
            domain,
            roles,
            admin_user,
            admin_project,
        })
    }
}
