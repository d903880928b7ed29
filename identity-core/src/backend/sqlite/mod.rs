//! SQLite backend: one database file in WAL mode, queries on the blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, Transaction};

use crate::backend::IdentityBackend;
use crate::error::{run_blocking, Error, Result};
use crate::ids::{DomainId, ProjectId, RoleId, TokenId, UserId};
use crate::model::{
    validate_name, AssignmentFilter, Domain, Ec2Credential, PasswordHash, Project, Role,
    RoleAssignment, Token, User,
};
use crate::time::Timestamp;

mod ec2;
mod rows;
mod schema;
mod tokens;

use rows::{
    assignment_row, domain_row, exists, many, one, project_row, role_row, target_parts, user_row,
};

const BACKEND: &str = "sqlite";

pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Unavailable {
                reason: "identity database is busy".to_owned(),
            }
        }
        _ => Error::Backend {
            backend: BACKEND,
            source: Box::new(e),
        },
    }
}

/// Identity state in one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteIdentityBackend {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteIdentityBackend {
    /// Opens (creating if needed) the database at `path`, turns on WAL and
    /// applies pending migrations. `Error::InvalidConfig` when the schema is
    /// newer than this build.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        run_blocking(BACKEND, move || {
            let conn = Connection::open(&path).map_err(sql_err)?;
            // Wait for other openers before the first statement: switching
            // a fresh file to WAL needs a lock they may hold.
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(sql_err)?;
            conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
                .map_err(sql_err)?;
            Self::init(conn)
        })
        .await
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(sql_err)?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .map_err(sql_err)?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` in one transaction on the blocking pool.
    pub(super) async fn tx<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        run_blocking(BACKEND, move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction().map_err(sql_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql_err)?;
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl IdentityBackend for SqliteIdentityBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn create_domain(&self, domain: &Domain) -> Result<()> {
        validate_name("domain", &domain.name)?;
        let d = domain.clone();
        self.tx(move |tx| {
            if exists(tx, "SELECT 1 FROM domains WHERE id = ?1", [d.id.as_str()])? {
                return Err(Error::exists(format!("domain {}", d.id)));
            }
            if exists(tx, "SELECT 1 FROM domains WHERE name = ?1", [&d.name])? {
                return Err(Error::exists(format!("domain named {}", d.name)));
            }
            tx.execute(
                "INSERT INTO domains (id, name, description, enabled) VALUES (?1, ?2, ?3, ?4)",
                params![d.id.as_str(), d.name, d.description, d.enabled],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn get_domain(&self, id: &DomainId) -> Result<Domain> {
        let id = id.clone();
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, description, enabled FROM domains WHERE id = ?1",
                [id.as_str()],
                domain_row,
                || format!("domain {id}"),
            )
        })
        .await
    }

    async fn find_domain(&self, name: &str) -> Result<Domain> {
        let name = name.to_owned();
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, description, enabled FROM domains WHERE name = ?1",
                [&name],
                domain_row,
                || format!("domain named {name}"),
            )
        })
        .await
    }

    async fn list_domains(&self) -> Result<Vec<Domain>> {
        self.tx(|tx| {
            many(
                tx,
                "SELECT id, name, description, enabled FROM domains ORDER BY id",
                [],
                domain_row,
            )
        })
        .await
    }

    async fn delete_domain(&self, id: &DomainId) -> Result<()> {
        let id = id.clone();
        self.tx(move |tx| {
            if !exists(tx, "SELECT 1 FROM domains WHERE id = ?1", [id.as_str()])? {
                return Err(Error::not_found(format!("domain {id}")));
            }
            if exists(
                tx,
                "SELECT 1 FROM projects WHERE domain_id = ?1",
                [id.as_str()],
            )? || exists(
                tx,
                "SELECT 1 FROM users WHERE domain_id = ?1",
                [id.as_str()],
            )? {
                return Err(Error::Conflict {
                    reason: format!("domain {id} still owns projects or users"),
                });
            }
            tx.execute(
                "DELETE FROM role_assignments WHERE target_kind = 'domain' AND target_id = ?1",
                [id.as_str()],
            )
            .map_err(sql_err)?;
            tx.execute("DELETE FROM domains WHERE id = ?1", [id.as_str()])
                .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn create_project(&self, project: &Project) -> Result<()> {
        validate_name("project", &project.name)?;
        let p = project.clone();
        self.tx(move |tx| {
            if !exists(
                tx,
                "SELECT 1 FROM domains WHERE id = ?1",
                [p.domain_id.as_str()],
            )? {
                return Err(Error::not_found(format!("domain {}", p.domain_id)));
            }
            if exists(tx, "SELECT 1 FROM projects WHERE id = ?1", [p.id.as_str()])? {
                return Err(Error::exists(format!("project {}", p.id)));
            }
            if exists(
                tx,
                "SELECT 1 FROM projects WHERE domain_id = ?1 AND name = ?2",
                params![p.domain_id.as_str(), p.name],
            )? {
                return Err(Error::exists(format!("project named {}", p.name)));
            }
            tx.execute(
                "INSERT INTO projects (id, name, domain_id, description, enabled) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.id.as_str(),
                    p.name,
                    p.domain_id.as_str(),
                    p.description,
                    p.enabled
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn get_project(&self, id: &ProjectId) -> Result<Project> {
        let id = id.clone();
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, domain_id, description, enabled FROM projects WHERE id = ?1",
                [id.as_str()],
                project_row,
                || format!("project {id}"),
            )
        })
        .await
    }

    async fn find_project(&self, domain: &DomainId, name: &str) -> Result<Project> {
        let (domain, name) = (domain.clone(), name.to_owned());
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, domain_id, description, enabled FROM projects \
                 WHERE domain_id = ?1 AND name = ?2",
                params![domain.as_str(), name],
                project_row,
                || format!("project named {name} in domain {domain}"),
            )
        })
        .await
    }

    async fn list_projects(&self, domain: Option<&DomainId>) -> Result<Vec<Project>> {
        let domain = domain.cloned();
        self.tx(move |tx| {
            many(
                tx,
                "SELECT id, name, domain_id, description, enabled FROM projects \
                 WHERE ?1 IS NULL OR domain_id = ?1 ORDER BY id",
                [domain.as_ref().map(DomainId::as_str)],
                project_row,
            )
        })
        .await
    }

    async fn update_project(&self, project: &Project) -> Result<()> {
        validate_name("project", &project.name)?;
        let p = project.clone();
        self.tx(move |tx| {
            let domain: String = one(
                tx,
                "SELECT domain_id FROM projects WHERE id = ?1",
                [p.id.as_str()],
                |r| r.get(0),
                || format!("project {}", p.id),
            )?;
            if exists(
                tx,
                "SELECT 1 FROM projects WHERE domain_id = ?1 AND name = ?2 AND id <> ?3",
                params![domain, p.name, p.id.as_str()],
            )? {
                return Err(Error::exists(format!("project named {}", p.name)));
            }
            tx.execute(
                "UPDATE projects SET name = ?2, description = ?3, enabled = ?4 WHERE id = ?1",
                params![p.id.as_str(), p.name, p.description, p.enabled],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn delete_project(&self, id: &ProjectId) -> Result<()> {
        let id = id.clone();
        self.tx(move |tx| {
            tx.execute(
                "DELETE FROM role_assignments WHERE target_kind = 'project' AND target_id = ?1",
                [id.as_str()],
            )
            .map_err(sql_err)?;
            tx.execute(
                "DELETE FROM ec2_credentials WHERE project_id = ?1",
                [id.as_str()],
            )
            .map_err(sql_err)?;
            match tx
                .execute("DELETE FROM projects WHERE id = ?1", [id.as_str()])
                .map_err(sql_err)?
            {
                0 => Err(Error::not_found(format!("project {id}"))),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        validate_name("user", &user.name)?;
        let u = user.clone();
        self.tx(move |tx| {
            if !exists(
                tx,
                "SELECT 1 FROM domains WHERE id = ?1",
                [u.domain_id.as_str()],
            )? {
                return Err(Error::not_found(format!("domain {}", u.domain_id)));
            }
            if exists(tx, "SELECT 1 FROM users WHERE id = ?1", [u.id.as_str()])? {
                return Err(Error::exists(format!("user {}", u.id)));
            }
            if exists(
                tx,
                "SELECT 1 FROM users WHERE domain_id = ?1 AND name = ?2",
                params![u.domain_id.as_str(), u.name],
            )? {
                return Err(Error::exists(format!("user named {}", u.name)));
            }
            tx.execute(
                "INSERT INTO users \
                 (id, name, domain_id, enabled, password_hash, default_project_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    u.id.as_str(),
                    u.name,
                    u.domain_id.as_str(),
                    u.enabled,
                    u.password_hash.as_ref().map(PasswordHash::as_phc),
                    u.default_project_id.as_ref().map(ProjectId::as_str)
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn get_user(&self, id: &UserId) -> Result<User> {
        let id = id.clone();
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, domain_id, enabled, password_hash, default_project_id FROM users WHERE id = ?1",
                [id.as_str()],
                user_row,
                || format!("user {id}"),
            )
        })
        .await
    }

    async fn find_user(&self, domain: &DomainId, name: &str) -> Result<User> {
        let (domain, name) = (domain.clone(), name.to_owned());
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, domain_id, enabled, password_hash, default_project_id FROM users \
                 WHERE domain_id = ?1 AND name = ?2",
                params![domain.as_str(), name],
                user_row,
                || format!("user named {name} in domain {domain}"),
            )
        })
        .await
    }

    async fn list_users(&self, domain: Option<&DomainId>) -> Result<Vec<User>> {
        let domain = domain.cloned();
        self.tx(move |tx| {
            many(
                tx,
                "SELECT id, name, domain_id, enabled, password_hash, default_project_id FROM users \
                 WHERE ?1 IS NULL OR domain_id = ?1 ORDER BY id",
                [domain.as_ref().map(DomainId::as_str)],
                user_row,
            )
        })
        .await
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        validate_name("user", &user.name)?;
        let u = user.clone();
        self.tx(move |tx| {
            let domain: String = one(
                tx,
                "SELECT domain_id FROM users WHERE id = ?1",
                [u.id.as_str()],
                |r| r.get(0),
                || format!("user {}", u.id),
            )?;
            if exists(
                tx,
                "SELECT 1 FROM users WHERE domain_id = ?1 AND name = ?2 AND id <> ?3",
                params![domain, u.name, u.id.as_str()],
            )? {
                return Err(Error::exists(format!("user named {}", u.name)));
            }
            tx.execute(
                "UPDATE users SET name = ?2, enabled = ?3, password_hash = ?4, \
                 default_project_id = ?5 WHERE id = ?1",
                params![
                    u.id.as_str(),
                    u.name,
                    u.enabled,
                    u.password_hash.as_ref().map(PasswordHash::as_phc),
                    u.default_project_id.as_ref().map(ProjectId::as_str)
                ],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn delete_user(&self, id: &UserId) -> Result<()> {
        let id = id.clone();
        self.tx(move |tx| {
            for sql in [
                "DELETE FROM role_assignments WHERE user_id = ?1",
                "DELETE FROM ec2_credentials WHERE user_id = ?1",
                "DELETE FROM tokens WHERE user_id = ?1",
            ] {
                tx.execute(sql, [id.as_str()]).map_err(sql_err)?;
            }
            match tx
                .execute("DELETE FROM users WHERE id = ?1", [id.as_str()])
                .map_err(sql_err)?
            {
                0 => Err(Error::not_found(format!("user {id}"))),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn create_role(&self, role: &Role) -> Result<()> {
        validate_name("role", &role.name)?;
        let r = role.clone();
        self.tx(move |tx| {
            if exists(tx, "SELECT 1 FROM roles WHERE id = ?1", [r.id.as_str()])? {
                return Err(Error::exists(format!("role {}", r.id)));
            }
            if exists(tx, "SELECT 1 FROM roles WHERE name = ?1", [&r.name])? {
                return Err(Error::exists(format!("role named {}", r.name)));
            }
            tx.execute(
                "INSERT INTO roles (id, name, description) VALUES (?1, ?2, ?3)",
                params![r.id.as_str(), r.name, r.description],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn get_role(&self, id: &RoleId) -> Result<Role> {
        let id = id.clone();
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, description FROM roles WHERE id = ?1",
                [id.as_str()],
                role_row,
                || format!("role {id}"),
            )
        })
        .await
    }

    async fn find_role(&self, name: &str) -> Result<Role> {
        let name = name.to_owned();
        self.tx(move |tx| {
            one(
                tx,
                "SELECT id, name, description FROM roles WHERE name = ?1",
                [&name],
                role_row,
                || format!("role named {name}"),
            )
        })
        .await
    }

    async fn list_roles(&self) -> Result<Vec<Role>> {
        self.tx(|tx| {
            many(
                tx,
                "SELECT id, name, description FROM roles ORDER BY id",
                [],
                role_row,
            )
        })
        .await
    }

    async fn delete_role(&self, id: &RoleId) -> Result<()> {
        let id = id.clone();
        self.tx(move |tx| {
            tx.execute(
                "DELETE FROM role_assignments WHERE role_id = ?1",
                [id.as_str()],
            )
            .map_err(sql_err)?;
            match tx
                .execute("DELETE FROM roles WHERE id = ?1", [id.as_str()])
                .map_err(sql_err)?
            {
                0 => Err(Error::not_found(format!("role {id}"))),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn grant_role(&self, assignment: &RoleAssignment) -> Result<()> {
        let a = assignment.clone();
        self.tx(move |tx| {
            if !exists(
                tx,
                "SELECT 1 FROM users WHERE id = ?1",
                [a.user_id.as_str()],
            )? {
                return Err(Error::not_found(format!("user {}", a.user_id)));
            }
            if !exists(
                tx,
                "SELECT 1 FROM roles WHERE id = ?1",
                [a.role_id.as_str()],
            )? {
                return Err(Error::not_found(format!("role {}", a.role_id)));
            }
            let (kind, target) = target_parts(&a.target);
            let table_sql = match kind {
                "domain" => "SELECT 1 FROM domains WHERE id = ?1",
                _ => "SELECT 1 FROM projects WHERE id = ?1",
            };
            if !exists(tx, table_sql, [target])? {
                return Err(Error::not_found(format!("{kind} {target}")));
            }
            tx.execute(
                "INSERT INTO role_assignments (user_id, target_kind, target_id, role_id) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![a.user_id.as_str(), kind, target, a.role_id.as_str()],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn revoke_role(&self, assignment: &RoleAssignment) -> Result<()> {
        let a = assignment.clone();
        self.tx(move |tx| {
            let (kind, target) = target_parts(&a.target);
            match tx
                .execute(
                    "DELETE FROM role_assignments WHERE user_id = ?1 AND target_kind = ?2 \
                     AND target_id = ?3 AND role_id = ?4",
                    params![a.user_id.as_str(), kind, target, a.role_id.as_str()],
                )
                .map_err(sql_err)?
            {
                0 => Err(Error::not_found("role assignment")),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn list_role_assignments(
        &self,
        filter: &AssignmentFilter,
    ) -> Result<Vec<RoleAssignment>> {
        let user = filter.user_id.as_ref().map(|u| u.as_str().to_owned());
        let role = filter.role_id.as_ref().map(|r| r.as_str().to_owned());
        let target = filter.target.as_ref().map(|t| {
            let (k, id) = target_parts(t);
            (k, id.to_owned())
        });
        self.tx(move |tx| {
            let (kind, tid) = match &target {
                Some((k, id)) => (Some(*k), Some(id.as_str())),
                None => (None, None),
            };
            many(
                tx,
                "SELECT user_id, target_kind, target_id, role_id FROM role_assignments \
                 WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR target_kind = ?2) \
                 AND (?3 IS NULL OR target_id = ?3) AND (?4 IS NULL OR role_id = ?4) \
                 ORDER BY user_id, target_kind, target_id, role_id",
                params![user, kind, tid, role],
                assignment_row,
            )
        })
        .await
    }

    async fn create_ec2_credential(&self, cred: &Ec2Credential) -> Result<()> {
        ec2::create(self, cred).await
    }

    async fn get_ec2_credential(&self, access: &str) -> Result<Ec2Credential> {
        ec2::get(self, access).await
    }

    async fn list_ec2_credentials(&self, user: &UserId) -> Result<Vec<Ec2Credential>> {
        ec2::list(self, user).await
    }

    async fn delete_ec2_credential(&self, access: &str) -> Result<()> {
        ec2::delete(self, access).await
    }

    async fn create_token(&self, token: &Token) -> Result<()> {
        tokens::create(self, token).await
    }

    async fn get_token(&self, id: &TokenId) -> Result<Token> {
        tokens::get(self, id).await
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<()> {
        tokens::revoke(self, id).await
    }

    async fn revoke_user_tokens(&self, user: &UserId) -> Result<u64> {
        tokens::revoke_user(self, user).await
    }

    async fn purge_tokens(&self, before: Timestamp) -> Result<u64> {
        tokens::purge(self, before).await
    }
}
