//! Administration of domains, projects, users, roles and role assignments:
//! what Keystone's `/v3/{domains,projects,users,roles,role_assignments}`
//! APIs do, minus policy (the caller decides who may call what).

use super::IdentityService;
use crate::error::{Error, Result};
use crate::ids::{DomainId, ProjectId, RoleId, UserId};
use crate::model::{
    validate_name, AssignmentFilter, AssignmentTarget, Domain, DomainSummary, Password, Project,
    ProjectSummary, Role, RoleAssignment, RoleSummary, TokenUser, User,
};

/// Filters of the list calls; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only things with exactly this name.
    pub name: Option<String>,
    /// Only things owned by this domain (ignored for domains and roles).
    pub domain_id: Option<DomainId>,
    /// Only enabled (`true`) or disabled (`false`) things (ignored for roles).
    pub enabled: Option<bool>,
}

impl ListFilter {
    fn keeps(&self, name: &str, enabled: bool) -> bool {
        self.name.as_deref().is_none_or(|n| n == name) && self.enabled.is_none_or(|e| e == enabled)
    }
}

/// A project to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    /// Name, unique within the domain.
    pub name: String,
    /// The owning domain.
    pub domain_id: DomainId,
    /// Free text.
    pub description: String,
    /// Whether it may be a token scope.
    pub enabled: bool,
}

impl NewProject {
    /// An enabled project without description.
    pub fn new(domain_id: DomainId, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            domain_id,
            description: String::new(),
            enabled: true,
        }
    }
}

/// Changes to a project; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New enabled flag; disabling invalidates the project's tokens.
    pub enabled: Option<bool>,
}

/// A user to create. `Debug` hides the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Name, unique within the domain.
    pub name: String,
    /// The owning domain.
    pub domain_id: DomainId,
    /// Without one the user cannot use password authentication.
    pub password: Option<Password>,
    /// An existing project, or `None`.
    pub default_project_id: Option<ProjectId>,
    /// Whether the user may authenticate.
    pub enabled: bool,
}

impl NewUser {
    /// An enabled user without password or default project.
    pub fn new(domain_id: DomainId, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            domain_id,
            password: None,
            default_project_id: None,
            enabled: true,
        }
    }
}

/// Changes to a user; `None` fields stay as they are. `Debug` hides the password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// New name.
    pub name: Option<String>,
    /// New password; revokes the user's tokens.
    pub password: Option<Password>,
    /// New enabled flag; disabling invalidates the user's tokens.
    pub enabled: Option<bool>,
    /// `Some(None)` clears the default project.
    pub default_project_id: Option<Option<ProjectId>>,
}

/// What a named assignment is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedTarget {
    /// A project with its domain.
    Project(ProjectSummary),
    /// A domain.
    Domain(DomainSummary),
}

/// A role assignment with the names of everything it refers to (what
/// `GET /v3/role_assignments?include_names` shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedAssignment {
    /// The assignment itself.
    pub assignment: RoleAssignment,
    /// The user with its domain.
    pub user: TokenUser,
    /// The role.
    pub role: RoleSummary,
    /// The project or domain.
    pub target: NamedTarget,
}

impl IdentityService {
    /// The domain with this id; `Error::NotFound` when absent.
    pub async fn get_domain(&self, id: &DomainId) -> Result<Domain> {
        self.backend.get_domain(id).await
    }

    /// Domains matching `filter` (name, enabled), sorted by id.
    pub async fn list_domains(&self, filter: &ListFilter) -> Result<Vec<Domain>> {
        let mut all = self.backend.list_domains().await?;
        all.retain(|d| filter.keeps(&d.name, d.enabled));
        Ok(all)
    }

    /// The project with this id; `Error::NotFound` when absent.
    pub async fn get_project(&self, id: &ProjectId) -> Result<Project> {
        self.backend.get_project(id).await
    }

    /// Projects matching `filter`, sorted by id.
    pub async fn list_projects(&self, filter: &ListFilter) -> Result<Vec<Project>> {
        let mut all = self
            .backend
            .list_projects(filter.domain_id.as_ref())
            .await?;
        all.retain(|p| filter.keeps(&p.name, p.enabled));
        Ok(all)
    }

    /// Creates a project. `Error::AlreadyExists` when the name is taken in
    /// the domain, `Error::NotFound` for an unknown domain,
    /// `Error::InvalidInput` for a bad name.
    pub async fn create_project_with(&self, new: &NewProject) -> Result<Project> {
        let project = Project {
            id: ProjectId::generate(),
            name: new.name.clone(),
            domain_id: new.domain_id.clone(),
            description: new.description.clone(),
            enabled: new.enabled,
        };
        self.backend.create_project(&project).await?;
        Ok(project)
    }

    /// Applies `update` and returns the project. Tokens scoped to a disabled
    /// project stop validating. `Error::NotFound`, `Error::AlreadyExists`
    /// (name taken in the domain), `Error::InvalidInput` (bad name).
    pub async fn update_project(&self, id: &ProjectId, update: &ProjectUpdate) -> Result<Project> {
        let mut p = self.backend.get_project(id).await?;
        if let Some(name) = &update.name {
            p.name = name.clone();
        }
        if let Some(d) = &update.description {
            p.description = d.clone();
        }
        if let Some(e) = update.enabled {
            p.enabled = e;
        }
        self.backend.update_project(&p).await?;
        Ok(p)
    }

    /// Deletes a project with its role assignments and EC2 credentials; its
    /// tokens stop validating. `Error::NotFound` when absent.
    pub async fn delete_project(&self, id: &ProjectId) -> Result<()> {
        self.backend.delete_project(id).await
    }

    /// The user with this id; `Error::NotFound` when absent.
    pub async fn get_user(&self, id: &UserId) -> Result<User> {
        self.backend.get_user(id).await
    }

    /// Users matching `filter`, sorted by id.
    pub async fn list_users(&self, filter: &ListFilter) -> Result<Vec<User>> {
        let mut all = self.backend.list_users(filter.domain_id.as_ref()).await?;
        all.retain(|u| filter.keeps(&u.name, u.enabled));
        Ok(all)
    }

    async fn check_default_project(&self, p: Option<&ProjectId>) -> Result<()> {
        match p {
            Some(id) => match self.backend.get_project(id).await {
                Ok(_) => Ok(()),
                Err(Error::NotFound { .. }) => Err(Error::invalid(format!(
                    "default project {id} does not exist"
                ))),
                Err(e) => Err(e),
            },
            None => Ok(()),
        }
    }

    /// Creates a user. `Error::AlreadyExists` when the name is taken in the
    /// domain, `Error::NotFound` for an unknown domain, `Error::InvalidInput`
    /// for a bad name, an empty password or an unknown default project.
    pub async fn create_user_with(&self, new: &NewUser) -> Result<User> {
        validate_name("user", &new.name)?;
        self.check_default_project(new.default_project_id.as_ref())
            .await?;
        let password_hash = match &new.password {
            Some(p) => Some(self.hash_password(p).await?),
            None => None,
        };
        let user = User {
            id: UserId::generate(),
            name: new.name.clone(),
            domain_id: new.domain_id.clone(),
            enabled: new.enabled,
            default_project_id: new.default_project_id.clone(),
            password_hash,
        };
        self.backend.create_user(&user).await?;
        Ok(user)
    }

    /// Applies `update` and returns the user. A new password revokes the
    /// user's tokens; a disabled user's tokens stop validating. Errors as for
    /// [`create_user_with`](Self::create_user_with), plus `Error::NotFound`
    /// for an unknown user.
    pub async fn update_user(&self, id: &UserId, update: &UserUpdate) -> Result<User> {
        let mut u = self.backend.get_user(id).await?;
        if let Some(name) = &update.name {
            u.name = name.clone();
        }
        if let Some(e) = update.enabled {
            u.enabled = e;
        }
        if let Some(p) = &update.default_project_id {
            self.check_default_project(p.as_ref()).await?;
            u.default_project_id = p.clone();
        }
        if let Some(pw) = &update.password {
            u.password_hash = Some(self.hash_password(pw).await?);
        }
        self.backend.update_user(&u).await?;
        if update.password.is_some() {
            self.backend.revoke_user_tokens(id).await?;
        }
        Ok(u)
    }

    /// Deletes a user with its assignments, EC2 credentials and tokens.
    /// `Error::NotFound` when absent.
    pub async fn delete_user(&self, id: &UserId) -> Result<()> {
        self.backend.delete_user(id).await
    }

    /// A user's own password change: `Error::Unauthorized` unless `original`
    /// is the current password of an existing user; then sets `new` and
    /// revokes the user's tokens. `Error::InvalidInput` for an empty `new`.
    pub async fn change_password(
        &self,
        id: &UserId,
        original: &Password,
        new: &Password,
    ) -> Result<()> {
        let user = match self.backend.get_user(id).await {
            Ok(u) => u,
            Err(Error::NotFound { .. }) => {
                self.verify_dummy(original).await?;
                return Err(Error::unauthorized("unknown user"));
            }
            Err(e) => return Err(e),
        };
        let ok = match &user.password_hash {
            Some(h) => self.verify_password(h, original).await?,
            None => false,
        };
        if !ok {
            return Err(Error::unauthorized("original password does not match"));
        }
        let update = UserUpdate {
            password: Some(new.clone()),
            ..UserUpdate::default()
        };
        self.update_user(id, &update).await.map(drop)
    }

    /// The role with this id; `Error::NotFound` when absent.
    pub async fn get_role(&self, id: &RoleId) -> Result<Role> {
        self.backend.get_role(id).await
    }

    /// Roles, all or only the one named `filter.name`, sorted by id.
    pub async fn list_roles(&self, filter: &ListFilter) -> Result<Vec<Role>> {
        let mut all = self.backend.list_roles().await?;
        all.retain(|r| filter.name.as_deref().is_none_or(|n| n == r.name));
        Ok(all)
    }

    /// Creates a role; `Error::AlreadyExists` when the name is taken,
    /// `Error::InvalidInput` for a bad name.
    pub async fn create_role(&self, name: &str, description: Option<&str>) -> Result<Role> {
        let role = Role {
            id: RoleId::generate(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
        };
        self.backend.create_role(&role).await?;
        Ok(role)
    }

    /// Deletes a role and every assignment of it; `Error::NotFound` when absent.
    pub async fn delete_role(&self, id: &RoleId) -> Result<()> {
        self.backend.delete_role(id).await
    }

    /// Grants a role (idempotent); `Error::NotFound` when the user, role or
    /// target does not exist.
    pub async fn grant_role(&self, assignment: &RoleAssignment) -> Result<()> {
        self.backend.grant_role(assignment).await
    }

    /// Removes a grant; `Error::NotFound` when it does not exist.
    pub async fn revoke_role(&self, assignment: &RoleAssignment) -> Result<()> {
        self.backend.revoke_role(assignment).await
    }

    /// `Ok` when the grant exists, `Error::NotFound` otherwise.
    pub async fn check_role(&self, assignment: &RoleAssignment) -> Result<()> {
        let filter = AssignmentFilter {
            user_id: Some(assignment.user_id.clone()),
            target: Some(assignment.target.clone()),
            role_id: Some(assignment.role_id.clone()),
        };
        if self
            .backend
            .list_role_assignments(&filter)
            .await?
            .is_empty()
        {
            return Err(Error::not_found(format!(
                "role {} for user {}",
                assignment.role_id, assignment.user_id
            )));
        }
        Ok(())
    }

    /// Assignments matching `filter`, sorted by user, target, then role.
    /// Every assignment is direct (there are no groups or inheritance), so
    /// this is also the effective list.
    pub async fn list_role_assignments(
        &self,
        filter: &AssignmentFilter,
    ) -> Result<Vec<RoleAssignment>> {
        self.backend.list_role_assignments(filter).await
    }

    async fn domain_summary(&self, id: &DomainId) -> Result<DomainSummary> {
        let d = self.backend.get_domain(id).await?;
        Ok(DomainSummary {
            id: d.id,
            name: d.name,
        })
    }

    /// Adds the names of user, role and target to each assignment, skipping
    /// any whose parts were deleted in the meantime.
    pub async fn name_assignments(
        &self,
        assignments: Vec<RoleAssignment>,
    ) -> Result<Vec<NamedAssignment>> {
        let mut out = Vec::with_capacity(assignments.len());
        for a in assignments {
            match self.name_assignment(a).await {
                Ok(n) => out.push(n),
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn name_assignment(&self, a: RoleAssignment) -> Result<NamedAssignment> {
        let user = self.backend.get_user(&a.user_id).await?;
        let role = self.backend.get_role(&a.role_id).await?;
        let target = match &a.target {
            AssignmentTarget::Project(p) => {
                let p = self.backend.get_project(p).await?;
                NamedTarget::Project(ProjectSummary {
                    domain: self.domain_summary(&p.domain_id).await?,
                    id: p.id,
                    name: p.name,
                })
            }
            AssignmentTarget::Domain(d) => NamedTarget::Domain(self.domain_summary(d).await?),
        };
        Ok(NamedAssignment {
            user: TokenUser {
                domain: self.domain_summary(&user.domain_id).await?,
                id: user.id,
                name: user.name,
            },
            role: RoleSummary {
                id: role.id,
                name: role.name,
            },
            target,
            assignment: a,
        })
    }
}
