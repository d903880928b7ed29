//! Conversions shared by the SQL backends: timestamps, JSON bodies,
//! addresses and the address pools of networks.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{
    FloatingIp, Ipv4Cidr, Network, ProjectId, QuotaResource, QuotaUsage, Volume, VolumeAttachment,
};

/// Microseconds since the Unix epoch (negative before it).
pub(crate) fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// The inverse of [`micros`].
pub(crate) fn from_micros(us: i64) -> SystemTime {
    let d = Duration::from_micros(us.unsigned_abs());
    if us >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

/// A record as its JSON body.
pub(crate) fn to_body<T: Serialize>(backend: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::backend(backend, e))
}

/// A stored JSON body; a bad one means a corrupt or foreign database.
pub(crate) fn from_body<T: DeserializeOwned>(backend: &'static str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::backend(backend, e))
}

/// An address as a column value.
pub(crate) fn ip_num(a: Ipv4Addr) -> i64 {
    i64::from(u32::from(a))
}

/// A column value as an address.
pub(crate) fn ip_of(backend: &'static str, n: i64) -> Result<Ipv4Addr> {
    u32::try_from(n)
        .map(Ipv4Addr::from)
        .map_err(|e| Error::backend(backend, e))
}

/// The host addresses of `cidr` (network and broadcast excluded).
pub(crate) fn host_addresses(cidr: Ipv4Cidr) -> Vec<Ipv4Addr> {
    let size = cidr.size();
    (1..size.saturating_sub(1))
        .filter_map(|i| cidr.nth(i))
        .collect()
}

/// The addresses a network may lease: host addresses minus the gateway
/// and `reserved`.
pub(crate) fn fixed_pool(network: &Network, reserved: &[Ipv4Addr]) -> Vec<i64> {
    host_addresses(network.cidr)
        .into_iter()
        .filter(|a| *a != network.gateway && !reserved.contains(a))
        .map(ip_num)
        .collect()
}

/// How [`adjust`] moves a quota usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adjust {
    /// Reserved to in use.
    Commit,
    /// Reserved dropped.
    Rollback,
    /// In use dropped.
    Release,
}

/// The usage after `delta` more of `resource` is reserved, or
/// `QuotaExceeded` when that passes `limit` (`None` = unlimited).
pub(crate) fn check_reserve(
    resource: QuotaResource,
    limit: Option<u64>,
    usage: QuotaUsage,
    delta: u64,
) -> Result<QuotaUsage> {
    let used = usage.in_use.saturating_add(usage.reserved);
    if let Some(limit) = limit {
        if used.saturating_add(delta) > limit {
            return Err(Error::QuotaExceeded {
                resource: resource.as_str().to_owned(),
                requested: delta,
                used,
                limit,
            });
        }
    }
    Ok(QuotaUsage {
        in_use: usage.in_use,
        reserved: usage.reserved.saturating_add(delta),
    })
}

/// The usage after an [`Adjust`] of `delta`; never below zero.
pub(crate) fn adjust(how: Adjust, u: QuotaUsage, delta: u64) -> QuotaUsage {
    match how {
        Adjust::Commit => QuotaUsage {
            in_use: u.in_use.saturating_add(delta.min(u.reserved)),
            reserved: u.reserved.saturating_sub(delta),
        },
        Adjust::Rollback => QuotaUsage {
            in_use: u.in_use,
            reserved: u.reserved.saturating_sub(delta),
        },
        Adjust::Release => QuotaUsage {
            in_use: u.in_use.saturating_sub(delta),
            reserved: u.reserved,
        },
    }
}

/// A quota amount as a column value.
pub(crate) fn amount(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A column value as a quota amount.
pub(crate) fn amount_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Deltas merged per resource and sorted, so locks are taken in one order.
pub(crate) fn merged(deltas: &[(QuotaResource, u64)]) -> Vec<(QuotaResource, u64)> {
    let mut m = std::collections::BTreeMap::new();
    for (r, d) in deltas {
        let e: &mut u64 = m.entry(*r).or_default();
        *e = e.saturating_add(*d);
    }
    m.into_iter().collect()
}

/// The columns of one `floating_ips` row.
pub(crate) struct FloatingRow {
    pub(crate) id: String,
    pub(crate) address: i64,
    pub(crate) pool: String,
    pub(crate) project_id: Option<String>,
    pub(crate) fixed: Option<i64>,
    pub(crate) instance_id: Option<String>,
}

impl FloatingRow {
    pub(crate) fn decode(self, backend: &'static str) -> Result<FloatingIp> {
        let bad = |e: Error| Error::backend(backend, e);
        Ok(FloatingIp {
            id: self.id.parse().map_err(bad)?,
            address: ip_of(backend, self.address)?,
            pool: self.pool,
            project_id: self
                .project_id
                .map(ProjectId::new)
                .transpose()
                .map_err(bad)?,
            fixed_address: self.fixed.map(|f| ip_of(backend, f)).transpose()?,
            instance_id: self
                .instance_id
                .map(|i| i.parse())
                .transpose()
                .map_err(bad)?,
        })
    }
}

/// The body and attachment columns of a volume.
pub(crate) type VolumeRow = (String, Option<String>, Option<String>, Option<i64>);

/// A volume from its body and attachment columns.
pub(crate) fn decode_volume(
    backend: &'static str,
    (b, inst, dev, at): VolumeRow,
) -> Result<Volume> {
    let mut v: Volume = from_body(backend, &b)?;
    v.attachment = match (inst, dev, at) {
        (Some(i), Some(device), Some(at)) => Some(VolumeAttachment {
            instance_id: i.parse().map_err(|e| Error::backend(backend, e))?,
            device,
            attached_at: from_micros(at),
        }),
        _ => None,
    };
    Ok(v)
}

/// The body stored for `v`: without its attachment, which has its own table.
pub(crate) fn stored_volume(backend: &'static str, v: &Volume) -> Result<String> {
    let mut v = v.clone();
    v.attachment = None;
    to_body(backend, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_and_order() {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(from_micros(micros(t)), t);
        assert!(micros(t) < micros(t + Duration::from_micros(1)));
    }

    #[test]
    fn pool_skips_network_gateway_broadcast_and_reserved() {
        let cidr = Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 0), 29).unwrap();
        let net = Network::new("n", crate::model::NetworkMode::Flat, cidr, "br0").unwrap();
        let pool = fixed_pool(&net, &[Ipv4Addr::new(10, 0, 0, 6)]);
        let want: Vec<i64> = [2, 3, 4, 5]
            .iter()
            .map(|d| ip_num(Ipv4Addr::new(10, 0, 0, *d)))
            .collect();
        assert_eq!(pool, want);
    }
}
