//! Volumes and their attachments.

use rusqlite::{params, OptionalExtension, Transaction};

use super::compute::exists;
use super::{sql_err, BACKEND};
use crate::db::codec::{decode_volume as decode, micros, stored_volume as stored, VolumeRow};
use crate::error::{Error, Result};
use crate::model::{InstanceId, ProjectId, Volume, VolumeAttachment, VolumeId, VolumeStatus};

const COLS: &str = "v.body, a.instance_id, a.device, a.attached_at FROM volumes v
     LEFT JOIN volume_attachments a ON a.volume_id = v.id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VolumeRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

pub(super) fn create_volume(tx: &Transaction<'_>, v: &Volume) -> Result<()> {
    let id = v.id.to_string();
    if exists(tx, "SELECT 1 FROM volumes WHERE id = ?1", [&id])? {
        return Err(Error::already_exists(format!("volume {id}")));
    }
    tx.execute(
        "INSERT INTO volumes (id, project_id, created_at, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            id,
            v.project_id.as_str(),
            micros(v.created_at),
            stored(BACKEND, v)?
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn get_volume(tx: &Transaction<'_>, id: &VolumeId) -> Result<Volume> {
    let r = tx
        .query_row(
            &format!("SELECT {COLS} WHERE v.id = ?1"),
            [id.to_string()],
            row,
        )
        .optional()
        .map_err(sql_err)?
        .ok_or_else(|| Error::not_found(format!("volume {id}")))?;
    decode(BACKEND, r)
}

pub(super) fn update_volume(tx: &Transaction<'_>, v: &Volume) -> Result<()> {
    match tx
        .execute(
            "UPDATE volumes SET body = ?2 WHERE id = ?1",
            params![v.id.to_string(), stored(BACKEND, v)?],
        )
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("volume {}", v.id))),
        _ => Ok(()),
    }
}

pub(super) fn delete_volume(tx: &Transaction<'_>, id: &VolumeId) -> Result<()> {
    let id_s = id.to_string();
    if exists(
        tx,
        "SELECT 1 FROM volume_attachments WHERE volume_id = ?1",
        [&id_s],
    )? {
        return Err(Error::conflict(format!("volume {id} is attached")));
    }
    match tx
        .execute("DELETE FROM volumes WHERE id = ?1", [&id_s])
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("volume {id}"))),
        _ => Ok(()),
    }
}

pub(super) fn list_volumes(
    tx: &Transaction<'_>,
    project: Option<&ProjectId>,
) -> Result<Vec<Volume>> {
    let mut st = tx
        .prepare_cached(&format!(
            "SELECT {COLS} WHERE (?1 IS NULL OR v.project_id = ?1) ORDER BY v.created_at, v.id"
        ))
        .map_err(sql_err)?;
    let rows = st
        .query_map([project.map(ProjectId::as_str)], row)
        .map_err(sql_err)?;
    rows.map(|r| decode(BACKEND, r.map_err(sql_err)?)).collect()
}

pub(super) fn attach_volume(
    tx: &Transaction<'_>,
    id: &VolumeId,
    a: &VolumeAttachment,
) -> Result<Volume> {
    let mut v = get_volume(tx, id)?;
    if let Some(cur) = &v.attachment {
        return Err(Error::conflict(format!(
            "volume {id} is already attached to instance {}",
            cur.instance_id
        )));
    }
    // The primary key on volume_id is the real guard.
    tx.execute(
        "INSERT INTO volume_attachments (volume_id, instance_id, device, attached_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            id.to_string(),
            a.instance_id.to_string(),
            a.device,
            micros(a.attached_at)
        ],
    )
    .map_err(|e| match sql_err(e) {
        Error::AlreadyExists { .. } => Error::conflict(format!("volume {id} is already attached")),
        other => other,
    })?;
    v.status = VolumeStatus::InUse;
    update_volume(tx, &v)?;
    get_volume(tx, id)
}

pub(super) fn detach_volume(
    tx: &Transaction<'_>,
    id: &VolumeId,
    instance: &InstanceId,
) -> Result<Volume> {
    let mut v = get_volume(tx, id)?;
    let n = tx
        .execute(
            "DELETE FROM volume_attachments WHERE volume_id = ?1 AND instance_id = ?2",
            [id.to_string(), instance.to_string()],
        )
        .map_err(sql_err)?;
    if n == 0 {
        return Err(Error::conflict(format!(
            "volume {id} is not attached to instance {instance}"
        )));
    }
    v.status = VolumeStatus::Available;
    update_volume(tx, &v)?;
    get_volume(tx, id)
}
