//! Row conversion and small queries shared by the registry's methods.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension};

use super::BACKEND;
use crate::error::{Error, Result};
use crate::image::{Image, ImageId, ImageMember, ProjectId};

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

pub(super) fn store_tags(c: &Connection, mut image: Image, tags: BTreeSet<String>) -> Result<()> {
    image.tags = tags;
    c.execute(
        "UPDATE images SET body = ?2 WHERE id = ?1",
        params![image.id.to_string(), to_json(&image)?],
    )
    .map_err(db_err)?;
    Ok(())
}
