//! Row conversion and small queries shared by the registry's methods.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, ToSql};

use super::BACKEND;
use crate::error::{Error, Result};
use crate::image::{Image, ImageId, ImageMember, ImageStatus, ProjectId};
use crate::registry::sql_list::Arg;

pub(super) fn db_err(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Unavailable {
                reason: "sqlite database is busy".into(),
            }
        }
        _ => Error::backend(BACKEND, e),
    }
}

pub(super) fn image_not_found(id: &ImageId) -> Error {
    Error::not_found(format!("image {id}"))
}

pub(super) fn member_not_found(id: &ImageId, member: &ProjectId) -> Error {
    Error::not_found(format!("member {member} of image {id}"))
}

pub(super) fn to_json(image: &Image) -> Result<String> {
    serde_json::to_string(image).map_err(|e| Error::backend(BACKEND, e))
}

pub(super) fn from_json(body: &str) -> Result<Image> {
    serde_json::from_str(body).map_err(|e| Error::backend(BACKEND, e))
}

pub(super) fn member_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, i64, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

pub(super) fn to_member(raw: (String, String, String, i64, i64)) -> Result<ImageMember> {
    let (image_id, member, status, created_at, updated_at) = raw;
    let corrupt = |what: &str| Error::backend(BACKEND, format!("bad {what} in members table"));
    Ok(ImageMember {
        image_id: image_id.parse().map_err(|_| corrupt("image id"))?,
        member: ProjectId::new(member).map_err(|_| corrupt("member"))?,
        status: status.parse().map_err(|_| corrupt("status"))?,
        created_at: u64::try_from(created_at).map_err(|_| corrupt("created_at"))?,
        updated_at: u64::try_from(updated_at).map_err(|_| corrupt("updated_at"))?,
    })
}

pub(super) fn to_i64(t: u64) -> Result<i64> {
    i64::try_from(t).map_err(|_| Error::invalid(format!("timestamp {t} out of range")))
}

pub(super) fn load(c: &Connection, id: &ImageId) -> Result<Image> {
    let body: Option<String> = c
        .query_row(
            "SELECT body FROM images WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    from_json(&body.ok_or_else(|| image_not_found(id))?)
}

pub(super) fn image_exists(c: &Connection, id: &ImageId) -> Result<bool> {
    c.query_row(
        "SELECT 1 FROM images WHERE id = ?1",
        [id.to_string()],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
    .map_err(db_err)
}

/// Writes every column of `image`: an insert (nothing when the id is
/// taken) without `expected`, else an update guarded by the stored status.
/// Returns the rows changed.
pub(super) fn write(c: &Connection, image: &Image, expected: Option<ImageStatus>) -> Result<usize> {
    let tags = serde_json::to_string(&image.tags).map_err(|e| Error::backend(BACKEND, e))?;
    let id = image.id.to_string();
    let owner = image.owner.as_ref().map(|o| o.as_str());
    let disk_format = image.disk_format.map(|f| f.as_str());
    let container_format = image.container_format.map(|f| f.as_str());
    let size = image.size.map(to_i64).transpose()?;
    let (min_disk, min_ram) = (to_i64(image.min_disk)?, to_i64(image.min_ram)?);
    let (created, updated) = (to_i64(image.created_at)?, to_i64(image.updated_at)?);
    let body = to_json(image)?;
    let (status, visibility) = (image.status.as_str(), image.visibility.as_str());
    let expected = expected.map(ImageStatus::as_str);
    let mut values: Vec<&dyn ToSql> = vec![
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
    let sql = match &expected {
        None => {
            "INSERT OR IGNORE INTO images (id, status, visibility, os_hidden, owner, name,
                 disk_format, container_format, size, min_disk, min_ram, created_at,
                 updated_at, tags, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        }
        Some(s) => {
            values.push(s);
            "UPDATE images SET status = ?2, visibility = ?3, os_hidden = ?4, owner = ?5,
                 name = ?6, disk_format = ?7, container_format = ?8, size = ?9,
                 min_disk = ?10, min_ram = ?11, created_at = ?12, updated_at = ?13,
                 tags = ?14, body = ?15
             WHERE id = ?1 AND status = ?16"
        }
    };
    c.execute(sql, &*values).map_err(db_err)
}

/// The bound values of a listing query.
pub(super) fn values(args: &[Arg]) -> Vec<Value> {
    args.iter()
        .map(|a| match a {
            Arg::Text(s) => Value::Text(s.clone()),
            Arg::OptText(s) => s.clone().map_or(Value::Null, Value::Text),
            Arg::Int(i) => Value::Integer(*i),
            Arg::Bool(b) => Value::Integer(i64::from(*b)),
            Arg::Tags(t) => Value::Text(serde_json::Value::from(t.clone()).to_string()),
        })
        .collect()
}
