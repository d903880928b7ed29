//! Users.

use super::rows::{exec, exists, many, one, user_row};
use super::{pg_err, PostgresIdentityBackend};
use crate::error::{Error, Result};
use crate::ids::{DomainId, ProjectId, UserId};
use crate::model::{validate_name, PasswordHash, User};

pub(super) async fn create_user(b: &PostgresIdentityBackend, u: &User) -> Result<()> {
    validate_name("user", &u.name)?;
    let mut c = b.client().await?;
    let tx = c.transaction().await.map_err(pg_err)?;
    let dom = u.domain_id.as_str();
    if !exists(&*tx, "SELECT 1 FROM domains WHERE id = $1", &[&dom]).await? {
        return Err(Error::not_found(format!("domain {}", u.domain_id)));
    }
    if exists(&*tx, "SELECT 1 FROM users WHERE id = $1", &[&u.id.as_str()]).await? {
        return Err(Error::exists(format!("user {}", u.id)));
    }
    if exists(
        &*tx,
        "SELECT 1 FROM users WHERE domain_id = $1 AND name = $2",
        &[&dom, &u.name],
    )
    .await?
    {
        return Err(Error::exists(format!("user named {}", u.name)));
    }
    exec(
        &*tx,
        "INSERT INTO users (id, name, domain_id, enabled, password_hash, default_project_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &u.id.as_str(),
            &u.name,
            &dom,
            &u.enabled,
            &u.password_hash.as_ref().map(PasswordHash::as_phc),
            &u.default_project_id.as_ref().map(ProjectId::as_str),
        ],
    )
    .await?;
    tx.commit().await.map_err(pg_err)
}

pub(super) async fn get_user(b: &PostgresIdentityBackend, id: &UserId) -> Result<User> {
    let c = b.client().await?;
    one(
        &**c,
        "SELECT id, name, domain_id, enabled, password_hash, default_project_id FROM users WHERE id = $1",
        &[&id.as_str()],
        user_row,
        || format!("user {id}"),
    )
    .await
}

pub(super) async fn find_user(
    b: &PostgresIdentityBackend,
    domain: &DomainId,
    name: &str,
) -> Result<User> {
    let c = b.client().await?;
    one(
        &**c,
        "SELECT id, name, domain_id, enabled, password_hash, default_project_id FROM users \
         WHERE domain_id = $1 AND name = $2",
        &[&domain.as_str(), &name],
        user_row,
        || format!("user named {name} in domain {domain}"),
    )
    .await
}

pub(super) async fn list_users(
    b: &PostgresIdentityBackend,
    domain: Option<&DomainId>,
) -> Result<Vec<User>> {
    let c = b.client().await?;
    many(
        &**c,
        "SELECT id, name, domain_id, enabled, password_hash, default_project_id FROM users \
         WHERE $1::TEXT IS NULL OR domain_id = $1 ORDER BY id",
        &[&domain.map(DomainId::as_str)],
        user_row,
    )
    .await
}

pub(super) async fn update_user(b: &PostgresIdentityBackend, u: &User) -> Result<()> {
    validate_name("user", &u.name)?;
    let mut c = b.client().await?;
    let tx = c.transaction().await.map_err(pg_err)?;
    let domain: String = one(
        &*tx,
        "SELECT domain_id FROM users WHERE id = $1 FOR UPDATE",
        &[&u.id.as_str()],
        |r| r.try_get(0).map_err(pg_err),
        || format!("user {}", u.id),
    )
    .await?;
    if exists(
        &*tx,
        "SELECT 1 FROM users WHERE domain_id = $1 AND name = $2 AND id <> $3",
        &[&domain, &u.name, &u.id.as_str()],
    )
    .await?
    {
        return Err(Error::exists(format!("user named {}", u.name)));
    }
    exec(
        &*tx,
        "UPDATE users SET name = $2, enabled = $3, password_hash = $4, \
         default_project_id = $5 WHERE id = $1",
        &[
            &u.id.as_str(),
            &u.name,
            &u.enabled,
            &u.password_hash.as_ref().map(PasswordHash::as_phc),
            &u.default_project_id.as_ref().map(ProjectId::as_str),
        ],
    )
    .await?;
    tx.commit().await.map_err(pg_err)
}

pub(super) async fn delete_user(b: &PostgresIdentityBackend, id: &UserId) -> Result<()> {
    let mut c = b.client().await?;
    let tx = c.transaction().await.map_err(pg_err)?;
    let id_s = id.as_str();
    for sql in [
        "DELETE FROM role_assignments WHERE user_id = $1",
        "DELETE FROM ec2_credentials WHERE user_id = $1",
        "DELETE FROM tokens WHERE user_id = $1",
    ] {
        exec(&*tx, sql, &[&id_s]).await?;
    }
    if exec(&*tx, "DELETE FROM users WHERE id = $1", &[&id_s]).await? == 0 {
        return Err(Error::not_found(format!("user {id}")));
    }
    tx.commit().await.map_err(pg_err)
}

pub(super) async fn revoke_user_tokens(b: &PostgresIdentityBackend, user: &UserId) -> Result<u64> {
    let c = b.client().await?;
    exec(
        &**c,
        "UPDATE tokens SET revoked = TRUE WHERE user_id = $1 AND NOT revoked",
        &[&user.as_str()],
    )
    .await
}
