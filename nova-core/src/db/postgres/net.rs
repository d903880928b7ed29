//! Networks, fixed IPs and floating IPs. Allocations pick the lowest free
//! row with `FOR UPDATE SKIP LOCKED`: a concurrent allocator skips a row
//! another transaction is taking instead of waiting for it or taking it
//! too.

use std::net::Ipv4Addr;

use sql_support::pg::tokio_postgres::{Row, Transaction};

use super::rows::{bodies, body, col, exec, exists};
use super::{pg_err, BACKEND};
use crate::db::codec::{fixed_pool, host_addresses, ip_num, ip_of, to_body, FloatingRow};
use crate::error::{Error, Result};
use crate::model::{
    FixedIp, FloatingIp, FloatingIpId, InstanceId, Ipv4Cidr, Network, NetworkId, ProjectId,
};

pub(super) async fn create_network(
    tx: &Transaction<'_>,
    n: &Network,
    reserved: &[Ipv4Addr],
) -> Result<()> {
    let id = n.id.to_string();
    if exists(tx, "SELECT 1 FROM networks WHERE id = $1", &[&id]).await? {
        return Err(Error::already_exists(format!("network {id}")));
    }
    exec(
        tx,
        "INSERT INTO networks (id, label, body) VALUES ($1, $2, $3)",
        &[&id, &n.label, &to_body(BACKEND, n)?],
    )
    .await?;
    exec(
        tx,
        "INSERT INTO fixed_ips (network_id, address) SELECT $1, unnest($2::BIGINT[])",
        &[&id, &fixed_pool(n, reserved)],
    )
    .await?;
    Ok(())
}

pub(super) async fn get_network(tx: &Transaction<'_>, id: &NetworkId) -> Result<Network> {
    body(
        tx,
        "SELECT body FROM networks WHERE id = $1",
        &[&id.to_string()],
        || format!("network {id}"),
    )
    .await
}

pub(super) async fn list_networks(tx: &Transaction<'_>) -> Result<Vec<Network>> {
    let sql = "SELECT body FROM networks ORDER BY label COLLATE \"C\", id COLLATE \"C\"";
    bodies(tx, sql, &[]).await
}

pub(super) async fn delete_network(tx: &Transaction<'_>, id: &NetworkId) -> Result<()> {
    let id_s = id.to_string();
    // Lock the network so no allocation slips in between check and delete.
    if !exists(
        tx,
        "SELECT 1 FROM networks WHERE id = $1 FOR UPDATE",
        &[&id_s],
    )
    .await?
    {
        return Err(Error::not_found(format!("network {id}")));
    }
    let leased =
        "SELECT 1 FROM fixed_ips WHERE network_id = $1 AND instance_id IS NOT NULL LIMIT 1";
    if exists(tx, leased, &[&id_s]).await? {
        return Err(Error::conflict(format!(
            "network {id} has leased addresses"
        )));
    }
    exec(tx, "DELETE FROM networks WHERE id = $1", &[&id_s]).await?;
    Ok(())
}

pub(super) async fn allocate_fixed_ip(
    tx: &Transaction<'_>,
    network: NetworkId,
    instance: InstanceId,
    mac: String,
) -> Result<FixedIp> {
    let net = network.to_string();
    if !exists(
        tx,
        "SELECT 1 FROM networks WHERE id = $1 FOR SHARE",
        &[&net],
    )
    .await?
    {
        return Err(Error::not_found(format!("network {network}")));
    }
    let free = tx
        .query_opt(
            "SELECT address FROM fixed_ips WHERE network_id = $1 AND instance_id IS NULL
             ORDER BY address LIMIT 1 FOR UPDATE SKIP LOCKED",
            &[&net],
        )
        .await
        .map_err(pg_err)?;
    let Some(row) = free else {
        return Err(Error::NoMoreAddresses {
            pool: format!("network {network}"),
        });
    };
    let a: i64 = col(&row, 0)?;
    exec(
        tx,
        "UPDATE fixed_ips SET instance_id = $3, mac = $4 WHERE network_id = $1 AND address = $2",
        &[&net, &a, &instance.to_string(), &mac],
    )
    .await?;
    Ok(FixedIp {
        address: ip_of(BACKEND, a)?,
        network_id: network,
        instance_id: instance,
        mac,
    })
}

pub(super) async fn release_fixed_ip(
    tx: &Transaction<'_>,
    network: &NetworkId,
    a: Ipv4Addr,
) -> Result<()> {
    let n = exec(
        tx,
        "UPDATE fixed_ips SET instance_id = NULL, mac = NULL
         WHERE network_id = $1 AND address = $2 AND instance_id IS NOT NULL",
        &[&network.to_string(), &ip_num(a)],
    )
    .await?;
    match n {
        0 => Err(Error::not_found(format!("fixed ip {a} lease"))),
        _ => Ok(()),
    }
}

pub(super) async fn fixed_ips_of(
    tx: &Transaction<'_>,
    instance: &InstanceId,
) -> Result<Vec<FixedIp>> {
    let rows = tx
        .query(
            "SELECT address, network_id, mac FROM fixed_ips WHERE instance_id = $1 ORDER BY address",
            &[&instance.to_string()],
        )
        .await
        .map_err(pg_err)?;
    rows.iter()
        .map(|r| {
            Ok(FixedIp {
                address: ip_of(BACKEND, col(r, 0)?)?,
                network_id: col::<String>(r, 1)?
                    .parse()
                    .map_err(|e| Error::backend(BACKEND, e))?,
                instance_id: *instance,
                mac: col::<Option<String>>(r, 2)?.unwrap_or_default(),
            })
        })
        .collect()
}

pub(super) async fn create_floating_ips(
    tx: &Transaction<'_>,
    pool: &str,
    range: Ipv4Cidr,
) -> Result<u64> {
    let addrs: Vec<i64> = host_addresses(range).into_iter().map(ip_num).collect();
    let ids: Vec<String> = addrs
        .iter()
        .map(|_| FloatingIpId::new_v4().to_string())
        .collect();
    exec(
        tx,
        "INSERT INTO floating_ips (id, address, pool)
         SELECT i, a, $3 FROM unnest($1::TEXT[], $2::BIGINT[]) AS t (i, a)
         ON CONFLICT (address) DO NOTHING",
        &[&ids, &addrs, &pool],
    )
    .await
}

const FLOATING_COLS: &str = "id, address, pool, project_id, fixed_address, instance_id";

fn floating(r: &Row) -> Result<FloatingIp> {
    FloatingRow {
        id: col(r, 0)?,
        address: col(r, 1)?,
        pool: col(r, 2)?,
        project_id: col(r, 3)?,
        fixed: col(r, 4)?,
        instance_id: col(r, 5)?,
    }
    .decode(BACKEND)
}

pub(super) async fn get_floating_ip(tx: &Transaction<'_>, id: &FloatingIpId) -> Result<FloatingIp> {
    let sql = format!("SELECT {FLOATING_COLS} FROM floating_ips WHERE id = $1");
    match tx
        .query_opt(&sql, &[&id.to_string()])
        .await
        .map_err(pg_err)?
    {
        Some(r) => floating(&r),
        None => Err(Error::not_found(format!("floating ip {id}"))),
    }
}

pub(super) async fn allocate_floating_ip(
    tx: &Transaction<'_>,
    pool: &str,
    project: &ProjectId,
) -> Result<FloatingIp> {
    let free = tx
        .query_opt(
            "SELECT id FROM floating_ips WHERE pool = $1 AND project_id IS NULL
             ORDER BY address LIMIT 1 FOR UPDATE SKIP LOCKED",
            &[&pool],
        )
        .await
        .map_err(pg_err)?;
    let Some(row) = free else {
        return Err(Error::NoMoreAddresses {
            pool: format!("floating pool {pool}"),
        });
    };
    let id: String = col(&row, 0)?;
    let sql =
        format!("UPDATE floating_ips SET project_id = $2 WHERE id = $1 RETURNING {FLOATING_COLS}");
    let r = tx
        .query_one(&sql, &[&id, &project.as_str()])
        .await
        .map_err(pg_err)?;
    floating(&r)
}

pub(super) async fn associate_floating_ip(
    tx: &Transaction<'_>,
    id: &FloatingIpId,
    instance: &InstanceId,
    fixed: Ipv4Addr,
) -> Result<FloatingIp> {
    let n = exec(
        tx,
        "UPDATE floating_ips SET instance_id = $2, fixed_address = $3
         WHERE id = $1 AND project_id IS NOT NULL AND instance_id IS NULL",
        &[&id.to_string(), &instance.to_string(), &ip_num(fixed)],
    )
    .await?;
    let ip = get_floating_ip(tx, id).await?;
    if n == 0 {
        return Err(Error::conflict(format!(
            "floating ip {} is unallocated or already associated",
            ip.address
        )));
    }
    Ok(ip)
}

pub(super) async fn disassociate_floating_ip(
    tx: &Transaction<'_>,
    id: &FloatingIpId,
) -> Result<FloatingIp> {
    let n = exec(
        tx,
        "UPDATE floating_ips SET instance_id = NULL, fixed_address = NULL
         WHERE id = $1 AND instance_id IS NOT NULL",
        &[&id.to_string()],
    )
    .await?;
    let ip = get_floating_ip(tx, id).await?;
    if n == 0 {
        return Err(Error::conflict(format!(
            "floating ip {} is not associated",
            ip.address
        )));
    }
    Ok(ip)
}

pub(super) async fn release_floating_ip(tx: &Transaction<'_>, id: &FloatingIpId) -> Result<()> {
    let n = exec(
        tx,
        "UPDATE floating_ips SET project_id = NULL WHERE id = $1 AND instance_id IS NULL",
        &[&id.to_string()],
    )
    .await?;
    let ip = get_floating_ip(tx, id).await?;
    if n == 0 {
        return Err(Error::conflict(format!(
            "floating ip {} is associated",
            ip.address
        )));
    }
    Ok(())
}

pub(super) async fn list_floating_ips(
    tx: &Transaction<'_>,
    project: Option<&ProjectId>,
) -> Result<Vec<FloatingIp>> {
    let sql = format!(
        "SELECT {FLOATING_COLS} FROM floating_ips
         WHERE project_id IS NOT NULL AND ($1::TEXT IS NULL OR project_id = $1) ORDER BY address"
    );
    let rows = tx
        .query(&sql, &[&project.map(ProjectId::as_str)])
        .await
        .map_err(pg_err)?;
    rows.iter().map(floating).collect()
}

pub(super) async fn floating_pools(tx: &Transaction<'_>) -> Result<Vec<String>> {
    let rows = tx
        .query("SELECT DISTINCT pool FROM floating_ips ORDER BY pool", &[])
        .await
        .map_err(pg_err)?;
    rows.iter().map(|r| col(r, 0)).collect()
}

pub(super) async fn fixed_ips_in(
    tx: &Transaction<'_>,
    network: &NetworkId,
) -> Result<Vec<FixedIp>> {
    let rows = tx
        .query(
            "SELECT address, instance_id, mac FROM fixed_ips
             WHERE network_id = $1 AND instance_id IS NOT NULL ORDER BY address",
            &[&network.to_string()],
        )
        .await
        .map_err(pg_err)?;
    rows.iter()
        .map(|r| {
            Ok(FixedIp {
                address: ip_of(BACKEND, col(r, 0)?)?,
                network_id: *network,
                instance_id: col::<String>(r, 1)?
                    .parse()
                    .map_err(|e| Error::backend(BACKEND, e))?,
                mac: col::<Option<String>>(r, 2)?.unwrap_or_default(),
            })
        })
        .collect()
}
