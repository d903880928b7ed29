//! The SQLite image registry: one database file (or memory), blocking
//! calls on tokio's blocking pool.
//!
//! Each image is a row with a column for every filter and sort key plus the
//! whole record as JSON; members are rows of their own. Listing runs in SQL
//! (the query of `sql_list`, shared with PostgreSQL), ordering exactly as
//! the in-memory registry does.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

mod rows;
mod schema;

use rows::{
    db_err, from_json, image_exists, image_not_found, load, member_from_row, member_not_found,
    to_i64, to_member, values, write,
};

use super::sql_list::{self, Dialect};
use super::{ImageRegistry, ListOptions};
use crate::error::{run_blocking, Error, Result};
use crate::image::{Image, ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId};

const BACKEND: &str = "sqlite";

pub use schema::SCHEMA_VERSION;

/// Image records in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteImageRegistry {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteImageRegistry {
    /// Opens (creating if needed) the database at `path` and migrates it.
    /// Does blocking I/O: call it at startup.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::init(Connection::open(path).map_err(db_err)?)
    }

    /// A private in-memory database, for tests and embedding.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(db_err)?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.execute_batch(
            "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;",
        )
        .map_err(db_err)?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        run_blocking(BACKEND, move || {
            // SQLite rolls back an unfinished transaction; a poisoned lock is safe to reuse.
            let mut guard: MutexGuard<'_, Connection> =
                conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
    }
}

#[async_trait]
impl ImageRegistry for SqliteImageRegistry {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn create(&self, image: &Image) -> Result<()> {
        let image = image.clone();
        self.with(move |c| match write(c, &image, None)? {
            0 => Err(Error::already_exists(format!("image {}", image.id))),
            _ => Ok(()),
        })
        .await
    }

    async fn get(&self, id: &ImageId) -> Result<Image> {
        let id = *id;
        self.with(move |c| load(c, &id)).await
    }

    async fn list(&self, opts: &ListOptions) -> Result<Vec<Image>> {
        let opts = opts.clone();
        self.with(move |c| {
            // One snapshot for the marker check and the page.
            let tx = c.transaction().map_err(db_err)?;
            if let Some(marker) = opts.marker {
                let q = sql_list::marker_check(Dialect::Sqlite, &opts, marker.to_string());
                let found = tx
                    .query_row(&q.sql, params_from_iter(values(&q.args)), |_| Ok(()))
                    .optional()
                    .map_err(db_err)?;
                if found.is_none() {
                    return Err(Error::invalid(format!("marker {marker} not found")));
                }
            }
            let q = sql_list::page(Dialect::Sqlite, &opts);
            let mut stmt = tx.prepare(&q.sql).map_err(db_err)?;
            let bodies = stmt
                .query_map(params_from_iter(values(&q.args)), |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(db_err)?;
            bodies.iter().map(|b| from_json(b)).collect()
        })
        .await
    }

    async fn update(&self, image: &Image, expected: ImageStatus) -> Result<()> {
        let image = image.clone();
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            if write(&tx, &image, Some(expected))? == 0 {
                let cur = load(&tx, &image.id)?;
                return Err(Error::conflict(format!(
                    "image {} is {}, expected {expected}",
                    image.id, cur.status
                )));
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn delete(&self, id: &ImageId) -> Result<()> {
        let id = *id;
        self.with(move |c| {
            let n = c
                .execute("DELETE FROM images WHERE id = ?1", [id.to_string()])
                .map_err(db_err)?;
            if n == 0 {
                return Err(image_not_found(&id));
            }
            Ok(())
        })
        .await
    }

    async fn add_member(&self, member: &ImageMember) -> Result<()> {
        let m = member.clone();
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            if !image_exists(&tx, &m.image_id)? {
                return Err(image_not_found(&m.image_id));
            }
            let n = tx
                .execute(
                    "INSERT OR IGNORE INTO members (image_id, member, status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        m.image_id.to_string(),
                        m.member.as_str(),
                        m.status.as_str(),
                        to_i64(m.created_at)?,
                        to_i64(m.updated_at)?
                    ],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::already_exists(format!(
                    "member {} of image {}",
                    m.member, m.image_id
                )));
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn get_member(&self, id: &ImageId, member: &ProjectId) -> Result<ImageMember> {
        let (id, member) = (*id, member.clone());
        self.with(move |c| {
            let raw = c
                .query_row(
                    "SELECT image_id, member, status, created_at, updated_at FROM members
                     WHERE image_id = ?1 AND member = ?2",
                    params![id.to_string(), member.as_str()],
                    member_from_row,
                )
                .optional()
                .map_err(db_err)?;
            to_member(raw.ok_or_else(|| member_not_found(&id, &member))?)
        })
        .await
    }

    async fn list_members(&self, id: &ImageId) -> Result<Vec<ImageMember>> {
        let id = *id;
        self.with(move |c| {
            if !image_exists(c, &id)? {
                return Err(image_not_found(&id));
            }
            let mut stmt = c
                .prepare(
                    "SELECT image_id, member, status, created_at, updated_at FROM members
                     WHERE image_id = ?1 ORDER BY member",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([id.to_string()], member_from_row)
                .map_err(db_err)?;
            rows.map(|r| to_member(r.map_err(db_err)?)).collect()
        })
        .await
    }

    async fn set_member_status(
        &self,
        id: &ImageId,
        member: &ProjectId,
        status: MemberStatus,
        now: u64,
    ) -> Result<ImageMember> {
        let (id, member_id) = (*id, member.clone());
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE members SET status = ?3, updated_at = ?4
                     WHERE image_id = ?1 AND member = ?2",
                    params![
                        id.to_string(),
                        member_id.as_str(),
                        status.as_str(),
                        to_i64(now)?
                    ],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(member_not_found(&id, &member_id));
            }
            Ok(())
        })
        .await?;
        self.get_member(&id, member).await
    }

    async fn delete_member(&self, id: &ImageId, member: &ProjectId) -> Result<()> {
        let (id, member) = (*id, member.clone());
        self.with(move |c| {
            let n = c
                .execute(
                    "DELETE FROM members WHERE image_id = ?1 AND member = ?2",
                    params![id.to_string(), member.as_str()],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(member_not_found(&id, &member));
            }
            Ok(())
        })
        .await
    }

    async fn add_tag(&self, id: &ImageId, tag: &str) -> Result<()> {
        let (id, tag) = (*id, tag.to_string());
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let mut image = load(&tx, &id)?;
            if image.tags.insert(tag) {
                write(&tx, &image, Some(image.status))?;
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn delete_tag(&self, id: &ImageId, tag: &str) -> Result<()> {
        let (id, tag) = (*id, tag.to_string());
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let mut image = load(&tx, &id)?;
            if !image.tags.remove(&tag) {
                return Err(Error::not_found(format!("tag {tag} of image {id}")));
            }
            write(&tx, &image, Some(image.status))?;
            tx.commit().map_err(db_err)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
