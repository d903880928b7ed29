//! Instances, flavors, key pairs and compute services.

use std::time::SystemTime;

use rusqlite::{params, OptionalExtension, Transaction};

use super::{sql_err, BACKEND};
use crate::db::codec::{from_body, micros, to_body};
use crate::db::InstanceFilter;
use crate::error::{Error, Result};
use crate::model::{
    ComputeHost, Flavor, FlavorId, HostName, Instance, InstanceId, KeyPair, TaskState, UserId,
};

/// The bodies one query returns, decoded.
pub(super) fn bodies<T: serde::de::DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>> {
    let mut st = tx.prepare_cached(sql).map_err(sql_err)?;
    let rows = st
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(sql_err)?;
    rows.map(|b| from_body(BACKEND, &b.map_err(sql_err)?))
        .collect()
}

/// The one body a query returns, or `NotFound` naming `what`.
pub(super) fn body<T: serde::de::DeserializeOwned>(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
    what: impl FnOnce() -> String,
) -> Result<T> {
    let b: Option<String> = tx
        .query_row(sql, params, |r| r.get(0))
        .optional()
        .map_err(sql_err)?;
    match b {
        Some(b) => from_body(BACKEND, &b),
        None => Err(Error::not_found(what())),
    }
}

/// `true` when the query returns a row.
pub(super) fn exists(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<bool> {
    tx.query_row(sql, params, |_| Ok(()))
        .optional()
        .map_err(sql_err)
        .map(|o| o.is_some())
}

pub(super) fn create_instance(tx: &Transaction<'_>, i: &Instance) -> Result<()> {
    let id = i.id.to_string();
    if exists(tx, "SELECT 1 FROM instances WHERE id = ?1", [&id])? {
        return Err(Error::already_exists(format!("instance {id}")));
    }
    tx.execute(
        "INSERT INTO instances (id, project_id, host, status, task_state, created_at, updated_at, body,
             reservation_id, client_token, launch_index)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            id,
            i.project_id.as_str(),
            i.host.as_ref().map(HostName::as_str),
            i.status().as_str(),
            i.task_state.map(|t| t.as_str()),
            micros(i.created_at),
            micros(i.updated_at),
            to_body(BACKEND, i)?,
            i.reservation_id,
            i.client_token,
            i64::from(i.launch_index),
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn get_instance(tx: &Transaction<'_>, id: &InstanceId) -> Result<Instance> {
    body(
        tx,
        "SELECT body FROM instances WHERE id = ?1",
        [id.to_string()],
        || format!("instance {id}"),
    )
}

pub(super) fn update_instance(
    tx: &Transaction<'_>,
    mut i: Instance,
    expected: Option<TaskState>,
) -> Result<Instance> {
    i.updated_at = SystemTime::now();
    let n = tx
        .execute(
            "UPDATE instances SET project_id = ?2, host = ?3, status = ?4, task_state = ?5,
                 updated_at = ?6, body = ?7
             WHERE id = ?1 AND task_state IS ?8",
            params![
                i.id.to_string(),
                i.project_id.as_str(),
                i.host.as_ref().map(HostName::as_str),
                i.status().as_str(),
                i.task_state.map(|t| t.as_str()),
                micros(i.updated_at),
                to_body(BACKEND, &i)?,
                expected.map(|t| t.as_str()),
            ],
        )
        .map_err(sql_err)?;
    if n == 1 {
        return Ok(i);
    }
    let current = get_instance(tx, &i.id)?;
    Err(Error::conflict(format!(
        "instance {} task state is {}, expected {}",
        i.id,
        current.task_state.map_or("none", |t| t.as_str()),
        expected.map_or("none", |t| t.as_str()),
    )))
}

pub(super) fn delete_instance(tx: &Transaction<'_>, id: &InstanceId) -> Result<()> {
    let id_s = id.to_string();
    if tx
        .execute("DELETE FROM instances WHERE id = ?1", [&id_s])
        .map_err(sql_err)?
        == 0
    {
        return Err(Error::not_found(format!("instance {id}")));
    }
    tx.execute(
        "UPDATE fixed_ips SET instance_id = NULL, mac = NULL WHERE instance_id = ?1",
        [&id_s],
    )
    .map_err(sql_err)?;
    tx.execute(
        "UPDATE floating_ips SET instance_id = NULL, fixed_address = NULL WHERE instance_id = ?1",
        [&id_s],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn list_instances(tx: &Transaction<'_>, f: &InstanceFilter) -> Result<Vec<Instance>> {
    let marker: Option<(i64, String)> = match &f.marker {
        None => None,
        Some(m) => Some(
            tx.query_row(
                "SELECT created_at, id FROM instances WHERE id = ?1",
                [m.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql_err)?
            .ok_or_else(|| Error::invalid(format!("marker {m} not found")))?,
        ),
    };
    let limit = f.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    bodies(
        tx,
        "SELECT body FROM instances
         WHERE (?1 IS NULL OR project_id = ?1) AND (?2 IS NULL OR host = ?2)
           AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR updated_at >= ?4)
           AND (?5 IS NULL OR created_at < ?5 OR (created_at = ?5 AND id < ?6))
           AND (?8 IS NULL OR reservation_id = ?8) AND (?9 IS NULL OR client_token = ?9)
         ORDER BY created_at DESC, id DESC LIMIT ?7",
        params![
            f.project_id.as_ref().map(|p| p.as_str()),
            f.host.as_ref().map(HostName::as_str),
            f.status.map(|s| s.as_str()),
            f.changes_since.map(micros),
            marker.as_ref().map(|m| m.0),
            marker.as_ref().map(|m| m.1.as_str()),
            limit,
            f.reservation_id,
            f.client_token,
        ],
    )
}

pub(super) fn create_flavor(tx: &Transaction<'_>, f: &Flavor) -> Result<()> {
    f.validate()?;
    if exists(tx, "SELECT 1 FROM flavors WHERE id = ?1", [f.id.as_str()])? {
        return Err(Error::already_exists(format!("flavor {}", f.id)));
    }
    if exists(tx, "SELECT 1 FROM flavors WHERE name = ?1", [&f.name])? {
        return Err(Error::already_exists(format!("flavor named {}", f.name)));
    }
    tx.execute(
        "INSERT INTO flavors (id, name, body) VALUES (?1, ?2, ?3)",
        params![f.id.as_str(), f.name, to_body(BACKEND, f)?],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn get_flavor(tx: &Transaction<'_>, id: &FlavorId) -> Result<Flavor> {
    body(
        tx,
        "SELECT body FROM flavors WHERE id = ?1",
        [id.as_str()],
        || format!("flavor {id}"),
    )
}

pub(super) fn list_flavors(tx: &Transaction<'_>) -> Result<Vec<Flavor>> {
    bodies(tx, "SELECT body FROM flavors ORDER BY id", [])
}

pub(super) fn delete_flavor(tx: &Transaction<'_>, id: &FlavorId) -> Result<()> {
    match tx
        .execute("DELETE FROM flavors WHERE id = ?1", [id.as_str()])
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("flavor {id}"))),
        _ => Ok(()),
    }
}

pub(super) fn create_key_pair(tx: &Transaction<'_>, k: &KeyPair) -> Result<()> {
    crate::model::keypair::validate_name(&k.name)?;
    let sql = "SELECT 1 FROM key_pairs WHERE user_id = ?1 AND name = ?2";
    if exists(tx, sql, [k.user_id.as_str(), &k.name])? {
        return Err(Error::already_exists(format!("key pair {}", k.name)));
    }
    tx.execute(
        "INSERT INTO key_pairs (user_id, name, body) VALUES (?1, ?2, ?3)",
        params![k.user_id.as_str(), k.name, to_body(BACKEND, k)?],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn get_key_pair(tx: &Transaction<'_>, user: &UserId, name: &str) -> Result<KeyPair> {
    body(
        tx,
        "SELECT body FROM key_pairs WHERE user_id = ?1 AND name = ?2",
        [user.as_str(), name],
        || format!("key pair {name}"),
    )
}

pub(super) fn list_key_pairs(tx: &Transaction<'_>, user: &UserId) -> Result<Vec<KeyPair>> {
    bodies(
        tx,
        "SELECT body FROM key_pairs WHERE user_id = ?1 ORDER BY name",
        [user.as_str()],
    )
}

pub(super) fn delete_key_pair(tx: &Transaction<'_>, user: &UserId, name: &str) -> Result<()> {
    match tx
        .execute(
            "DELETE FROM key_pairs WHERE user_id = ?1 AND name = ?2",
            [user.as_str(), name],
        )
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("key pair {name}"))),
        _ => Ok(()),
    }
}

pub(super) fn update_service(tx: &Transaction<'_>, h: &ComputeHost) -> Result<()> {
    tx.execute(
        "INSERT INTO services (host, heartbeat, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (host) DO UPDATE SET heartbeat = excluded.heartbeat, body = excluded.body",
        params![
            h.host.as_str(),
            micros(h.last_heartbeat),
            to_body(BACKEND, h)?
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn record_heartbeat(
    tx: &Transaction<'_>,
    host: &HostName,
    at: SystemTime,
) -> Result<()> {
    match tx
        .execute(
            "UPDATE services SET heartbeat = ?2 WHERE host = ?1",
            params![host.as_str(), micros(at)],
        )
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("compute service {host}"))),
        _ => Ok(()),
    }
}

fn service_rows(
    tx: &Transaction<'_>,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<ComputeHost>> {
    let mut st = tx.prepare_cached(sql).map_err(sql_err)?;
    let rows = st
        .query_map(p, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql_err)?;
    rows.map(|row| {
        let (hb, b) = row.map_err(sql_err)?;
        let mut h: ComputeHost = from_body(BACKEND, &b)?;
        h.last_heartbeat = crate::db::codec::from_micros(hb);
        Ok(h)
    })
    .collect()
}

pub(super) fn get_service(tx: &Transaction<'_>, host: &HostName) -> Result<ComputeHost> {
    service_rows(
        tx,
        "SELECT heartbeat, body FROM services WHERE host = ?1",
        [host.as_str()],
    )?
    .pop()
    .ok_or_else(|| Error::not_found(format!("compute service {host}")))
}

pub(super) fn list_services(tx: &Transaction<'_>) -> Result<Vec<ComputeHost>> {
    service_rows(tx, "SELECT heartbeat, body FROM services ORDER BY host", [])
}
