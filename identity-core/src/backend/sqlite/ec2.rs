//! EC2 credentials in SQLite.

use rusqlite::params;

use super::rows::{ec2_row, exists, many, one};
use super::{sql_err, SqliteIdentityBackend};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::Ec2Credential;

pub(super) async fn create(b: &SqliteIdentityBackend, cred: &Ec2Credential) -> Result<()> {
    let c = cred.clone();
    b.tx(move |tx| {
        if !exists(
            tx,
            "SELECT 1 FROM users WHERE id = ?1",
            [c.user_id.as_str()],
        )? {
            return Err(Error::not_found(format!("user {}", c.user_id)));
        }
        if !exists(
            tx,
            "SELECT 1 FROM projects WHERE id = ?1",
            [c.project_id.as_str()],
        )? {
            return Err(Error::not_found(format!("project {}", c.project_id)));
        }
        if exists(
            tx,
            "SELECT 1 FROM ec2_credentials WHERE access = ?1",
            [&c.access],
        )? {
            return Err(Error::exists(format!("ec2 credential {}", c.access)));
        }
        tx.execute(
            "INSERT INTO ec2_credentials (access, secret, user_id, project_id) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                c.access,
                c.secret.expose(),
                c.user_id.as_str(),
                c.project_id.as_str()
            ],
        )
        .map_err(sql_err)?;
        Ok(())
    })
    .await
}

pub(super) async fn get(b: &SqliteIdentityBackend, access: &str) -> Result<Ec2Credential> {
    let access = access.to_owned();
    b.tx(move |tx| {
        one(
            tx,
            "SELECT access, secret, user_id, project_id FROM ec2_credentials WHERE access = ?1",
            [&access],
            ec2_row,
            || format!("ec2 credential {access}"),
        )
    })
    .await
}

pub(super) async fn list(b: &SqliteIdentityBackend, user: &UserId) -> Result<Vec<Ec2Credential>> {
    let user = user.clone();
    b.tx(move |tx| {
        many(
            tx,
            "SELECT access, secret, user_id, project_id FROM ec2_credentials \
             WHERE user_id = ?1 ORDER BY access",
            [user.as_str()],
            ec2_row,
        )
    })
    .await
}

pub(super) async fn delete(b: &SqliteIdentityBackend, access: &str) -> Result<()> {
    let access = access.to_owned();
    b.tx(move |tx| {
        match tx
            .execute("DELETE FROM ec2_credentials WHERE access = ?1", [&access])
            .map_err(sql_err)?
        {
            0 => Err(Error::not_found(format!("ec2 credential {access}"))),
            _ => Ok(()),
        }
    })
    .await
}
