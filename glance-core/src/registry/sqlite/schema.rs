//! Schema migrations of the SQLite registry, applied in order at open and
//! recorded in `schema_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::rows::db_err;
use crate::error::{Error, Result};

/// Each entry moves the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    owner TEXT,
    name TEXT,
    body TEXT NOT NULL
);
CREATE INDEX images_owner ON images(owner);
CREATE TABLE members (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    member TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (image_id, member)
);
CREATE INDEX members_member ON members(member);
",
    // A column for every filter and sort key, so listing runs in SQL.
    "
ALTER TABLE images ADD COLUMN visibility TEXT NOT NULL DEFAULT 'shared';
ALTER TABLE images ADD COLUMN os_hidden INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN disk_format TEXT;
ALTER TABLE images ADD COLUMN container_format TEXT;
ALTER TABLE images ADD COLUMN size INTEGER;
ALTER TABLE images ADD COLUMN min_disk INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN min_ram INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
UPDATE images SET
    visibility = json_extract(body, '$.visibility'),
    os_hidden = json_extract(body, '$.os_hidden'),
    disk_format = json_extract(body, '$.disk_format'),
    container_format = json_extract(body, '$.container_format'),
    size = json_extract(body, '$.size'),
    min_disk = json_extract(body, '$.min_disk'),
    min_ram = json_extract(body, '$.min_ram'),
    created_at = json_extract(body, '$.created_at'),
    updated_at = json_extract(body, '$.updated_at'),
    tags = json_extract(body, '$.tags');
CREATE INDEX images_created_at ON images(created_at, id);
",
];

/// The schema this code writes; opening a newer database fails.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`] in one write transaction
/// (taken at once, so two processes opening together migrate in turn).
/// `Error::InvalidConfig` when a newer build migrated it.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(db_err)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if current > SCHEMA_VERSION {
        return Err(Error::config(format!(
            "registry schema version {current} is newer than this build ({SCHEMA_VERSION})"
        )));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(step).map_err(db_err)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )
        .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}
