//! Schema migrations, applied in order and recorded in `schema_version`.
//!
//! The SQL sticks to what PostgreSQL also accepts (TEXT, BIGINT, INTEGER
//! flags, `ON CONFLICT DO NOTHING`) so a PostgreSQL backend can reuse it.

use rusqlite::{params, Connection, OptionalExtension};

use super::sql_err;
use crate::error::Result;

/// Each entry moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    enabled INTEGER NOT NULL
);
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    description TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains (id),
    enabled INTEGER NOT NULL,
    password_hash TEXT,
    UNIQUE (domain_id, name)
);
CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE role_assignments (
    user_id TEXT NOT NULL REFERENCES users (id),
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, target_kind, target_id, role_id)
);
CREATE TABLE ec2_credentials (
    access TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    project_id TEXT NOT NULL REFERENCES projects (id)
);
CREATE INDEX ec2_credentials_user ON ec2_credentials (user_id);
CREATE TABLE tokens (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
CREATE INDEX tokens_user ON tokens (user_id);
"#,
    r#"
ALTER TABLE users ADD COLUMN default_project_id TEXT;
ALTER TABLE roles ADD COLUMN description TEXT;
"#,
];

/// The schema version this code writes.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`CURRENT_VERSION`]; each step is one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .map_err(sql_err)?;
    let current: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()
        .map_err(sql_err)?
        .flatten()
        .unwrap_or(0);
    if current > CURRENT_VERSION {
        return Err(crate::Error::config(format!(
            "identity database schema version {current} is newer than this build ({CURRENT_VERSION})"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(sql_err)?;
        tx.execute_batch(sql).map_err(sql_err)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            params![i as i64 + 1],
        )
        .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
    }
    Ok(())
}
