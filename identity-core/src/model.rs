//! Domain types: domains, projects, users, roles, assignments, tokens and
//! EC2 credentials.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{DomainId, ProjectId, RoleId, TokenId, UserId};
use crate::time::Timestamp;

/// Id of the domain every deployment has.
pub const DEFAULT_DOMAIN_ID: &str = "default";
/// Name of the domain every deployment has.
pub const DEFAULT_DOMAIN_NAME: &str = "Default";
/// Longest name accepted for domains, projects, users and roles.
pub const MAX_NAME_LEN: usize = 255;

/// Checks a domain, project, user or role name: 1 to 255 characters, no
/// control characters.
pub fn validate_name(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "{kind} name must be 1 to {MAX_NAME_LEN} bytes"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{kind} name {name:?} holds control characters"
        )));
    }
    Ok(())
}

/// A namespace of projects and users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Unique id.
    pub id: DomainId,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// A disabled domain's users cannot authenticate.
    pub enabled: bool,
}

impl Domain {
    /// The `default` / `Default` domain.
    pub fn default_domain() -> Self {
        Self {
            id: DomainId::default_domain(),
            name: DEFAULT_DOMAIN_NAME.to_owned(),
            description: "The default domain".to_owned(),
            enabled: true,
        }
    }
}

/// A tenant: owner of resources, the usual token scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Unique id.
    pub id: ProjectId,
    /// Name, unique within the domain.
    pub name: String,
    /// The owning domain.
    pub domain_id: DomainId,
    /// Free text.
    pub description: String,
    /// A disabled project cannot be a token scope.
    pub enabled: bool,
}

/// A PHC-format password hash (argon2id). Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string (e.g. read from a database).
    pub fn from_phc(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A clear-text password in transit; its `Debug` hides it and it is never
/// serialized.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a clear-text password.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The clear text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A user account. The password hash is never serialized and hidden in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Unique id.
    pub id: UserId,
    /// Name, unique within the domain.
    pub name: String,
    /// The owning domain.
    pub domain_id: DomainId,
    /// A disabled user cannot authenticate.
    pub enabled: bool,
    /// The project a client scopes to when it names none (informational).
    pub default_project_id: Option<ProjectId>,
    /// The password hash; `None` means password authentication is refused.
    #[serde(skip)]
    pub password_hash: Option<PasswordHash>,
}

/// A named set of permissions, e.g. `admin`, `member`, `reader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Unique id.
    pub id: RoleId,
    /// Unique name.
    pub name: String,
    /// Free text; `None` when never set.
    #[serde(default)]
    pub description: Option<String>,
}

/// The role names bootstrap creates, highest first.
pub const STANDARD_ROLES: [&str; 3] = ["admin", "member", "reader"];

/// What a role is granted on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentTarget {
    /// A domain.
    Domain(DomainId),
    /// A project.
    Project(ProjectId),
}

/// A grant of a role to a user on a project or domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// Who.
    pub user_id: UserId,
    /// Where.
    pub target: AssignmentTarget,
    /// What.
    pub role_id: RoleId,
}

/// Which assignments to list; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentFilter {
    /// Only this user's.
    pub user_id: Option<UserId>,
    /// Only on this target.
    pub target: Option<AssignmentTarget>,
    /// Only of this role.
    pub role_id: Option<RoleId>,
}

/// A domain's id and name, as embedded in tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainSummary {
    /// Id.
    pub id: DomainId,
    /// Name.
    pub name: String,
}

/// The user a token was issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUser {
    /// Id.
    pub id: UserId,
    /// Name.
    pub name: String,
    /// The user's domain.
    pub domain: DomainSummary,
}

/// A project as embedded in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSummary {
    /// Id.
    pub id: ProjectId,
    /// Name.
    pub name: String,
    /// The project's domain.
    pub domain: DomainSummary,
}

/// A role as embedded in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSummary {
    /// Id.
    pub id: RoleId,
    /// Name.
    pub name: String,
}

/// What a token grants access to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// No scope: proves identity only; no roles, no catalog.
    Unscoped,
    /// A project.
    Project(ProjectSummary),
    /// A domain.
    Domain(DomainSummary),
}

/// How the user proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// User and password.
    Password,
    /// An existing token.
    Token,
    /// An EC2 credential whose request signature the caller checked
    /// (Keystone's `ec2credential`).
    Ec2Credential,
}

impl AuthMethod {
    /// The Keystone method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Token => "token",
            Self::Ec2Credential => "ec2credential",
        }
    }
}

/// An issued token. `Debug` hides the id (the bearer secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The bearer secret.
    pub id: TokenId,
    /// Who it was issued to.
    pub user: TokenUser,
    /// What it grants access to.
    pub scope: TokenScope,
    /// The user's roles on the scope at issue time; empty when unscoped.
    pub roles: Vec<RoleSummary>,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// How the user authenticated, in order.
    pub methods: Vec<AuthMethod>,
    /// Opaque ids tying a chain of tokens together (first: this token's).
    pub audit_ids: Vec<String>,
}

impl Token {
    /// The project id of a project-scoped token.
    pub fn project_id(&self) -> Option<&ProjectId> {
        match &self.scope {
            TokenScope::Project(p) => Some(&p.id),
            _ => None,
        }
    }

    /// Whether the token carries the role named `name`.
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }

    /// Whether the token is past its expiry at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}

/// The secret half of an EC2 key pair; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ec2Secret(String);

impl Ec2Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret, for signing checks and for showing to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Ec2Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ec2Secret(<redacted>)")
    }
}

/// An EC2 access/secret key pair of a user for one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ec2Credential {
    /// The access key: public, unique.
    pub access: String,
    /// The secret key.
    pub secret: Ec2Secret,
    /// The owner.
    pub user_id: UserId,
    /// The project requests signed with this key act on.
    pub project_id: ProjectId,
}
