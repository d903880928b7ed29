//! The SQLite image registry: one database file (or memory), blocking
//! calls on tokio's blocking pool.
//!
//! Each image is a row with the columns listings filter on and the whole
//! record as JSON; members are rows of their own. Listing filters by
//! status, owner and name in SQL, then applies the shared policy, sort and
//! paging ([`super::list`]) so every backend orders alike.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

mod rows;

use rows::{
    db_err, from_json, image_exists, image_not_found, load, member_from_row, member_not_found,
    store_tags, to_i64, to_json, to_member,
};

use super::list::{select, ListOptions};
use super::ImageRegistry;
use crate::error::{run_blocking, Error, Result};
use crate::image::{Image, ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId};

const BACKEND: &str = "sqlite";
/// The schema this code writes; opening a newer database fails.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
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
";

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
            "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(db_err)?;
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .map_err(db_err)?;
        let version: Option<i64> = tx
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .map_err(db_err)?;
        match version {
            None => {
                tx.execute_batch(SCHEMA).map_err(db_err)?;
                tx.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    [SCHEMA_VERSION],
                )
                .map_err(db_err)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(Error::config(format!(
                    "registry schema version {v} is not {SCHEMA_VERSION}"
                )))
            }
        }
        tx.commit().map_err(db_err)?;
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
        self.with(move |c| {
            let n = c
                .execute(
                    "INSERT OR IGNORE INTO images (id, status, owner, name, body)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        image.id.to_string(),
                        image.status.as_str(),
                        image.owner.as_ref().map(|o| o.as_str()),
                        image.name,
                        to_json(&image)?
                    ],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::already_exists(format!("image {}", image.id)));
            }
            Ok(())
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
            let mut sql = String::from("SELECT body FROM images WHERE 1 = 1");
            let mut args: Vec<String> = Vec::new();
            match opts.status {
                Some(s) => {
                    args.push(s.as_str().into());
                    sql.push_str(&format!(" AND status = ?{}", args.len()));
                }
                None => sql.push_str(" AND status != 'deleted'"),
            }
            if let Some(o) = &opts.owner {
                args.push(o.to_string());
                sql.push_str(&format!(" AND owner = ?{}", args.len()));
            }
            if let Some(n) = &opts.name {
                args.push(n.clone());
                sql.push_str(&format!(" AND name = ?{}", args.len()));
            }
            let mut stmt = c.prepare(&sql).map_err(db_err)?;
            let bodies = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                    r.get::<_, String>(0)
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(db_err)?;
            let images = bodies
                .iter()
                .map(|b| from_json(b))
                .collect::<Result<Vec<_>>>()?;
            let mut members = HashMap::new();
            if let Some(project) = opts.caller.as_ref().and_then(|c| c.project.as_ref()) {
                let mut stmt = c
                    .prepare("SELECT image_id, status FROM members WHERE member = ?1")
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([project.as_str()], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(db_err)?;
                for row in rows {
                    let (id, status) = row.map_err(db_err)?;
                    let bad = || Error::backend(BACKEND, "bad row in members table");
                    let id: ImageId = id.parse().map_err(|_| bad())?;
                    let status: MemberStatus = status.parse().map_err(|_| bad())?;
                    members.insert(id, status);
                }
            }
            select(images, &members, &opts)
        })
        .await
    }

    async fn update(&self, image: &Image, expected: ImageStatus) -> Result<()> {
        let image = image.clone();
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let n = tx
                .execute(
                    "UPDATE images SET status = ?3, owner = ?4, name = ?5, body = ?6
                     WHERE id = ?1 AND status = ?2",
                    params![
                        image.id.to_string(),
                        expected.as_str(),
                        image.status.as_str(),
                        image.owner.as_ref().map(|o| o.as_str()),
                        image.name,
                        to_json(&image)?
                    ],
                )
                .map_err(db_err)?;
            if n == 0 {
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
            let image = load(&tx, &id)?;
            let mut tags = image.tags.clone();
            if tags.insert(tag) {
                store_tags(&tx, image, tags)?;
            }
            tx.commit().map_err(db_err)
        })
        .await
    }

    async fn delete_tag(&self, id: &ImageId, tag: &str) -> Result<()> {
        let (id, tag) = (*id, tag.to_string());
        self.with(move |c| {
            let tx = c.transaction().map_err(db_err)?;
            let image = load(&tx, &id)?;
            let mut tags = image.tags.clone();
            if !tags.remove(&tag) {
                return Err(Error::not_found(format!("tag {tag} of image {id}")));
            }
            store_tags(&tx, image, tags)?;
            tx.commit().map_err(db_err)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
