//! Security groups, their instance memberships and the EC2 id map. Rule
//! changes lock the group row (`FOR UPDATE`) before rewriting its body.

use sql_support::pg::tokio_postgres::Transaction;

use super::rows::{bodies, body, col, exec, exists};
use super::{pg_err, BACKEND};
use crate::db::codec::to_body;
use crate::error::{Error, Result};
use crate::model::{Ec2Kind, InstanceId, ProjectId, SecurityGroup, SecurityGroupRule};

pub(super) async fn create_group(tx: &Transaction<'_>, g: &SecurityGroup) -> Result<()> {
    let p = g.project_id.as_str();
    let inserted = exec(
        tx,
        "INSERT INTO security_groups (id, project_id, name, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        &[&g.id, &p, &g.name, &to_body(BACKEND, g)?],
    )
    .await?;
    match inserted {
        0 => Err(Error::already_exists(format!("security group {}", g.name))),
        _ => Ok(()),
    }
}

async fn group(tx: &Transaction<'_>, id: &str, lock: bool) -> Result<SecurityGroup> {
    let sql = if lock {
        "SELECT body FROM security_groups WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT body FROM security_groups WHERE id = $1"
    };
    body(tx, sql, &[&id], || format!("security group {id}")).await
}

pub(super) async fn get_group(tx: &Transaction<'_>, id: &str) -> Result<SecurityGroup> {
    group(tx, id, false).await
}

pub(super) async fn list_groups(
    tx: &Transaction<'_>,
    project: Option<&ProjectId>,
) -> Result<Vec<SecurityGroup>> {
    match project {
        Some(p) => {
            bodies(
                tx,
                "SELECT body FROM security_groups WHERE project_id = $1
                 ORDER BY name COLLATE \"C\", id",
                &[&p.as_str()],
            )
            .await
        }
        None => {
            bodies(
                tx,
                "SELECT body FROM security_groups ORDER BY name COLLATE \"C\", id",
                &[],
            )
            .await
        }
    }
}

pub(super) async fn delete_group(tx: &Transaction<'_>, id: &str) -> Result<()> {
    // Lock the group so no membership is added between the check and the delete.
    group(tx, id, true).await?;
    let in_use = "SELECT 1 FROM instance_security_groups s JOIN instances i ON i.id = s.instance_id
                  WHERE s.group_id = $1";
    if exists(tx, in_use, &[&id]).await? {
        return Err(Error::conflict(format!("security group {id} is in use")));
    }
    exec(tx, "DELETE FROM security_groups WHERE id = $1", &[&id]).await?;
    Ok(())
}

async fn store_group(tx: &Transaction<'_>, g: &SecurityGroup) -> Result<()> {
    exec(
        tx,
        "UPDATE security_groups SET body = $2 WHERE id = $1",
        &[&g.id, &to_body(BACKEND, g)?],
    )
    .await?;
    Ok(())
}

pub(super) async fn add_rule(
    tx: &Transaction<'_>,
    id: &str,
    rule: &SecurityGroupRule,
) -> Result<SecurityGroup> {
    let mut g = group(tx, id, true).await?;
    if g.same_rule(rule).is_some() {
        return Err(Error::already_exists(format!(
            "rule {} {}:{} in security group {}",
            rule.protocol.as_str(),
            rule.from_port,
            rule.to_port,
            g.name
        )));
    }
    g.rules.push(rule.clone());
    store_group(tx, &g).await?;
    Ok(g)
}

pub(super) async fn remove_rule(
    tx: &Transaction<'_>,
    id: &str,
    rule: &str,
) -> Result<SecurityGroup> {
    let mut g = group(tx, id, true).await?;
    let before = g.rules.len();
    g.rules.retain(|r| r.id != rule);
    if g.rules.len() == before {
        return Err(Error::not_found(format!("security group rule {rule}")));
    }
    store_group(tx, &g).await?;
    Ok(g)
}

pub(super) async fn set_members(
    tx: &Transaction<'_>,
    instance: &InstanceId,
    groups: &[String],
) -> Result<()> {
    let i = instance.to_string();
    exec(
        tx,
        "DELETE FROM instance_security_groups WHERE instance_id = $1",
        &[&i],
    )
    .await?;
    for g in groups {
        // Share-lock the group so a concurrent delete waits for us.
        let sql = "SELECT 1 FROM security_groups WHERE id = $1 FOR SHARE";
        if !exists(tx, sql, &[g]).await? {
            return Err(Error::not_found(format!("security group {g}")));
        }
        exec(
            tx,
            "INSERT INTO instance_security_groups (instance_id, group_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&i, g],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn groups_of(
    tx: &Transaction<'_>,
    instance: &InstanceId,
) -> Result<Vec<SecurityGroup>> {
    bodies(
        tx,
        "SELECT g.body FROM security_groups g JOIN instance_security_groups s ON s.group_id = g.id
         WHERE s.instance_id = $1 ORDER BY g.name COLLATE \"C\", g.id",
        &[&instance.to_string()],
    )
    .await
}

async fn stored_id(tx: &Transaction<'_>, kind: Ec2Kind, uuid: &str) -> Result<Option<String>> {
    let row = tx
        .query_opt(
            "SELECT ec2_id FROM ec2_ids WHERE kind = $1 AND uuid = $2",
            &[&kind.as_str(), &uuid],
        )
        .await
        .map_err(pg_err)?;
    row.map(|r| col::<String>(&r, 0)).transpose()
}

pub(super) async fn ec2_id(tx: &Transaction<'_>, kind: Ec2Kind, uuid: &str) -> Result<String> {
    if let Some(id) = stored_id(tx, kind, uuid).await? {
        return Ok(id);
    }
    let fresh = loop {
        let candidate = kind.generate();
        let sql = "SELECT 1 FROM ec2_ids WHERE ec2_id = $1";
        if !exists(tx, sql, &[&candidate]).await? {
            break candidate;
        }
    };
    // A concurrent caller may win the insert: then its id is returned.
    bind(tx, kind, uuid, &fresh).await
}

pub(super) async fn bind(
    tx: &Transaction<'_>,
    kind: Ec2Kind,
    uuid: &str,
    ec2_id: &str,
) -> Result<String> {
    exec(
        tx,
        "INSERT INTO ec2_ids (kind, uuid, ec2_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&kind.as_str(), &uuid, &ec2_id],
    )
    .await?;
    stored_id(tx, kind, uuid)
        .await?
        .ok_or_else(|| Error::not_found(format!("ec2 id of {uuid}")))
}

pub(super) async fn resolve(tx: &Transaction<'_>, ec2_id: &str) -> Result<(Ec2Kind, String)> {
    let row = tx
        .query_opt(
            "SELECT kind, uuid FROM ec2_ids WHERE ec2_id = $1 ORDER BY uuid LIMIT 1",
            &[&ec2_id],
        )
        .await
        .map_err(pg_err)?
        .ok_or_else(|| Error::not_found(format!("ec2 id {ec2_id}")))?;
    let kind: String = col(&row, 0)?;
    let uuid: String = col(&row, 1)?;
    let kind = Ec2Kind::from_name(&kind)
        .ok_or_else(|| Error::backend(BACKEND, format!("unknown ec2 id kind {kind}")))?;
    Ok((kind, uuid))
}
