//! PostgreSQL backend: a pool of connections, schema migrations at open,
//! the same tables, checks and errors as the SQLite backend.
//!
//! Writes that check before they insert run in one transaction; the unique
//! and foreign-key constraints still catch what a concurrent writer slips
//! in between, as `AlreadyExists` and `NotFound`.

use async_trait::async_trait;
use sql_support::pg::{PgPool, PooledClient};
use sql_support::PgUrl;

use crate::backend::IdentityBackend;
use crate::error::{from_sql, Error, Result};
use crate::ids::{DomainId, ProjectId, RoleId, TokenId, UserId};
use crate::model::{
    validate_name, AssignmentFilter, Domain, Ec2Credential, Project, Role, RoleAssignment, Token,
    User,
};
use crate::time::Timestamp;

mod grants;
mod rows;
mod schema;
mod users;

use rows::{
    domain_row, exec, exists, many, one, project_row, role_row, token_from_body, token_key,
};

const BACKEND: &str = "postgres";

pub(crate) fn pg_err(e: sql_support::pg::tokio_postgres::Error) -> Error {
    from_sql(BACKEND, sql_support::Error::Postgres(e))
}

/// Identity state in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresIdentityBackend {
    pool: PgPool,
}

impl PostgresIdentityBackend {
    /// Connects to `url` (`postgres://user:password@host:port/db`) and
    /// applies pending migrations (safe when several processes open the
    /// database at once). `Error::InvalidConfig` for a malformed URL, bad
    /// credentials, a missing database or a schema newer than this build;
    /// `Error::Unavailable` when the server cannot be reached.
    pub async fn connect(url: &PgUrl) -> Result<Self> {
        let pool = PgPool::connect(url)
            .await
            .map_err(|e| from_sql(BACKEND, e))?;
        pool.migrate(schema::COMPONENT, schema::MIGRATIONS)
            .await
            .map_err(|e| from_sql(BACKEND, e))?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<PooledClient> {
        self.pool.get().await.map_err(|e| from_sql(BACKEND, e))
    }
}

#[async_trait]
impl IdentityBackend for PostgresIdentityBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn create_domain(&self, d: &Domain) -> Result<()> {
        validate_name("domain", &d.name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        if exists(
            &*tx,
            "SELECT 1 FROM domains WHERE id = $1",
            &[&d.id.as_str()],
        )
        .await?
        {
            return Err(Error::exists(format!("domain {}", d.id)));
        }
        if exists(&*tx, "SELECT 1 FROM domains WHERE name = $1", &[&d.name]).await? {
            return Err(Error::exists(format!("domain named {}", d.name)));
        }
        exec(
            &*tx,
            "INSERT INTO domains (id, name, description, enabled) VALUES ($1, $2, $3, $4)",
            &[&d.id.as_str(), &d.name, &d.description, &d.enabled],
        )
        .await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn get_domain(&self, id: &DomainId) -> Result<Domain> {
        let c = self.client().await?;
        one(
            &**c,
            "SELECT id, name, description, enabled FROM domains WHERE id = $1",
            &[&id.as_str()],
            domain_row,
            || format!("domain {id}"),
        )
        .await
    }

    async fn find_domain(&self, name: &str) -> Result<Domain> {
        let c = self.client().await?;
        one(
            &**c,
            "SELECT id, name, description, enabled FROM domains WHERE name = $1",
            &[&name],
            domain_row,
            || format!("domain named {name}"),
        )
        .await
    }

    async fn list_domains(&self) -> Result<Vec<Domain>> {
        let c = self.client().await?;
        many(
            &**c,
            "SELECT id, name, description, enabled FROM domains ORDER BY id",
            &[],
            domain_row,
        )
        .await
    }

    async fn delete_domain(&self, id: &DomainId) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        let id_s = id.as_str();
        // Lock the row so no project or user is added to it meanwhile.
        if !exists(
            &*tx,
            "SELECT 1 FROM domains WHERE id = $1 FOR UPDATE",
            &[&id_s],
        )
        .await?
        {
            return Err(Error::not_found(format!("domain {id}")));
        }
        if exists(
            &*tx,
            "SELECT 1 FROM projects WHERE domain_id = $1",
            &[&id_s],
        )
        .await?
            || exists(&*tx, "SELECT 1 FROM users WHERE domain_id = $1", &[&id_s]).await?
        {
            return Err(Error::Conflict {
                reason: format!("domain {id} still owns projects or users"),
            });
        }
        exec(
            &*tx,
            "DELETE FROM role_assignments WHERE target_kind = 'domain' AND target_id = $1",
            &[&id_s],
        )
        .await?;
        exec(&*tx, "DELETE FROM domains WHERE id = $1", &[&id_s]).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn create_project(&self, p: &Project) -> Result<()> {
        validate_name("project", &p.name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        let dom = p.domain_id.as_str();
        if !exists(&*tx, "SELECT 1 FROM domains WHERE id = $1", &[&dom]).await? {
            return Err(Error::not_found(format!("domain {}", p.domain_id)));
        }
        if exists(
            &*tx,
            "SELECT 1 FROM projects WHERE id = $1",
            &[&p.id.as_str()],
        )
        .await?
        {
            return Err(Error::exists(format!("project {}", p.id)));
        }
        if exists(
            &*tx,
            "SELECT 1 FROM projects WHERE domain_id = $1 AND name = $2",
            &[&dom, &p.name],
        )
        .await?
        {
            return Err(Error::exists(format!("project named {}", p.name)));
        }
        exec(
            &*tx,
            "INSERT INTO projects (id, name, domain_id, description, enabled) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&p.id.as_str(), &p.name, &dom, &p.description, &p.enabled],
        )
        .await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn get_project(&self, id: &ProjectId) -> Result<Project> {
        let c = self.client().await?;
        one(
            &**c,
            "SELECT id, name, domain_id, description, enabled FROM projects WHERE id = $1",
            &[&id.as_str()],
            project_row,
            || format!("project {id}"),
        )
        .await
    }

    async fn find_project(&self, domain: &DomainId, name: &str) -> Result<Project> {
        let c = self.client().await?;
        one(
            &**c,
            "SELECT id, name, domain_id, description, enabled FROM projects \
             WHERE domain_id = $1 AND name = $2",
            &[&domain.as_str(), &name],
            project_row,
            || format!("project named {name} in domain {domain}"),
        )
        .await
    }

    async fn list_projects(&self, domain: Option<&DomainId>) -> Result<Vec<Project>> {
        let c = self.client().await?;
        many(
            &**c,
            "SELECT id, name, domain_id, description, enabled FROM projects \
             WHERE $1::TEXT IS NULL OR domain_id = $1 ORDER BY id",
            &[&domain.map(DomainId::as_str)],
            project_row,
        )
        .await
    }

    async fn update_project(&self, p: &Project) -> Result<()> {
        validate_name("project", &p.name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        let domain: String = one(
            &*tx,
            "SELECT domain_id FROM projects WHERE id = $1 FOR UPDATE",
            &[&p.id.as_str()],
            |r| r.try_get(0).map_err(pg_err),
            || format!("project {}", p.id),
        )
        .await?;
        if exists(
            &*tx,
            "SELECT 1 FROM projects WHERE domain_id = $1 AND name = $2 AND id <> $3",
            &[&domain, &p.name, &p.id.as_str()],
        )
        .await?
        {
            return Err(Error::exists(format!("project named {}", p.name)));
        }
        exec(
            &*tx,
            "UPDATE projects SET name = $2, description = $3, enabled = $4 WHERE id = $1",
            &[&p.id.as_str(), &p.name, &p.description, &p.enabled],
        )
        .await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn delete_project(&self, id: &ProjectId) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        let id_s = id.as_str();
        exec(
            &*tx,
            "DELETE FROM role_assignments WHERE target_kind = 'project' AND target_id = $1",
            &[&id_s],
        )
        .await?;
        exec(
            &*tx,
            "DELETE FROM ec2_credentials WHERE project_id = $1",
            &[&id_s],
        )
        .await?;
        if exec(&*tx, "DELETE FROM projects WHERE id = $1", &[&id_s]).await? == 0 {
            return Err(Error::not_found(format!("project {id}")));
        }
        tx.commit().await.map_err(pg_err)
    }

    async fn create_user(&self, u: &User) -> Result<()> {
        users::create_user(self, u).await
    }

    async fn get_user(&self, id: &UserId) -> Result<User> {
        users::get_user(self, id).await
    }

    async fn find_user(&self, domain: &DomainId, name: &str) -> Result<User> {
        users::find_user(self, domain, name).await
    }

    async fn list_users(&self, domain: Option<&DomainId>) -> Result<Vec<User>> {
        users::list_users(self, domain).await
    }

    async fn update_user(&self, u: &User) -> Result<()> {
        users::update_user(self, u).await
    }

    async fn delete_user(&self, id: &UserId) -> Result<()> {
        users::delete_user(self, id).await
    }

    async fn revoke_user_tokens(&self, user: &UserId) -> Result<u64> {
        users::revoke_user_tokens(self, user).await
    }

    async fn create_role(&self, r: &Role) -> Result<()> {
        validate_name("role", &r.name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        if exists(&*tx, "SELECT 1 FROM roles WHERE id = $1", &[&r.id.as_str()]).await? {
            return Err(Error::exists(format!("role {}", r.id)));
        }
        if exists(&*tx, "SELECT 1 FROM roles WHERE name = $1", &[&r.name]).await? {
            return Err(Error::exists(format!("role named {}", r.name)));
        }
        exec(
            &*tx,
            "INSERT INTO roles (id, name, description) VALUES ($1, $2, $3)",
            &[&r.id.as_str(), &r.name, &r.description],
        )
        .await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn get_role(&self, id: &RoleId) -> Result<Role> {
        let c = self.client().await?;
        one(
            &**c,
            "SELECT id, name, description FROM roles WHERE id = $1",
            &[&id.as_str()],
            role_row,
            || format!("role {id}"),
        )
        .await
    }

    async fn find_role(&self, name: &str) -> Result<Role> {
        let c = self.client().await?;
        one(
            &**c,
            "SELECT id, name, description FROM roles WHERE name = $1",
            &[&name],
            role_row,
            || format!("role named {name}"),
        )
        .await
    }

    async fn list_roles(&self) -> Result<Vec<Role>> {
        let c = self.client().await?;
        many(
            &**c,
            "SELECT id, name, description FROM roles ORDER BY id",
            &[],
            role_row,
        )
        .await
    }

    async fn delete_role(&self, id: &RoleId) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        let id_s = id.as_str();
        exec(
            &*tx,
            "DELETE FROM role_assignments WHERE role_id = $1",
            &[&id_s],
        )
        .await?;
        if exec(&*tx, "DELETE FROM roles WHERE id = $1", &[&id_s]).await? == 0 {
            return Err(Error::not_found(format!("role {id}")));
        }
        tx.commit().await.map_err(pg_err)
    }

    async fn grant_role(&self, a: &RoleAssignment) -> Result<()> {
        grants::grant_role(self, a).await
    }

    async fn revoke_role(&self, a: &RoleAssignment) -> Result<()> {
        grants::revoke_role(self, a).await
    }

    async fn list_role_assignments(&self, f: &AssignmentFilter) -> Result<Vec<RoleAssignment>> {
        grants::list_role_assignments(self, f).await
    }

    async fn create_ec2_credential(&self, cred: &Ec2Credential) -> Result<()> {
        grants::create_ec2_credential(self, cred).await
    }

    async fn get_ec2_credential(&self, access: &str) -> Result<Ec2Credential> {
        grants::get_ec2_credential(self, access).await
    }

    async fn list_ec2_credentials(&self, user: &UserId) -> Result<Vec<Ec2Credential>> {
        grants::list_ec2_credentials(self, user).await
    }

    async fn delete_ec2_credential(&self, access: &str) -> Result<()> {
        let c = self.client().await?;
        match exec(
            &**c,
            "DELETE FROM ec2_credentials WHERE access = $1",
            &[&access],
        )
        .await?
        {
            0 => Err(Error::not_found(format!("ec2 credential {access}"))),
            _ => Ok(()),
        }
    }

    async fn create_token(&self, token: &Token) -> Result<()> {
        let key = token_key(&token.id);
        let body = rows::token_body(token)?;
        let c = self.client().await?;
        // The primary key decides atomically; a taken id inserts nothing.
        let n = exec(
            &**c,
            "INSERT INTO tokens (id_hash, user_id, expires_at, revoked, body) \
             VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT DO NOTHING",
            &[
                &key,
                &token.user.id.as_str(),
                &token.expires_at.as_micros(),
                &body,
            ],
        )
        .await?;
        match n {
            0 => Err(Error::exists("token")),
            _ => Ok(()),
        }
    }

    async fn get_token(&self, id: &TokenId) -> Result<Token> {
        let c = self.client().await?;
        let body: String = one(
            &**c,
            "SELECT body FROM tokens WHERE id_hash = $1 AND NOT revoked",
            &[&token_key(id)],
            |r| r.try_get(0).map_err(pg_err),
            || "token".to_owned(),
        )
        .await?;
        token_from_body(id, &body)
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<()> {
        let c = self.client().await?;
        let sql = "UPDATE tokens SET revoked = TRUE WHERE id_hash = $1";
        match exec(&**c, sql, &[&token_key(id)]).await? {
            0 => Err(Error::not_found("token")),
            _ => Ok(()),
        }
    }

    async fn purge_tokens(&self, before: Timestamp) -> Result<u64> {
        let c = self.client().await?;
        exec(
            &**c,
            "DELETE FROM tokens WHERE expires_at <= $1",
            &[&before.as_micros()],
        )
        .await
    }
}

#[cfg(test)]
mod tests;
