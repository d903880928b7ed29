//! Instances, flavors, key pairs and compute services.

use std::time::SystemTime;

use sql_support::pg::tokio_postgres::Transaction;

use super::rows::{bodies, body, col, exec, exists};
use super::BACKEND;
use crate::db::codec::{from_body, from_micros, micros, to_body};
use crate::db::InstanceFilter;
use crate::error::{Error, Result};
use crate::model::{
    ComputeHost, Flavor, FlavorId, HostName, Instance, InstanceId, KeyPair, TaskState, UserId,
};

pub(super) async fn create_instance(tx: &Transaction<'_>, i: &Instance) -> Result<()> {
    let id = i.id.to_string();
    if exists(tx, "SELECT 1 FROM instances WHERE id = $1", &[&id]).await? {
        return Err(Error::already_exists(format!("instance {id}")));
    }
    exec(
        tx,
        "INSERT INTO instances (id, project_id, host, status, task_state, created_at, updated_at, body,
             reservation_id, client_token, launch_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &id,
            &i.project_id.as_str(),
            &i.host.as_ref().map(HostName::as_str),
            &i.status().as_str(),
            &i.task_state.map(|t| t.as_str()),
            &micros(i.created_at),
            &micros(i.updated_at),
            &to_body(BACKEND, i)?,
            &i.reservation_id,
            &i.client_token,
            &i64::from(i.launch_index),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn get_instance(tx: &Transaction<'_>, id: &InstanceId) -> Result<Instance> {
    body(
        tx,
        "SELECT body FROM instances WHERE id = $1",
        &[&id.to_string()],
        || format!("instance {id}"),
    )
    .await
}

pub(super) async fn update_instance(
    tx: &Transaction<'_>,
    mut i: Instance,
    expected: Option<TaskState>,
) -> Result<Instance> {
    i.updated_at = SystemTime::now();
    // One statement: PostgreSQL re-checks the WHERE clause after waiting on
    // a concurrent writer's row lock, so only one of two racers matches.
    let n = exec(
        tx,
        "UPDATE instances SET project_id = $2, host = $3, status = $4, task_state = $5,
             updated_at = $6, body = $7
         WHERE id = $1 AND task_state IS NOT DISTINCT FROM $8::TEXT",
        &[
            &i.id.to_string(),
            &i.project_id.as_str(),
            &i.host.as_ref().map(HostName::as_str),
            &i.status().as_str(),
            &i.task_state.map(|t| t.as_str()),
            &micros(i.updated_at),
            &to_body(BACKEND, &i)?,
            &expected.map(|t| t.as_str()),
        ],
    )
    .await?;
    if n == 1 {
        return Ok(i);
    }
    let current = get_instance(tx, &i.id).await?;
    Err(Error::conflict(format!(
        "instance {} task state is {}, expected {}",
        i.id,
        current.task_state.map_or("none", |t| t.as_str()),
        expected.map_or("none", |t| t.as_str()),
    )))
}

pub(super) async fn delete_instance(tx: &Transaction<'_>, id: &InstanceId) -> Result<()> {
    let id_s = id.to_string();
    if exec(tx, "DELETE FROM instances WHERE id = $1", &[&id_s]).await? == 0 {
        return Err(Error::not_found(format!("instance {id}")));
    }
    exec(
        tx,
        "UPDATE fixed_ips SET instance_id = NULL, mac = NULL WHERE instance_id = $1",
        &[&id_s],
    )
    .await?;
    exec(
        tx,
        "UPDATE floating_ips SET instance_id = NULL, fixed_address = NULL WHERE instance_id = $1",
        &[&id_s],
    )
    .await?;
    Ok(())
}

pub(super) async fn list_instances(
    tx: &Transaction<'_>,
    f: &InstanceFilter,
) -> Result<Vec<Instance>> {
    let marker: Option<(i64, String)> = match &f.marker {
        None => None,
        Some(m) => {
            let row = tx
                .query_opt(
                    "SELECT created_at, id FROM instances WHERE id = $1",
                    &[&m.to_string()],
                )
                .await
                .map_err(super::pg_err)?
                .ok_or_else(|| Error::invalid(format!("marker {m} not found")))?;
            Some((col(&row, 0)?, col(&row, 1)?))
        }
    };
    let limit = f.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    bodies(
        tx,
        "SELECT body FROM instances
         WHERE ($1::TEXT IS NULL OR project_id = $1) AND ($2::TEXT IS NULL OR host = $2)
           AND ($3::TEXT IS NULL OR status = $3) AND ($4::BIGINT IS NULL OR updated_at >= $4)
           AND ($5::BIGINT IS NULL OR created_at < $5
                OR (created_at = $5 AND id COLLATE \"C\" < $6::TEXT COLLATE \"C\"))
           AND ($8::TEXT IS NULL OR reservation_id = $8) AND ($9::TEXT IS NULL OR client_token = $9)
         ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $7",
        &[
            &f.project_id.as_ref().map(|p| p.as_str()),
            &f.host.as_ref().map(HostName::as_str),
            &f.status.map(|s| s.as_str()),
            &f.changes_since.map(micros),
            &marker.as_ref().map(|m| m.0),
            &marker.as_ref().map(|m| m.1.as_str()),
            &limit,
            &f.reservation_id,
            &f.client_token,
        ],
    )
    .await
}

pub(super) async fn create_flavor(tx: &Transaction<'_>, f: &Flavor) -> Result<()> {
    f.validate()?;
    if exists(tx, "SELECT 1 FROM flavors WHERE id = $1", &[&f.id.as_str()]).await? {
        return Err(Error::already_exists(format!("flavor {}", f.id)));
    }
    if exists(tx, "SELECT 1 FROM flavors WHERE name = $1", &[&f.name]).await? {
        return Err(Error::already_exists(format!("flavor named {}", f.name)));
    }
    exec(
        tx,
        "INSERT INTO flavors (id, name, body) VALUES ($1, $2, $3)",
        &[&f.id.as_str(), &f.name, &to_body(BACKEND, f)?],
    )
    .await?;
    Ok(())
}

pub(super) async fn get_flavor(tx: &Transaction<'_>, id: &FlavorId) -> Result<Flavor> {
    body(
        tx,
        "SELECT body FROM flavors WHERE id = $1",
        &[&id.as_str()],
        || format!("flavor {id}"),
    )
    .await
}

pub(super) async fn list_flavors(tx: &Transaction<'_>) -> Result<Vec<Flavor>> {
    bodies(
        tx,
        "SELECT body FROM flavors ORDER BY id COLLATE \"C\"",
        &[],
    )
    .await
}

pub(super) async fn delete_flavor(tx: &Transaction<'_>, id: &FlavorId) -> Result<()> {
    match exec(tx, "DELETE FROM flavors WHERE id = $1", &[&id.as_str()]).await? {
        0 => Err(Error::not_found(format!("flavor {id}"))),
        _ => Ok(()),
    }
}

pub(super) async fn create_key_pair(tx: &Transaction<'_>, k: &KeyPair) -> Result<()> {
    crate::model::keypair::validate_name(&k.name)?;
    let sql = "SELECT 1 FROM key_pairs WHERE user_id = $1 AND name = $2";
    if exists(tx, sql, &[&k.user_id.as_str(), &k.name]).await? {
        return Err(Error::already_exists(format!("key pair {}", k.name)));
    }
    exec(
        tx,
        "INSERT INTO key_pairs (user_id, name, body) VALUES ($1, $2, $3)",
        &[&k.user_id.as_str(), &k.name, &to_body(BACKEND, k)?],
    )
    .await?;
    Ok(())
}

pub(super) async fn get_key_pair(
    tx: &Transaction<'_>,
    user: &UserId,
    name: &str,
) -> Result<KeyPair> {
    body(
        tx,
        "SELECT body FROM key_pairs WHERE user_id = $1 AND name = $2",
        &[&user.as_str(), &name],
        || format!("key pair {name}"),
    )
    .await
}

pub(super) async fn list_key_pairs(tx: &Transaction<'_>, user: &UserId) -> Result<Vec<KeyPair>> {
    bodies(
        tx,
        "SELECT body FROM key_pairs WHERE user_id = $1 ORDER BY name COLLATE \"C\"",
        &[&user.as_str()],
    )
    .await
}

pub(super) async fn delete_key_pair(tx: &Transaction<'_>, user: &UserId, name: &str) -> Result<()> {
    let sql = "DELETE FROM key_pairs WHERE user_id = $1 AND name = $2";
    match exec(tx, sql, &[&user.as_str(), &name]).await? {
        0 => Err(Error::not_found(format!("key pair {name}"))),
        _ => Ok(()),
    }
}

pub(super) async fn update_service(tx: &Transaction<'_>, h: &ComputeHost) -> Result<()> {
    exec(
        tx,
        "INSERT INTO services (host, heartbeat, body) VALUES ($1, $2, $3)
         ON CONFLICT (host) DO UPDATE SET heartbeat = excluded.heartbeat, body = excluded.body",
        &[
            &h.host.as_str(),
            &micros(h.last_heartbeat),
            &to_body(BACKEND, h)?,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn record_heartbeat(
    tx: &Transaction<'_>,
    host: &HostName,
    at: SystemTime,
) -> Result<()> {
    let sql = "UPDATE services SET heartbeat = $2 WHERE host = $1";
    match exec(tx, sql, &[&host.as_str(), &micros(at)]).await? {
        0 => Err(Error::not_found(format!("compute service {host}"))),
        _ => Ok(()),
    }
}

async fn services(
    tx: &Transaction<'_>,
    sql: &str,
    p: super::rows::Params<'_>,
) -> Result<Vec<ComputeHost>> {
    let rows = tx.query(sql, p).await.map_err(super::pg_err)?;
    rows.iter()
        .map(|r| {
            let mut h: ComputeHost = from_body(BACKEND, &col::<String>(r, 1)?)?;
            h.last_heartbeat = from_micros(col(r, 0)?);
            Ok(h)
        })
        .collect()
}

pub(super) async fn get_service(tx: &Transaction<'_>, host: &HostName) -> Result<ComputeHost> {
    services(
        tx,
        "SELECT heartbeat, body FROM services WHERE host = $1",
        &[&host.as_str()],
    )
    .await?
    .pop()
    .ok_or_else(|| Error::not_found(format!("compute service {host}")))
}

pub(super) async fn list_services(tx: &Transaction<'_>) -> Result<Vec<ComputeHost>> {
    services(
        tx,
        "SELECT heartbeat, body FROM services ORDER BY host COLLATE \"C\"",
        &[],
    )
    .await
}
