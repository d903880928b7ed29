//! In-memory backend: a real backend for tests and embedding, lost on drop.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::backend::IdentityBackend;
use crate::error::{Error, Result};
use crate::ids::{DomainId, ProjectId, RoleId, TokenId, UserId};
use crate::model::{
    validate_name, AssignmentFilter, AssignmentTarget, Domain, Ec2Credential, Project, Role,
    RoleAssignment, Token, User,
};
use crate::time::Timestamp;

#[derive(Debug, Default)]
struct State {
    domains: BTreeMap<DomainId, Domain>,
    projects: BTreeMap<ProjectId, Project>,
    users: BTreeMap<UserId, User>,
    roles: BTreeMap<RoleId, Role>,
    assignments: BTreeSet<RoleAssignment>,
    ec2: BTreeMap<String, Ec2Credential>,
    // token -> (token, revoked)
    tokens: HashMap<TokenId, (Token, bool)>,
}

impl State {
    fn target_exists(&self, t: &AssignmentTarget) -> Result<()> {
        match t {
            AssignmentTarget::Project(p) if !self.projects.contains_key(p) => {
                Err(Error::not_found(format!("project {p}")))
            }
            AssignmentTarget::Domain(d) if !self.domains.contains_key(d) => {
                Err(Error::not_found(format!("domain {d}")))
            }
            _ => Ok(()),
        }
    }
}

/// Identity state in a mutex-guarded map set.
#[derive(Debug, Default)]
pub struct MemoryIdentityBackend {
    state: Mutex<State>,
}

impl MemoryIdentityBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a map half-updated in
        // a way that matters more than losing the whole backend would.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn get<K: Ord, V: Clone>(m: &BTreeMap<K, V>, k: &K, what: impl FnOnce() -> String) -> Result<V> {
    m.get(k).cloned().ok_or_else(|| Error::not_found(what()))
}

#[async_trait]
impl IdentityBackend for MemoryIdentityBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn create_domain(&self, domain: &Domain) -> Result<()> {
        validate_name("domain", &domain.name)?;
        let mut s = self.lock();
        if s.domains.contains_key(&domain.id) {
            return Err(Error::exists(format!("domain {}", domain.id)));
        }
        if s.domains.values().any(|d| d.name == domain.name) {
            return Err(Error::exists(format!("domain named {}", domain.name)));
        }
        s.domains.insert(domain.id.clone(), domain.clone());
        Ok(())
    }

    async fn get_domain(&self, id: &DomainId) -> Result<Domain> {
        get(&self.lock().domains, id, || format!("domain {id}"))
    }

    async fn find_domain(&self, name: &str) -> Result<Domain> {
        self.lock()
            .domains
            .values()
            .find(|d| d.name == name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("domain named {name}")))
    }

    async fn list_domains(&self) -> Result<Vec<Domain>> {
        Ok(self.lock().domains.values().cloned().collect())
    }

    async fn delete_domain(&self, id: &DomainId) -> Result<()> {
        let mut s = self.lock();
        if !s.domains.contains_key(id) {
            return Err(Error::not_found(format!("domain {id}")));
        }
        if s.projects.values().any(|p| &p.domain_id == id)
            || s.users.values().any(|u| &u.domain_id == id)
        {
            return Err(Error::Conflict {
                reason: format!("domain {id} still owns projects or users"),
            });
        }
        s.domains.remove(id);
        s.assignments
            .retain(|a| a.target != AssignmentTarget::Domain(id.clone()));
        Ok(())
    }

    async fn create_project(&self, project: &Project) -> Result<()> {
        validate_name("project", &project.name)?;
        let mut s = self.lock();
        if !s.domains.contains_key(&project.domain_id) {
            return Err(Error::not_found(format!("domain {}", project.domain_id)));
        }
        if s.projects.contains_key(&project.id) {
            return Err(Error::exists(format!("project {}", project.id)));
        }
        if s.projects
            .values()
            .any(|p| p.domain_id == project.domain_id && p.name == project.name)
        {
            return Err(Error::exists(format!("project named {}", project.name)));
        }
        s.projects.insert(project.id.clone(), project.clone());
        Ok(())
    }

    async fn get_project(&self, id: &ProjectId) -> Result<Project> {
        get(&self.lock().projects, id, || format!("project {id}"))
    }

    async fn find_project(&self, domain: &DomainId, name: &str) -> Result<Project> {
        self.lock()
            .projects
            .values()
            .find(|p| &p.domain_id == domain && p.name == name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("project named {name} in domain {domain}")))
    }

    async fn list_projects(&self, domain: Option<&DomainId>) -> Result<Vec<Project>> {
        Ok(self
            .lock()
            .projects
            .values()
            .filter(|p| domain.is_none_or(|d| &p.domain_id == d))
            .cloned()
            .collect())
    }

    async fn update_project(&self, project: &Project) -> Result<()> {
        validate_name("project", &project.name)?;
        let mut s = self.lock();
        let domain = match s.projects.get(&project.id) {
            Some(p) => p.domain_id.clone(),
            None => return Err(Error::not_found(format!("project {}", project.id))),
        };
        if s.projects
            .values()
            .any(|p| p.domain_id == domain && p.name == project.name && p.id != project.id)
        {
            return Err(Error::exists(format!("project named {}", project.name)));
        }
        let mut updated = project.clone();
        updated.domain_id = domain;
        s.projects.insert(project.id.clone(), updated);
        Ok(())
    }

    async fn delete_project(&self, id: &ProjectId) -> Result<()> {
        let mut s = self.lock();
        if s.projects.remove(id).is_none() {
            return Err(Error::not_found(format!("project {id}")));
        }
        s.assignments
            .retain(|a| a.target != AssignmentTarget::Project(id.clone()));
        s.ec2.retain(|_, c| &c.project_id != id);
        Ok(())
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        validate_name("user", &user.name)?;
        let mut s = self.lock();
        if !s.domains.contains_key(&user.domain_id) {
            return Err(Error::not_found(format!("domain {}", user.domain_id)));
        }
        if s.users.contains_key(&user.id) {
            return Err(Error::exists(format!("user {}", user.id)));
        }
        if s.users
            .values()
            .any(|u| u.domain_id == user.domain_id && u.name == user.name)
        {
            return Err(Error::exists(format!("user named {}", user.name)));
        }
        s.users.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn get_user(&self, id: &UserId) -> Result<User> {
        get(&self.lock().users, id, || format!("user {id}"))
    }

    async fn find_user(&self, domain: &DomainId, name: &str) -> Result<User> {
        self.lock()
            .users
            .values()
            .find(|u| &u.domain_id == domain && u.name == name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("user named {name} in domain {domain}")))
    }

    async fn list_users(&self, domain: Option<&DomainId>) -> Result<Vec<User>> {
        Ok(self
            .lock()
            .users
            .values()
            .filter(|u| domain.is_none_or(|d| &u.domain_id == d))
            .cloned()
            .collect())
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        validate_name("user", &user.name)?;
        let mut s = self.lock();
        let domain = match s.users.get(&user.id) {
            Some(u) => u.domain_id.clone(),
            None => return Err(Error::not_found(format!("user {}", user.id))),
        };
        if s.users
            .values()
            .any(|u| u.domain_id == domain && u.name == user.name && u.id != user.id)
        {
            return Err(Error::exists(format!("user named {}", user.name)));
        }
        let mut updated = user.clone();
        updated.domain_id = domain;
        s.users.insert(user.id.clone(), updated);
        Ok(())
    }

    async fn delete_user(&self, id: &UserId) -> Result<()> {
        let mut s = self.lock();
        if s.users.remove(id).is_none() {
            return Err(Error::not_found(format!("user {id}")));
        }
        s.assignments.retain(|a| &a.user_id != id);
        s.ec2.retain(|_, c| &c.user_id != id);
        s.tokens.retain(|_, (t, _)| &t.user.id != id);
        Ok(())
    }

    async fn create_role(&self, role: &Role) -> Result<()> {
        validate_name("role", &role.name)?;
        let mut s = self.lock();
        if s.roles.contains_key(&role.id) {
            return Err(Error::exists(format!("role {}", role.id)));
        }
        if s.roles.values().any(|r| r.name == role.name) {
            return Err(Error::exists(format!("role named {}", role.name)));
        }
        s.roles.insert(role.id.clone(), role.clone());
        Ok(())
    }

    async fn get_role(&self, id: &RoleId) -> Result<Role> {
        get(&self.lock().roles, id, || format!("role {id}"))
    }

    async fn find_role(&self, name: &str) -> Result<Role> {
        self.lock()
            .roles
            .values()
            .find(|r| r.name == name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("role named {name}")))
    }

    async fn list_roles(&self) -> Result<Vec<Role>> {
        Ok(self.lock().roles.values().cloned().collect())
    }

    async fn delete_role(&self, id: &RoleId) -> Result<()> {
        let mut s = self.lock();
        if s.roles.remove(id).is_none() {
            return Err(Error::not_found(format!("role {id}")));
        }
        s.assignments.retain(|a| &a.role_id != id);
        Ok(())
    }

    async fn grant_role(&self, a: &RoleAssignment) -> Result<()> {
        let mut s = self.lock();
        if !s.users.contains_key(&a.user_id) {
            return Err(Error::not_found(format!("user {}", a.user_id)));
        }
        if !s.roles.contains_key(&a.role_id) {
            return Err(Error::not_found(format!("role {}", a.role_id)));
        }
        s.target_exists(&a.target)?;
        s.assignments.insert(a.clone());
        Ok(())
    }

    async fn revoke_role(&self, a: &RoleAssignment) -> Result<()> {
        if self.lock().assignments.remove(a) {
            Ok(())
        } else {
            Err(Error::not_found("role assignment"))
        }
    }

    async fn list_role_assignments(&self, f: &AssignmentFilter) -> Result<Vec<RoleAssignment>> {
        Ok(self
            .lock()
            .assignments
            .iter()
            .filter(|a| f.user_id.as_ref().is_none_or(|u| &a.user_id == u))
            .filter(|a| f.target.as_ref().is_none_or(|t| &a.target == t))
            .filter(|a| f.role_id.as_ref().is_none_or(|r| &a.role_id == r))
            .cloned()
            .collect())
    }

    async fn create_ec2_credential(&self, cred: &Ec2Credential) -> Result<()> {
        let mut s = self.lock();
        if !s.users.contains_key(&cred.user_id) {
            return Err(Error::not_found(format!("user {}", cred.user_id)));
        }
        if !s.projects.contains_key(&cred.project_id) {
            return Err(Error::not_found(format!("project {}", cred.project_id)));
        }
        if s.ec2.contains_key(&cred.access) {
            return Err(Error::exists(format!("ec2 credential {}", cred.access)));
        }
        s.ec2.insert(cred.access.clone(), cred.clone());
        Ok(())
    }

    async fn get_ec2_credential(&self, access: &str) -> Result<Ec2Credential> {
        self.lock()
            .ec2
            .get(access)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("ec2 credential {access}")))
    }

    async fn list_ec2_credentials(&self, user: &UserId) -> Result<Vec<Ec2Credential>> {
        Ok(self
            .lock()
            .ec2
            .values()
            .filter(|c| &c.user_id == user)
            .cloned()
            .collect())
    }

    async fn delete_ec2_credential(&self, access: &str) -> Result<()> {
        match self.lock().ec2.remove(access) {
            Some(_) => Ok(()),
            None => Err(Error::not_found(format!("ec2 credential {access}"))),
        }
    }

    async fn create_token(&self, token: &Token) -> Result<()> {
        let mut s = self.lock();
        if s.tokens.contains_key(&token.id) {
            return Err(Error::exists("token"));
        }
        s.tokens.insert(token.id.clone(), (token.clone(), false));
        Ok(())
    }

    async fn get_token(&self, id: &TokenId) -> Result<Token> {
        match self.lock().tokens.get(id) {
            Some((t, false)) => Ok(t.clone()),
            _ => Err(Error::not_found("token")),
        }
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<()> {
        match self.lock().tokens.get_mut(id) {
            Some((_, revoked)) => {
                *revoked = true;
                Ok(())
            }
            None => Err(Error::not_found("token")),
        }
    }

    async fn revoke_user_tokens(&self, user: &UserId) -> Result<u64> {
        let mut n = 0;
        for (t, revoked) in self.lock().tokens.values_mut() {
            if &t.user.id == user && !*revoked {
                *revoked = true;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn purge_tokens(&self, before: Timestamp) -> Result<u64> {
        let mut s = self.lock();
        let n = s.tokens.len();
        s.tokens.retain(|_, (t, _)| t.expires_at > before);
        Ok((n - s.tokens.len()) as u64)
    }
}
