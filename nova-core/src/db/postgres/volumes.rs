//! Volumes and their attachments.

use sql_support::pg::tokio_postgres::{Row, Transaction};

use super::rows::{col, exec, exists};
use super::{pg_err, BACKEND};
use crate::db::codec::{decode_volume, micros, stored_volume};
use crate::error::{Error, Result};
use crate::model::{InstanceId, ProjectId, Volume, VolumeAttachment, VolumeId, VolumeStatus};

const COLS: &str = "v.body, a.instance_id, a.device, a.attached_at FROM volumes v
     LEFT JOIN volume_attachments a ON a.volume_id = v.id";

fn volume(r: &Row) -> Result<Volume> {
    decode_volume(BACKEND, (col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?))
}

pub(super) async fn create_volume(tx: &Transaction<'_>, v: &Volume) -> Result<()> {
    let id = v.id.to_string();
    if exists(tx, "SELECT 1 FROM volumes WHERE id = $1", &[&id]).await? {
        return Err(Error::already_exists(format!("volume {id}")));
    }
    exec(
        tx,
        "INSERT INTO volumes (id, project_id, created_at, body) VALUES ($1, $2, $3, $4)",
        &[
            &id,
            &v.project_id.as_str(),
            &micros(v.created_at),
            &stored_volume(BACKEND, v)?,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn get_volume(tx: &Transaction<'_>, id: &VolumeId) -> Result<Volume> {
    let sql = format!("SELECT {COLS} WHERE v.id = $1");
    match tx
        .query_opt(&sql, &[&id.to_string()])
        .await
        .map_err(pg_err)?
    {
        Some(r) => volume(&r),
        None => Err(Error::not_found(format!("volume {id}"))),
    }
}

pub(super) async fn update_volume(tx: &Transaction<'_>, v: &Volume) -> Result<()> {
    let n = exec(
        tx,
        "UPDATE volumes SET body = $2 WHERE id = $1",
        &[&v.id.to_string(), &stored_volume(BACKEND, v)?],
    )
    .await?;
    match n {
        0 => Err(Error::not_found(format!("volume {}", v.id))),
        _ => Ok(()),
    }
}

/// Locks the volume row for the rest of the transaction.
async fn lock(tx: &Transaction<'_>, id: &VolumeId) -> Result<()> {
    let sql = "SELECT 1 FROM volumes WHERE id = $1 FOR UPDATE";
    if exists(tx, sql, &[&id.to_string()]).await? {
        Ok(())
    } else {
        Err(Error::not_found(format!("volume {id}")))
    }
}

pub(super) async fn delete_volume(tx: &Transaction<'_>, id: &VolumeId) -> Result<()> {
    lock(tx, id).await?;
    let id_s = id.to_string();
    let sql = "SELECT 1 FROM volume_attachments WHERE volume_id = $1";
    if exists(tx, sql, &[&id_s]).await? {
        return Err(Error::conflict(format!("volume {id} is attached")));
    }
    exec(tx, "DELETE FROM volumes WHERE id = $1", &[&id_s]).await?;
    Ok(())
}

pub(super) async fn list_volumes(
    tx: &Transaction<'_>,
    project: Option<&ProjectId>,
) -> Result<Vec<Volume>> {
    let sql = format!(
        "SELECT {COLS} WHERE ($1::TEXT IS NULL OR v.project_id = $1)
         ORDER BY v.created_at, v.id COLLATE \"C\""
    );
    let rows = tx
        .query(&sql, &[&project.map(ProjectId::as_str)])
        .await
        .map_err(pg_err)?;
    rows.iter().map(volume).collect()
}

pub(super) async fn attach_volume(
    tx: &Transaction<'_>,
    id: &VolumeId,
    a: &VolumeAttachment,
) -> Result<Volume> {
    lock(tx, id).await?;
    let mut v = get_volume(tx, id).await?;
    if let Some(cur) = &v.attachment {
        return Err(Error::conflict(format!(
            "volume {id} is already attached to instance {}",
            cur.instance_id
        )));
    }
    // The primary key on volume_id is the real guard.
    exec(
        tx,
        "INSERT INTO volume_attachments (volume_id, instance_id, device, attached_at)
         VALUES ($1, $2, $3, $4)",
        &[
            &id.to_string(),
            &a.instance_id.to_string(),
            &a.device,
            &micros(a.attached_at),
        ],
    )
    .await
    .map_err(|e| match e {
        Error::AlreadyExists { .. } => Error::conflict(format!("volume {id} is already attached")),
        other => other,
    })?;
    v.status = VolumeStatus::InUse;
    update_volume(tx, &v).await?;
    get_volume(tx, id).await
}

pub(super) async fn detach_volume(
    tx: &Transaction<'_>,
    id: &VolumeId,
    instance: &InstanceId,
) -> Result<Volume> {
    lock(tx, id).await?;
    let mut v = get_volume(tx, id).await?;
    let n = exec(
        tx,
        "DELETE FROM volume_attachments WHERE volume_id = $1 AND instance_id = $2",
        &[&id.to_string(), &instance.to_string()],
    )
    .await?;
    if n == 0 {
        return Err(Error::conflict(format!(
            "volume {id} is not attached to instance {instance}"
        )));
    }
    v.status = VolumeStatus::Available;
    update_volume(tx, &v).await?;
    get_volume(tx, id).await
}
