//! Row mapping and small query helpers.

use sha2::{Digest, Sha256};
use sql_support::pg::tokio_postgres::types::ToSql;
use sql_support::pg::tokio_postgres::{GenericClient, Row};

use super::{pg_err, BACKEND};
use crate::error::{Error, Result};
use crate::ids::{ProjectId, TokenId};
use crate::model::{
    AssignmentTarget, Domain, Ec2Credential, Ec2Secret, PasswordHash, Project, Role,
    RoleAssignment, Token, User,
};

pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

fn col<'r, T: sql_support::pg::tokio_postgres::types::FromSql<'r>>(
    r: &'r Row,
    i: usize,
) -> Result<T> {
    r.try_get(i).map_err(pg_err)
}

// Stored values failing validation mean a corrupt or foreign database.
fn id<T: TryFrom<String, Error = Error>>(r: &Row, i: usize) -> Result<T> {
    T::try_from(col::<String>(r, i)?).map_err(|e| Error::Backend {
        backend: BACKEND,
        source: Box::new(e),
    })
}

pub(super) fn domain_row(r: &Row) -> Result<Domain> {
    Ok(Domain {
        id: id(r, 0)?,
        name: col(r, 1)?,
        description: col(r, 2)?,
        enabled: col(r, 3)?,
    })
}

pub(super) fn project_row(r: &Row) -> Result<Project> {
    Ok(Project {
        id: id(r, 0)?,
        name: col(r, 1)?,
        domain_id: id(r, 2)?,
        description: col(r, 3)?,
        enabled: col(r, 4)?,
    })
}

pub(super) fn user_row(r: &Row) -> Result<User> {
    Ok(User {
        id: id(r, 0)?,
        name: col(r, 1)?,
        domain_id: id(r, 2)?,
        enabled: col(r, 3)?,
        password_hash: col::<Option<String>>(r, 4)?.map(PasswordHash::from_phc),
        default_project_id: col::<Option<String>>(r, 5)?
            .map(ProjectId::new)
            .transpose()?,
    })
}

pub(super) fn role_row(r: &Row) -> Result<Role> {
    Ok(Role {
        id: id(r, 0)?,
        name: col(r, 1)?,
        description: col(r, 2)?,
    })
}

pub(super) fn ec2_row(r: &Row) -> Result<Ec2Credential> {
    Ok(Ec2Credential {
        access: col(r, 0)?,
        secret: Ec2Secret::new(col::<String>(r, 1)?),
        user_id: id(r, 2)?,
        project_id: id(r, 3)?,
    })
}

pub(super) fn assignment_row(r: &Row) -> Result<RoleAssignment> {
    let target = match col::<String>(r, 1)?.as_str() {
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

fn json_err(e: serde_json::Error) -> Error {
    Error::Backend {
        backend: BACKEND,
        source: Box::new(e),
    }
}

/// The token as stored: JSON without the id (the bearer secret).
pub(super) fn token_body(token: &Token) -> Result<String> {
    let mut body = serde_json::to_value(token).map_err(json_err)?;
    if let Some(obj) = body.as_object_mut() {
        obj.remove("id");
    }
    Ok(body.to_string())
}

pub(super) fn token_from_body(id: &TokenId, body: &str) -> Result<Token> {
    let mut v: serde_json::Value = serde_json::from_str(body).map_err(json_err)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "id".to_owned(),
            serde_json::Value::String(id.expose().to_owned()),
        );
    }
    serde_json::from_value(v).map_err(json_err)
}

pub(super) async fn exists(c: &impl GenericClient, sql: &str, p: Params<'_>) -> Result<bool> {
    Ok(c.query_opt(sql, p).await.map_err(pg_err)?.is_some())
}

pub(super) async fn exec(c: &impl GenericClient, sql: &str, p: Params<'_>) -> Result<u64> {
    c.execute(sql, p).await.map_err(pg_err)
}

pub(super) async fn one<T>(
    c: &impl GenericClient,
    sql: &str,
    p: Params<'_>,
    f: impl FnOnce(&Row) -> Result<T>,
    what: impl FnOnce() -> String,
) -> Result<T> {
    match c.query_opt(sql, p).await.map_err(pg_err)? {
        Some(row) => f(&row),
        None => Err(Error::not_found(what())),
    }
}

pub(super) async fn many<T>(
    c: &impl GenericClient,
    sql: &str,
    p: Params<'_>,
    f: impl FnMut(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    c.query(sql, p)
        .await
        .map_err(pg_err)?
        .iter()
        .map(f)
        .collect()
}
