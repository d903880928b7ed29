//! Row mapping and small query helpers.

use rusqlite::{Connection, OptionalExtension, Row, Transaction};
use sha2::{Digest, Sha256};

use super::sql_err;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, TokenId};
use crate::model::{
    AssignmentTarget, Domain, Ec2Credential, Ec2Secret, PasswordHash, Project, Role,
    RoleAssignment, User,
};

// Stored values failing validation mean a corrupt or foreign database.
pub(super) fn conv_err(e: Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

pub(super) fn id<T: TryFrom<String, Error = Error>>(
    row: &Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    T::try_from(row.get::<_, String>(i)?).map_err(conv_err)
}

pub(super) fn domain_row(r: &Row<'_>) -> rusqlite::Result<Domain> {
    Ok(Domain {
        id: id(r, 0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        enabled: r.get(3)?,
    })
}

pub(super) fn project_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: id(r, 0)?,
        name: r.get(1)?,
        domain_id: id(r, 2)?,
        description: r.get(3)?,
        enabled: r.get(4)?,
    })
}

pub(super) fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: id(r, 0)?,
        name: r.get(1)?,
        domain_id: id(r, 2)?,
        enabled: r.get(3)?,
        password_hash: r.get::<_, Option<String>>(4)?.map(PasswordHash::from_phc),
        default_project_id: r
            .get::<_, Option<String>>(5)?
            .map(ProjectId::new)
            .transpose()
            .map_err(conv_err)?,
    })
}

pub(super) fn role_row(r: &Row<'_>) -> rusqlite::Result<Role> {
    Ok(Role {
        id: id(r, 0)?,
        name: r.get(1)?,
        description: r.get(2)?,
    })
}

pub(super) fn ec2_row(r: &Row<'_>) -> rusqlite::Result<Ec2Credential> {
    Ok(Ec2Credential {
        access: r.get(0)?,
        secret: Ec2Secret::new(r.get::<_, String>(1)?),
        user_id: id(r, 2)?,
        project_id: id(r, 3)?,
    })
}

pub(super) fn assignment_row(r: &Row<'_>) -> rusqlite::Result<RoleAssignment> {
    let kind: String = r.get(1)?;
    let target = match kind.as_str() {
        "domain" => AssignmentTarget::Domain(id(r, 2)?),
        _ => AssignmentTarget::Project(id(r, 2)?),
    };
    Ok(RoleAssignment {
        user_id: id(r, 0)?,
        target,
        role_id: id(r, 3)?,
    })
}

pub(super) fn target_parts(t: &AssignmentTarget) -> (&'static str, &str) {
    match t {
        AssignmentTarget::Domain(d) => ("domain", d.as_str()),
        AssignmentTarget::Project(p) => ("project", p.as_str()),
    }
}

// Tokens are keyed by a hash so the database never holds a usable bearer secret.
pub(super) fn token_key(id: &TokenId) -> String {
    hex::encode(Sha256::digest(id.expose().as_bytes()))
}

pub(super) fn exists(tx: &Transaction<'_>, sql: &str, p: impl rusqlite::Params) -> Result<bool> {
    tx.query_row(sql, p, |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
        .map_err(sql_err)
}

pub(super) fn one<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    what: impl FnOnce() -> String,
) -> Result<T> {
    conn.query_row(sql, p, f)
        .optional()
        .map_err(sql_err)?
        .ok_or_else(|| Error::not_found(what()))
}

pub(super) fn many<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let rows = stmt.query_map(p, f).map_err(sql_err)?;
    rows.collect::<rusqlite::Result<Vec<T>>>().map_err(sql_err)
}
