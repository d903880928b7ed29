//! Role assignments and EC2 credentials.

use super::rows::{assignment_row, ec2_row, exec, exists, many, one, target_parts};
use super::{pg_err, PostgresIdentityBackend};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::{AssignmentFilter, Ec2Credential, RoleAssignment};

pub(super) async fn grant_role(b: &PostgresIdentityBackend, a: &RoleAssignment) -> Result<()> {
    let mut c = b.client().await?;
    let tx = c.transaction().await.map_err(pg_err)?;
    let (user, role) = (a.user_id.as_str(), a.role_id.as_str());
    if !exists(&*tx, "SELECT 1 FROM users WHERE id = $1", &[&user]).await? {
        return Err(Error::not_found(format!("user {}", a.user_id)));
    }
    if !exists(&*tx, "SELECT 1 FROM roles WHERE id = $1", &[&role]).await? {
        return Err(Error::not_found(format!("role {}", a.role_id)));
    }
    let (kind, target) = target_parts(&a.target);
    // FOR SHARE keeps the target from being deleted before we commit.
    let target_sql = match kind {
        "domain" => "SELECT 1 FROM domains WHERE id = $1 FOR SHARE",
        _ => "SELECT 1 FROM projects WHERE id = $1 FOR SHARE",
    };
    if !exists(&*tx, target_sql, &[&target]).await? {
        return Err(Error::not_found(format!("{kind} {target}")));
    }
    exec(
        &*tx,
        "INSERT INTO role_assignments (user_id, target_kind, target_id, role_id) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&user, &kind, &target, &role],
    )
    .await?;
    tx.commit().await.map_err(pg_err)
}

pub(super) async fn revoke_role(b: &PostgresIdentityBackend, a: &RoleAssignment) -> Result<()> {
    let c = b.client().await?;
    let (kind, target) = target_parts(&a.target);
    let n = exec(
        &**c,
        "DELETE FROM role_assignments WHERE user_id = $1 AND target_kind = $2 \
         AND target_id = $3 AND role_id = $4",
        &[&a.user_id.as_str(), &kind, &target, &a.role_id.as_str()],
    )
    .await?;
    match n {
        0 => Err(Error::not_found("role assignment")),
        _ => Ok(()),
    }
}

pub(super) async fn list_role_assignments(
    b: &PostgresIdentityBackend,
    f: &AssignmentFilter,
) -> Result<Vec<RoleAssignment>> {
    let user = f.user_id.as_ref().map(|u| u.as_str());
    let (kind, tid) = match f.target.as_ref().map(target_parts) {
        Some((k, id)) => (Some(k), Some(id)),
        None => (None, None),
    };
    let role = f.role_id.as_ref().map(|r| r.as_str());
    let c = b.client().await?;
    many(
        &**c,
        "SELECT user_id, target_kind, target_id, role_id FROM role_assignments \
         WHERE ($1::TEXT IS NULL OR user_id = $1) AND ($2::TEXT IS NULL OR target_kind = $2) \
         AND ($3::TEXT IS NULL OR target_id = $3) AND ($4::TEXT IS NULL OR role_id = $4) \
         ORDER BY user_id, target_kind, target_id, role_id",
        &[&user, &kind, &tid, &role],
        assignment_row,
    )
    .await
}

pub(super) async fn create_ec2_credential(
    b: &PostgresIdentityBackend,
    cred: &Ec2Credential,
) -> Result<()> {
    let mut c = b.client().await?;
    let tx = c.transaction().await.map_err(pg_err)?;
    let (user, project) = (cred.user_id.as_str(), cred.project_id.as_str());
    if !exists(&*tx, "SELECT 1 FROM users WHERE id = $1", &[&user]).await? {
        return Err(Error::not_found(format!("user {}", cred.user_id)));
    }
    if !exists(&*tx, "SELECT 1 FROM projects WHERE id = $1", &[&project]).await? {
        return Err(Error::not_found(format!("project {}", cred.project_id)));
    }
    let n = exec(
        &*tx,
        "INSERT INTO ec2_credentials (access, secret, user_id, project_id) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&cred.access, &cred.secret.expose(), &user, &project],
    )
    .await?;
    if n == 0 {
        return Err(Error::exists(format!("ec2 credential {}", cred.access)));
    }
    tx.commit().await.map_err(pg_err)
}

pub(super) async fn get_ec2_credential(
    b: &PostgresIdentityBackend,
    access: &str,
) -> Result<Ec2Credential> {
    let c = b.client().await?;
    one(
        &**c,
        "SELECT access, secret, user_id, project_id FROM ec2_credentials WHERE access = $1",
        &[&access],
        ec2_row,
        || format!("ec2 credential {access}"),
    )
    .await
}

pub(super) async fn list_ec2_credentials(
    b: &PostgresIdentityBackend,
    user: &UserId,
) -> Result<Vec<Ec2Credential>> {
    let c = b.client().await?;
    many(
        &**c,
        "SELECT access, secret, user_id, project_id FROM ec2_credentials \
         WHERE user_id = $1 ORDER BY access",
        &[&user.as_str()],
        ec2_row,
    )
    .await
}
