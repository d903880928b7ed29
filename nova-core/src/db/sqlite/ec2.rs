//! Security groups, their instance memberships and the EC2 id map.

use rusqlite::{params, OptionalExtension, Transaction};

use super::compute::{bodies, body, exists};
use super::{sql_err, BACKEND};
use crate::db::codec::to_body;
use crate::error::{Error, Result};
use crate::model::{Ec2Kind, InstanceId, ProjectId, SecurityGroup, SecurityGroupRule};

pub(super) fn create_group(tx: &Transaction<'_>, g: &SecurityGroup) -> Result<()> {
    let sql = "SELECT 1 FROM security_groups WHERE id = ?1 OR (project_id = ?2 AND name = ?3)";
    if exists(tx, sql, params![g.id, g.project_id.as_str(), g.name])? {
        return Err(Error::already_exists(format!("security group {}", g.name)));
    }
    tx.execute(
        "INSERT INTO security_groups (id, project_id, name, body) VALUES (?1, ?2, ?3, ?4)",
        params![g.id, g.project_id.as_str(), g.name, to_body(BACKEND, g)?],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn get_group(tx: &Transaction<'_>, id: &str) -> Result<SecurityGroup> {
    body(
        tx,
        "SELECT body FROM security_groups WHERE id = ?1",
        [id],
        || format!("security group {id}"),
    )
}

pub(super) fn list_groups(
    tx: &Transaction<'_>,
    project: Option<&ProjectId>,
) -> Result<Vec<SecurityGroup>> {
    match project {
        Some(p) => bodies(
            tx,
            "SELECT body FROM security_groups WHERE project_id = ?1 ORDER BY name, id",
            [p.as_str()],
        ),
        None => bodies(tx, "SELECT body FROM security_groups ORDER BY name, id", []),
    }
}

pub(super) fn delete_group(tx: &Transaction<'_>, id: &str) -> Result<()> {
    let in_use = "SELECT 1 FROM instance_security_groups s JOIN instances i ON i.id = s.instance_id
                  WHERE s.group_id = ?1";
    if exists(tx, in_use, [id])? {
        return Err(Error::conflict(format!("security group {id} is in use")));
    }
    match tx
        .execute("DELETE FROM security_groups WHERE id = ?1", [id])
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("security group {id}"))),
        _ => Ok(()),
    }
}

fn store_group(tx: &Transaction<'_>, g: &SecurityGroup) -> Result<()> {
    tx.execute(
        "UPDATE security_groups SET body = ?2 WHERE id = ?1",
        params![g.id, to_body(BACKEND, g)?],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn add_rule(
    tx: &Transaction<'_>,
    group: &str,
    rule: &SecurityGroupRule,
) -> Result<SecurityGroup> {
    let mut g = get_group(tx, group)?;
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
    store_group(tx, &g)?;
    Ok(g)
}

pub(super) fn remove_rule(tx: &Transaction<'_>, group: &str, rule: &str) -> Result<SecurityGroup> {
    let mut g = get_group(tx, group)?;
    let before = g.rules.len();
    g.rules.retain(|r| r.id != rule);
    if g.rules.len() == before {
        return Err(Error::not_found(format!("security group rule {rule}")));
    }
    store_group(tx, &g)?;
    Ok(g)
}

pub(super) fn set_members(
    tx: &Transaction<'_>,
    instance: &InstanceId,
    groups: &[String],
) -> Result<()> {
    let i = instance.to_string();
    tx.execute(
        "DELETE FROM instance_security_groups WHERE instance_id = ?1",
        [&i],
    )
    .map_err(sql_err)?;
    for g in groups {
        if !exists(tx, "SELECT 1 FROM security_groups WHERE id = ?1", [g])? {
            return Err(Error::not_found(format!("security group {g}")));
        }
        tx.execute(
            "INSERT INTO instance_security_groups (instance_id, group_id) VALUES (?1, ?2)
             ON CONFLICT DO NOTHING",
            params![i, g],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

pub(super) fn groups_of(tx: &Transaction<'_>, instance: &InstanceId) -> Result<Vec<SecurityGroup>> {
    bodies(
        tx,
        "SELECT g.body FROM security_groups g JOIN instance_security_groups s ON s.group_id = g.id
         WHERE s.instance_id = ?1 ORDER BY g.name, g.id",
        [instance.to_string()],
    )
}

fn stored_id(tx: &Transaction<'_>, kind: Ec2Kind, uuid: &str) -> Result<Option<String>> {
    tx.query_row(
        "SELECT ec2_id FROM ec2_ids WHERE kind = ?1 AND uuid = ?2",
        [kind.as_str(), uuid],
        |r| r.get(0),
    )
    .optional()
    .map_err(sql_err)
}

pub(super) fn ec2_id(tx: &Transaction<'_>, kind: Ec2Kind, uuid: &str) -> Result<String> {
    if let Some(id) = stored_id(tx, kind, uuid)? {
        return Ok(id);
    }
    let fresh = loop {
        let candidate = kind.generate();
        if !exists(tx, "SELECT 1 FROM ec2_ids WHERE ec2_id = ?1", [&candidate])? {
            break candidate;
        }
    };
    bind(tx, kind, uuid, &fresh)
}

pub(super) fn bind(
    tx: &Transaction<'_>,
    kind: Ec2Kind,
    uuid: &str,
    ec2_id: &str,
) -> Result<String> {
    tx.execute(
        "INSERT INTO ec2_ids (kind, uuid, ec2_id) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        [kind.as_str(), uuid, ec2_id],
    )
    .map_err(sql_err)?;
    stored_id(tx, kind, uuid)?.ok_or_else(|| Error::not_found(format!("ec2 id of {uuid}")))
}

pub(super) fn resolve(tx: &Transaction<'_>, ec2_id: &str) -> Result<(Ec2Kind, String)> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT kind, uuid FROM ec2_ids WHERE ec2_id = ?1 ORDER BY uuid LIMIT 1",
            [ec2_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql_err)?;
    let (kind, uuid) = row.ok_or_else(|| Error::not_found(format!("ec2 id {ec2_id}")))?;
    let kind = Ec2Kind::from_name(&kind)
        .ok_or_else(|| Error::backend(BACKEND, format!("unknown ec2 id kind {kind}")))?;
    Ok((kind, uuid))
}
