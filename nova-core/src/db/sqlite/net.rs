//! Networks, fixed IPs and floating IPs.

use std::net::Ipv4Addr;

use rusqlite::{params, OptionalExtension, Transaction};

use super::compute::{bodies, body, exists};
use super::{sql_err, BACKEND};
use crate::db::codec::{fixed_pool, host_addresses, ip_num, ip_of, to_body, FloatingRow};
use crate::error::{Error, Result};
use crate::model::{
    FixedIp, FloatingIp, FloatingIpId, InstanceId, Ipv4Cidr, Network, NetworkId, ProjectId,
};

pub(super) fn create_network(
    tx: &Transaction<'_>,
    n: &Network,
    reserved: &[Ipv4Addr],
) -> Result<()> {
    let id = n.id.to_string();
    if exists(tx, "SELECT 1 FROM networks WHERE id = ?1", [&id])? {
        return Err(Error::already_exists(format!("network {id}")));
    }
    tx.execute(
        "INSERT INTO networks (id, label, body) VALUES (?1, ?2, ?3)",
        params![id, n.label, to_body(BACKEND, n)?],
    )
    .map_err(sql_err)?;
    let mut st = tx
        .prepare_cached("INSERT INTO fixed_ips (network_id, address) VALUES (?1, ?2)")
        .map_err(sql_err)?;
    for a in fixed_pool(n, reserved) {
        st.execute(params![id, a]).map_err(sql_err)?;
    }
    Ok(())
}

pub(super) fn get_network(tx: &Transaction<'_>, id: &NetworkId) -> Result<Network> {
    body(
        tx,
        "SELECT body FROM networks WHERE id = ?1",
        [id.to_string()],
        || format!("network {id}"),
    )
}

pub(super) fn list_networks(tx: &Transaction<'_>) -> Result<Vec<Network>> {
    bodies(tx, "SELECT body FROM networks ORDER BY label, id", [])
}

pub(super) fn delete_network(tx: &Transaction<'_>, id: &NetworkId) -> Result<()> {
    let id_s = id.to_string();
    let leased = "SELECT 1 FROM fixed_ips WHERE network_id = ?1 AND instance_id IS NOT NULL";
    if exists(tx, leased, [&id_s])? {
        return Err(Error::conflict(format!(
            "network {id} has leased addresses"
        )));
    }
    match tx
        .execute("DELETE FROM networks WHERE id = ?1", [&id_s])
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("network {id}"))),
        _ => Ok(()),
    }
}

pub(super) fn allocate_fixed_ip(
    tx: &Transaction<'_>,
    network: NetworkId,
    instance: InstanceId,
    mac: String,
) -> Result<FixedIp> {
    let net = network.to_string();
    if !exists(tx, "SELECT 1 FROM networks WHERE id = ?1", [&net])? {
        return Err(Error::not_found(format!("network {network}")));
    }
    // The immediate transaction holds the write lock: nobody else can take
    // this address between the SELECT and the UPDATE.
    let free: Option<i64> = tx
        .query_row(
            "SELECT address FROM fixed_ips WHERE network_id = ?1 AND instance_id IS NULL
             ORDER BY address LIMIT 1",
            [&net],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let Some(a) = free else {
        return Err(Error::NoMoreAddresses {
            pool: format!("network {network}"),
        });
    };
    tx.execute(
        "UPDATE fixed_ips SET instance_id = ?3, mac = ?4 WHERE network_id = ?1 AND address = ?2",
        params![net, a, instance.to_string(), mac],
    )
    .map_err(sql_err)?;
    Ok(FixedIp {
        address: ip_of(BACKEND, a)?,
        network_id: network,
        instance_id: instance,
        mac,
    })
}

pub(super) fn release_fixed_ip(
    tx: &Transaction<'_>,
    network: &NetworkId,
    a: Ipv4Addr,
) -> Result<()> {
    match tx
        .execute(
            "UPDATE fixed_ips SET instance_id = NULL, mac = NULL
             WHERE network_id = ?1 AND address = ?2 AND instance_id IS NOT NULL",
            params![network.to_string(), ip_num(a)],
        )
        .map_err(sql_err)?
    {
        0 => Err(Error::not_found(format!("fixed ip {a} lease"))),
        _ => Ok(()),
    }
}

pub(super) fn fixed_ips_of(tx: &Transaction<'_>, instance: &InstanceId) -> Result<Vec<FixedIp>> {
    let mut st = tx
        .prepare_cached(
            "SELECT address, network_id, mac FROM fixed_ips WHERE instance_id = ?1 ORDER BY address",
        )
        .map_err(sql_err)?;
    let rows = st
        .query_map([instance.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(sql_err)?;
    rows.map(|row| {
        let (a, n, mac) = row.map_err(sql_err)?;
        Ok(FixedIp {
            address: ip_of(BACKEND, a)?,
            network_id: n.parse().map_err(|e| Error::backend(BACKEND, e))?,
            instance_id: *instance,
            mac: mac.unwrap_or_default(),
        })
    })
    .collect()
}

pub(super) fn create_floating_ips(
    tx: &Transaction<'_>,
    pool: &str,
    range: Ipv4Cidr,
) -> Result<u64> {
    let mut st = tx
        .prepare_cached(
            "INSERT INTO floating_ips (id, address, pool) VALUES (?1, ?2, ?3)
             ON CONFLICT (address) DO NOTHING",
        )
        .map_err(sql_err)?;
    let mut added = 0;
    for a in host_addresses(range) {
        added += st
            .execute(params![FloatingIpId::new_v4().to_string(), ip_num(a), pool])
            .map_err(sql_err)? as u64;
    }
    Ok(added)
}

const FLOATING_COLS: &str = "id, address, pool, project_id, fixed_address, instance_id";

fn floating_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FloatingRow> {
    Ok(FloatingRow {
        id: r.get(0)?,
        address: r.get(1)?,
        pool: r.get(2)?,
        project_id: r.get(3)?,
        fixed: r.get(4)?,
        instance_id: r.get(5)?,
    })
}

pub(super) fn get_floating_ip(tx: &Transaction<'_>, id: &FloatingIpId) -> Result<FloatingIp> {
    tx.query_row(
        &format!("SELECT {FLOATING_COLS} FROM floating_ips WHERE id = ?1"),
        [id.to_string()],
        floating_row,
    )
    .optional()
    .map_err(sql_err)?
    .ok_or_else(|| Error::not_found(format!("floating ip {id}")))?
    .decode(BACKEND)
}

pub(super) fn allocate_floating_ip(
    tx: &Transaction<'_>,
    pool: &str,
    project: &ProjectId,
) -> Result<FloatingIp> {
    let free: Option<String> = tx
        .query_row(
            "SELECT id FROM floating_ips WHERE pool = ?1 AND project_id IS NULL
             ORDER BY address LIMIT 1",
            [pool],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let Some(id) = free else {
        return Err(Error::NoMoreAddresses {
            pool: format!("floating pool {pool}"),
        });
    };
    tx.execute(
        "UPDATE floating_ips SET project_id = ?2 WHERE id = ?1",
        [&id, project.as_str()],
    )
    .map_err(sql_err)?;
    get_floating_ip(tx, &id.parse().map_err(|e| Error::backend(BACKEND, e))?)
}

pub(super) fn associate_floating_ip(
    tx: &Transaction<'_>,
    id: &FloatingIpId,
    instance: &InstanceId,
    fixed: Ipv4Addr,
) -> Result<FloatingIp> {
    let n = tx
        .execute(
            "UPDATE floating_ips SET instance_id = ?2, fixed_address = ?3
             WHERE id = ?1 AND project_id IS NOT NULL AND instance_id IS NULL",
            params![id.to_string(), instance.to_string(), ip_num(fixed)],
        )
        .map_err(sql_err)?;
    let ip = get_floating_ip(tx, id)?;
    if n == 0 {
        return Err(Error::conflict(format!(
            "floating ip {} is unallocated or already associated",
            ip.address
        )));
    }
    Ok(ip)
}

pub(super) fn disassociate_floating_ip(
    tx: &Transaction<'_>,
    id: &FloatingIpId,
) -> Result<FloatingIp> {
    let n = tx
        .execute(
            "UPDATE floating_ips SET instance_id = NULL, fixed_address = NULL
             WHERE id = ?1 AND instance_id IS NOT NULL",
            [id.to_string()],
        )
        .map_err(sql_err)?;
    let ip = get_floating_ip(tx, id)?;
    if n == 0 {
        return Err(Error::conflict(format!(
            "floating ip {} is not associated",
            ip.address
        )));
    }
    Ok(ip)
}

pub(super) fn release_floating_ip(tx: &Transaction<'_>, id: &FloatingIpId) -> Result<()> {
    let ip = get_floating_ip(tx, id)?;
    if ip.instance_id.is_some() {
        return Err(Error::conflict(format!(
            "floating ip {} is associated",
            ip.address
        )));
    }
    tx.execute(
        "UPDATE floating_ips SET project_id = NULL WHERE id = ?1",
        [id.to_string()],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(super) fn list_floating_ips(
    tx: &Transaction<'_>,
    project: Option<&ProjectId>,
) -> Result<Vec<FloatingIp>> {
    let mut st = tx
        .prepare_cached(&format!(
            "SELECT {FLOATING_COLS} FROM floating_ips
             WHERE project_id IS NOT NULL AND (?1 IS NULL OR project_id = ?1) ORDER BY address"
        ))
        .map_err(sql_err)?;
    let rows = st
        .query_map([project.map(ProjectId::as_str)], floating_row)
        .map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)?.decode(BACKEND)).collect()
}

pub(super) fn floating_pools(tx: &Transaction<'_>) -> Result<Vec<String>> {
    let mut st = tx
        .prepare_cached("SELECT DISTINCT pool FROM floating_ips ORDER BY pool")
        .map_err(sql_err)?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)).collect()
}

pub(super) fn fixed_ips_in(tx: &Transaction<'_>, network: &NetworkId) -> Result<Vec<FixedIp>> {
    let mut st = tx
        .prepare_cached(
            "SELECT address, instance_id, mac FROM fixed_ips
             WHERE network_id = ?1 AND instance_id IS NOT NULL ORDER BY address",
        )
        .map_err(sql_err)?;
    let rows = st
        .query_map([network.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(sql_err)?;
    rows.map(|row| {
        let (a, i, mac) = row.map_err(sql_err)?;
        Ok(FixedIp {
            address: ip_of(BACKEND, a)?,
            network_id: *network,
            instance_id: i.parse().map_err(|e| Error::backend(BACKEND, e))?,
            mac: mac.unwrap_or_default(),
        })
    })
    .collect()
}
