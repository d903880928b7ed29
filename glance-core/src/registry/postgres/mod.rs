//! The PostgreSQL image registry: a pool of connections, schema migrations
//! at open, listing done entirely in SQL (module `sql_list`).
//!
//! Each image is a row with the columns listings filter and sort on, plus
//! the whole record as JSON; members are rows of their own, removed with
//! their image.

use async_trait::async_trait;
use sql_support::pg::tokio_postgres::{self, GenericClient, Row};
use sql_support::pg::{PgPool, PooledClient};
use sql_support::PgUrl;

mod schema;

use super::sql_list::{self, Arg, Dialect};
use super::{ImageRegistry, ListOptions};
use crate::error::{from_sql, Error, Result};
use crate::image::{Image, ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId};

const BACKEND: &str = "postgres";

fn pg_err(e: tokio_postgres::Error) -> Error {
    from_sql(BACKEND, sql_support::Error::Postgres(e))
}

fn params(args: &[Arg]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    args.iter()
        .map(|a| -> &(dyn tokio_postgres::types::ToSql + Sync) {
            match a {
                Arg::Text(s) => s,
                Arg::OptText(s) => s,
                Arg::Int(i) => i,
                Arg::Bool(b) => b,
                Arg::Tags(t) => t,
            }
        })
        .collect()
}

fn image_not_found(id: &ImageId) -> Error {
    Error::not_found(format!("image {id}"))
}

fn member_not_found(id: &ImageId, member: &ProjectId) -> Error {
    Error::not_found(format!("member {member} of image {id}"))
}

fn to_i64(t: u64) -> Result<i64> {
    i64::try_from(t).map_err(|_| Error::invalid(format!("value {t} out of range")))
}

fn from_json(body: &str) -> Result<Image> {
    serde_json::from_str(body).map_err(|e| Error::backend(BACKEND, e))
}

/// Writes every column of `image` (`$1` is the id): an upsert when
/// `insert`, else an update guarded by `$16`, the expected status.
const INSERT: &str = "INSERT INTO images (id, status, visibility, os_hidden, owner, name, \
     disk_format, container_format, size, min_disk, min_ram, created_at, updated_at, tags, body) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
     ON CONFLICT DO NOTHING";
const UPDATE: &str = "UPDATE images SET status = $2, visibility = $3, os_hidden = $4, \
     owner = $5, name = $6, disk_format = $7, container_format = $8, size = $9, min_disk = $10, \
     min_ram = $11, created_at = $12, updated_at = $13, tags = $14, body = $15 \
     WHERE id = $1 AND status = $16";

/// Runs [`INSERT`] or [`UPDATE`] for `image`; returns the rows changed.
async fn write(
    c: &impl GenericClient,
    image: &Image,
    expected: Option<ImageStatus>,
) -> Result<u64> {
    let body = serde_json::to_string(image).map_err(|e| Error::backend(BACKEND, e))?;
    let size = image.size.map(to_i64).transpose()?;
    let (min_disk, min_ram) = (to_i64(image.min_disk)?, to_i64(image.min_ram)?);
    let (created, updated) = (to_i64(image.created_at)?, to_i64(image.updated_at)?);
    let tags: Vec<&str> = image.tags.iter().map(String::as_str).collect();
    let id = image.id.to_string();
    let (status, visibility) = (image.status.as_str(), image.visibility.as_str());
    let owner = image.owner.as_ref().map(ProjectId::as_str);
    let disk_format = image.disk_format.map(|f| f.as_str());
    let container_format = image.container_format.map(|f| f.as_str());
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
        &id,
        &status,
        &visibility,
        &image.os_hidden,
        &owner,
        &image.name,
        &disk_format,
        &container_format,
        &size,
        &min_disk,
        &min_ram,
        &created,
        &updated,
        &tags,
        &body,
    ];
    let expected = expected.map(ImageStatus::as_str);
    let sql = match &expected {
        Some(s) => {
            params.push(s);
            UPDATE
        }
        None => INSERT,
    };
    c.execute(sql, &params).await.map_err(pg_err)
}

async fn load(c: &impl GenericClient, id: &ImageId, lock: bool) -> Result<Image> {
    let sql = if lock {
        "SELECT body FROM images WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM images WHERE id = $1"
    };
    let row = c
        .query_opt(sql, &[&id.to_string()])
        .await
        .map_err(pg_err)?
        .ok_or_else(|| image_not_found(id))?;
    from_json(row.try_get(0).map_err(pg_err)?)
}

const MEMBER_COLS: &str = "image_id, member, status, created_at, updated_at";

fn member_row(r: &Row) -> Result<ImageMember> {
    let corrupt = |what: &str| Error::backend(BACKEND, format!("bad {what} in image_members"));
    let text = |i: usize| r.try_get::<_, String>(i).map_err(pg_err);
    let time = |i: usize| {
        let t: i64 = r.try_get(i).map_err(pg_err)?;
        u64::try_from(t).map_err(|_| corrupt("time"))
    };
    Ok(ImageMember {
        image_id: text(0)?.parse().map_err(|_| corrupt("image id"))?,
        member: ProjectId::new(text(1)?).map_err(|_| corrupt("member"))?,
        status: text(2)?.parse().map_err(|_| corrupt("status"))?,
        created_at: time(3)?,
        updated_at: time(4)?,
    })
}

/// Image records in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresImageRegistry {
    pool: PgPool,
}

impl PostgresImageRegistry {
    /// Connects to `url` (`postgres://user:password@host:port/db`) and
    /// applies pending migrations (safe when several processes open the
    /// database at once). `Error::InvalidConfig` for a malformed URL, bad
    /// credentials, a missing database or a schema newer than this build;
    /// `Error::Unavailable` when the server cannot be reached.
    pub async fn connect(url: &PgUrl) -> Result<Self> {
        let pool = PgPool::connect(url)
            .await
            .map_err(|e| from_sql(BACKEND, e))?;
        pool.migrate(schema::COMPONENT, schema::MIGRATIONS)
            .await
            .map_err(|e| from_sql(BACKEND, e))?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<PooledClient> {
        self.pool.get().await.map_err(|e| from_sql(BACKEND, e))
    }

    /// Adds or removes one tag under a row lock.
    async fn edit_tags(&self, id: &ImageId, tag: &str, add: bool) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        let mut image = load(&*tx, id, true).await?;
        let changed = if add {
            image.tags.insert(tag.to_owned())
        } else {
            image.tags.remove(tag)
        };
        if !add && !changed {
            return Err(Error::not_found(format!("tag {tag} of image {id}")));
        }
        if changed {
            write(&*tx, &image, Some(image.status)).await?;
        }
        tx.commit().await.map_err(pg_err)
    }
}

#[async_trait]
impl ImageRegistry for PostgresImageRegistry {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn create(&self, image: &Image) -> Result<()> {
        let c = self.client().await?;
        match write(&**c, image, None).await? {
            0 => Err(Error::already_exists(format!("image {}", image.id))),
            _ => Ok(()),
        }
    }

    async fn get(&self, id: &ImageId) -> Result<Image> {
        load(&**self.client().await?, id, false).await
    }

    async fn list(&self, opts: &ListOptions) -> Result<Vec<Image>> {
        let mut c = self.client().await?;
        // One snapshot for the marker check and the page.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_err)?;
        if let Some(marker) = opts.marker {
            let q = sql_list::marker_check(Dialect::Postgres, opts, marker.to_string());
            let found = tx
                .query_opt(&q.sql, &params(&q.args))
                .await
                .map_err(pg_err)?;
            if found.is_none() {
                return Err(Error::invalid(format!("marker {marker} not found")));
            }
        }
        let q = sql_list::page(Dialect::Postgres, opts);
        let rows = tx.query(&q.sql, &params(&q.args)).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        rows.iter()
            .map(|r| from_json(r.try_get(0).map_err(pg_err)?))
            .collect()
    }

    async fn update(&self, image: &Image, expected: ImageStatus) -> Result<()> {
        let c = self.client().await?;
        if write(&**c, image, Some(expected)).await? == 0 {
            let cur = load(&**c, &image.id, false).await?;
            return Err(Error::conflict(format!(
                "image {} is {}, expected {expected}",
                image.id, cur.status
            )));
        }
        Ok(())
    }

    async fn delete(&self, id: &ImageId) -> Result<()> {
        let c = self.client().await?;
        let n = c
            .execute("DELETE FROM images WHERE id = $1", &[&id.to_string()])
            .await
            .map_err(pg_err)?;
        match n {
            0 => Err(image_not_found(id)),
            _ => Ok(()),
        }
    }

    async fn add_member(&self, m: &ImageMember) -> Result<()> {
        let c = self.client().await?;
        let sql = format!(
            "INSERT INTO image_members ({MEMBER_COLS}) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING"
        );
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
            &m.image_id.to_string(),
            &m.member.as_str(),
            &m.status.as_str(),
            &to_i64(m.created_at)?,
            &to_i64(m.updated_at)?,
        ];
        match c.execute(&sql, &params).await.map_err(pg_err) {
            Ok(0) => Err(Error::already_exists(format!(
                "member {} of image {}",
                m.member, m.image_id
            ))),
            Ok(_) => Ok(()),
            // The foreign key: no such image.
            Err(Error::NotFound { .. }) => Err(image_not_found(&m.image_id)),
            Err(e) => Err(e),
        }
    }

    async fn get_member(&self, id: &ImageId, member: &ProjectId) -> Result<ImageMember> {
        let c = self.client().await?;
        let sql =
            format!("SELECT {MEMBER_COLS} FROM image_members WHERE image_id = $1 AND member = $2");
        match c
            .query_opt(&sql, &[&id.to_string(), &member.as_str()])
            .await
            .map_err(pg_err)?
        {
            Some(r) => member_row(&r),
            None => Err(member_not_found(id, member)),
        }
    }

    async fn list_members(&self, id: &ImageId) -> Result<Vec<ImageMember>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg_err)?;
        let id_s = id.to_string();
        if tx
            .query_opt("SELECT 1 FROM images WHERE id = $1", &[&id_s])
            .await
            .map_err(pg_err)?
            .is_none()
        {
            return Err(image_not_found(id));
        }
        let sql =
            format!("SELECT {MEMBER_COLS} FROM image_members WHERE image_id = $1 ORDER BY member");
        let rows = tx.query(&sql, &[&id_s]).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        rows.iter().map(member_row).collect()
    }

    async fn set_member_status(
        &self,
        id: &ImageId,
        member: &ProjectId,
        status: MemberStatus,
        now: u64,
    ) -> Result<ImageMember> {
        let c = self.client().await?;
        let sql = format!(
            "UPDATE image_members SET status = $3, updated_at = $4 \
             WHERE image_id = $1 AND member = $2 RETURNING {MEMBER_COLS}"
        );
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
            &id.to_string(),
            &member.as_str(),
            &status.as_str(),
            &to_i64(now)?,
        ];
        match c.query_opt(&sql, &params).await.map_err(pg_err)? {
            Some(r) => member_row(&r),
            None => Err(member_not_found(id, member)),
        }
    }

    async fn delete_member(&self, id: &ImageId, member: &ProjectId) -> Result<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM image_members WHERE image_id = $1 AND member = $2",
                &[&id.to_string(), &member.as_str()],
            )
            .await
            .map_err(pg_err)?;
        match n {
            0 => Err(member_not_found(id, member)),
            _ => Ok(()),
        }
    }

    async fn add_tag(&self, id: &ImageId, tag: &str) -> Result<()> {
        self.edit_tags(id, tag, true).await
    }

    async fn delete_tag(&self, id: &ImageId, tag: &str) -> Result<()> {
        self.edit_tags(id, tag, false).await
    }
}

#[cfg(test)]
mod tests;
