//! The storage trait of identity-core and its backends.
//!
//! Backends store what they are given after checking names
//! ([`validate_name`](crate::model::validate_name)) and references; the
//! policy (who may do what, token expiry) lives in
//! [`IdentityService`](crate::service::IdentityService).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{from_sql, Result};
use crate::ids::{DomainId, ProjectId, RoleId, TokenId, UserId};
use crate::model::{
    AssignmentFilter, Domain, Ec2Credential, Project, Role, RoleAssignment, Token, User,
};
use crate::time::Timestamp;

pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

pub use memory::MemoryIdentityBackend;
#[cfg(feature = "postgres")]
pub use postgres::PostgresIdentityBackend;
pub use sql_support::{Location, PgUrl};
pub use sqlite::SqliteIdentityBackend;

/// Opens the backend a config string names:
///
/// | `location` | backend |
/// |---|---|
/// | `memory:` or `:memory:` | [`MemoryIdentityBackend`] |
/// | `postgres://…` or `postgresql://…` | `PostgresIdentityBackend` (feature `postgres`) |
/// | `sqlite:PATH` or a plain `PATH` | [`SqliteIdentityBackend`] |
///
/// Opening migrates the schema. `Error::InvalidConfig` for a malformed
/// location, an unknown scheme, a PostgreSQL URL in a build without the
/// `postgres` feature, bad credentials or a schema newer than this build;
/// `Error::Unavailable` when the database server cannot be reached. Error
/// messages and `Debug` output never show a URL's password.
pub async fn open(location: &str) -> Result<Arc<dyn IdentityBackend>> {
    open_location(&Location::parse(location).map_err(|e| from_sql("location", e))?).await
}

/// [`open`] for a location already parsed (e.g. by a config loader: it
/// deserializes from the same strings).
pub async fn open_location(location: &Location) -> Result<Arc<dyn IdentityBackend>> {
    match location.clone() {
        Location::Memory => Ok(Arc::new(MemoryIdentityBackend::new())),
        Location::Sqlite(path) => Ok(Arc::new(SqliteIdentityBackend::open(path).await?)),
        #[cfg(feature = "postgres")]
        Location::Postgres(url) => Ok(Arc::new(PostgresIdentityBackend::connect(&url).await?)),
        #[cfg(not(feature = "postgres"))]
        Location::Postgres(url) => Err(crate::error::Error::config(format!(
            "{url}: this build has no postgres backend (cargo feature `postgres`)"
        ))),
    }
}

/// Persists identity state. Shared across tasks; every method is atomic.
///
/// Unless stated otherwise: `create_*` fails with `Error::AlreadyExists` when
/// the id or the unique name is taken, with `Error::InvalidInput` when a name
/// is empty, longer than 255 bytes or holds control characters, and with
/// `Error::NotFound` when a referenced domain, user, project or role does not
/// exist; `get_*`, `find_*`, `update_*` and `delete_*` fail with
/// `Error::NotFound` when the thing does not exist. Lists are sorted by id.
#[async_trait]
pub trait IdentityBackend: Send + Sync + fmt::Debug + 'static {
    /// Short backend name for errors and logs, e.g. `sqlite`.
    fn name(&self) -> &'static str;

    /// Creates a domain; ids and names are unique.
    async fn create_domain(&self, domain: &Domain) -> Result<()>;
    /// The domain with this id.
    async fn get_domain(&self, id: &DomainId) -> Result<Domain>;
    /// The domain with this exact name.
    async fn find_domain(&self, name: &str) -> Result<Domain>;
    /// All domains.
    async fn list_domains(&self) -> Result<Vec<Domain>>;
    /// Deletes a domain; `Error::Conflict` while it still owns projects or users.
    async fn delete_domain(&self, id: &DomainId) -> Result<()>;

    /// Creates a project; names are unique within the domain.
    async fn create_project(&self, project: &Project) -> Result<()>;
    /// The project with this id.
    async fn get_project(&self, id: &ProjectId) -> Result<Project>;
    /// The project named `name` in `domain`.
    async fn find_project(&self, domain: &DomainId, name: &str) -> Result<Project>;
    /// Projects, all or only those of `domain`.
    async fn list_projects(&self, domain: Option<&DomainId>) -> Result<Vec<Project>>;
    /// Replaces name, description and enabled flag of the project with
    /// `project.id` (the domain cannot change); `Error::AlreadyExists` when
    /// the new name is taken in the domain.
    async fn update_project(&self, project: &Project) -> Result<()>;
    /// Deletes a project with its role assignments and EC2 credentials.
    async fn delete_project(&self, id: &ProjectId) -> Result<()>;

    /// Creates a user; names are unique within the domain.
    async fn create_user(&self, user: &User) -> Result<()>;
    /// The user with this id.
    async fn get_user(&self, id: &UserId) -> Result<User>;
    /// The user named `name` in `domain`.
    async fn find_user(&self, domain: &DomainId, name: &str) -> Result<User>;
    /// Users, all or only those of `domain`.
    async fn list_users(&self, domain: Option<&DomainId>) -> Result<Vec<User>>;
    /// Replaces name, enabled flag, default project and password hash of the user with
    /// `user.id` (the domain cannot change); `Error::AlreadyExists` when the
    /// new name is taken in the domain.
    async fn update_user(&self, user: &User) -> Result<()>;
    /// Deletes a user with its role assignments, EC2 credentials and tokens.
    async fn delete_user(&self, id: &UserId) -> Result<()>;

    /// Creates a role; ids and names are unique.
    async fn create_role(&self, role: &Role) -> Result<()>;
    /// The role with this id.
    async fn get_role(&self, id: &RoleId) -> Result<Role>;
    /// The role with this exact name.
    async fn find_role(&self, name: &str) -> Result<Role>;
    /// All roles.
    async fn list_roles(&self) -> Result<Vec<Role>>;
    /// Deletes a role and every assignment of it.
    async fn delete_role(&self, id: &RoleId) -> Result<()>;

    /// Grants a role. Idempotent: granting an existing assignment succeeds.
    /// `Error::NotFound` when the user, role or target does not exist.
    async fn grant_role(&self, assignment: &RoleAssignment) -> Result<()>;
    /// Removes a grant; `Error::NotFound` when it does not exist.
    async fn revoke_role(&self, assignment: &RoleAssignment) -> Result<()>;
    /// Assignments matching the filter, sorted by user, target, then role.
    async fn list_role_assignments(&self, filter: &AssignmentFilter)
        -> Result<Vec<RoleAssignment>>;

    /// Stores an EC2 credential; `Error::AlreadyExists` when the access key is
    /// taken, `Error::NotFound` when the user or project does not exist.
    async fn create_ec2_credential(&self, cred: &Ec2Credential) -> Result<()>;
    /// The credential with this access key.
    async fn get_ec2_credential(&self, access: &str) -> Result<Ec2Credential>;
    /// The user's credentials, sorted by access key (empty for unknown users).
    async fn list_ec2_credentials(&self, user: &UserId) -> Result<Vec<Ec2Credential>>;
    /// Deletes the credential with this access key.
    async fn delete_ec2_credential(&self, access: &str) -> Result<()>;

    /// Stores an issued token; `Error::AlreadyExists` when the id is taken.
    /// Expiry is not checked here.
    async fn create_token(&self, token: &Token) -> Result<()>;
    /// The token with this id, expired or not; `Error::NotFound` when unknown
    /// or revoked.
    async fn get_token(&self, id: &TokenId) -> Result<Token>;
    /// Revokes a token: later `get_token` calls fail with `Error::NotFound`.
    /// Idempotent for a token already revoked; `Error::NotFound` when unknown.
    async fn revoke_token(&self, id: &TokenId) -> Result<()>;
    /// Revokes every token of `user`; returns how many were still unrevoked
    /// (0 for an unknown user).
    async fn revoke_user_tokens(&self, user: &UserId) -> Result<u64>;
    /// Deletes tokens (revoked or not) that expire at or before `before`;
    /// returns how many.
    async fn purge_tokens(&self, before: Timestamp) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::open;
    use crate::error::Error;

    #[tokio::test]
    async fn open_dispatches_on_location() {
        assert_eq!(open("memory:").await.unwrap().name(), "memory");
        assert_eq!(open(":memory:").await.unwrap().name(), "memory");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.db");
        let b = open(&format!("sqlite:{}", file.display())).await.unwrap();
        assert_eq!(b.name(), "sqlite");
        assert!(file.exists());
        let plain = dir.path().join("b.db");
        assert_eq!(
            open(plain.to_str().unwrap()).await.unwrap().name(),
            "sqlite"
        );
        for bad in ["", "mysql://h/db"] {
            let err = open(bad).await.unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }), "{bad}: {err:?}");
        }
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn open_postgres_url() {
        // Nothing listens on port 1: the URL is recognised, the server is not there.
        let err = open("postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
        let Some(db) =
            sql_support::testkit::TestDatabase::create("identity open_postgres_url").await
        else {
            return;
        };
        let b = open(db.url().expose()).await.unwrap();
        assert_eq!(b.name(), "postgres");
    }
}
