//! Consistent-hashing rings: which devices hold which partitions.
//!
//! A [`Ring`] is the read-only product of a ring builder: for each replica, a
//! table from partition to device id. Lookup is pure and does no I/O.
//! The builder (rebalance, `min_part_hours`) lives in `builder`, the on-disk
//! format in `file`.

mod builder;
mod file;
mod reload;

pub use builder::{
    DeviceSpec, RebalanceOptions, RebalanceReport, RingBuilder, MAX_BALANCE, MAX_PART_POWER,
    MAX_REPLICAS,
};
pub use file::{RING_FORMAT_VERSION, RING_MAGIC};
pub use reload::RingReloader;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::hash::{HashConfig, PathHash};

/// A device of the cluster: one disk on one storage node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Stable id; index into the ring's device table.
    pub id: u16,
    /// Region (failure domain above zone).
    pub region: u8,
    /// Zone within the region.
    pub zone: u8,
    /// Storage node address.
    pub ip: String,
    /// Storage node port.
    pub port: u16,
    /// Device (directory) name on the node, e.g. `sda1`.
    pub device: String,
    /// Relative capacity; partitions are given in proportion to it.
    pub weight: f64,
    /// Free text for operators.
    #[serde(default)]
    pub meta: String,
}

impl Device {
    /// `ip:port`, the node this device lives on.
    pub fn host(&self) -> String {
        if self.ip.contains(':') {
            format!("[{}]:{}", self.ip, self.port)
        } else {
            format!("{}:{}", self.ip, self.port)
        }
    }
}

/// A built ring: devices and the replica-to-partition-to-device tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ring {
    /// Partition power: the ring has `2^part_power` partitions.
    pub part_power: u8,
    /// Device table, indexed by device id; `None` for removed ids.
    pub devices: Vec<Option<Device>>,
    /// `replica2part2dev[r][p]` is the device id of replica `r` of partition
    /// `p`. The last row may be shorter for fractional replica counts.
    pub replica2part2dev: Vec<Vec<u16>>,
}

/// A device chosen for a partition, with its replica index (primaries) or
/// handoff order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeRef<'a> {
    /// The device.
    pub device: &'a Device,
    /// Replica index for primaries; `replica_count + n` for the n-th handoff.
    pub index: usize,
}

impl Ring {
    /// Number of partitions.
    pub fn partition_count(&self) -> u32 {
        1u32 << self.part_power
    }

    /// Number of replica rows.
    pub fn replica_count(&self) -> usize {
        self.replica2part2dev.len()
    }

    /// The devices that are present.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.iter().flatten()
    }

    /// A device by id.
    pub fn device(&self, id: u16) -> Option<&Device> {
        self.devices.get(usize::from(id)).and_then(Option::as_ref)
    }

    /// The partition of an account, container or object path.
    pub fn partition_for(
        &self,
        hash: &HashConfig,
        account: &str,
        container: Option<&str>,
        object: Option<&str>,
    ) -> u32 {
        self.partition_of(&hash.hash_path(account, container, object))
    }

    /// The partition of a path hash.
    pub fn partition_of(&self, hash: &PathHash) -> u32 {
        hash.partition(self.part_power)
    }

    /// The primary devices of a partition, in replica order, without
    /// duplicates (a ring with fewer devices than replicas repeats none).
    pub fn primary_nodes(&self, part: u32) -> Vec<NodeRef<'_>> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(self.replica_count());
        for (index, row) in self.replica2part2dev.iter().enumerate() {
            let Some(&dev_id) = row.get(part as usize) else {
                continue;
            };
            if !seen.insert(dev_id) {
                continue;
            }
            if let Some(device) = self.device(dev_id) {
                out.push(NodeRef { device, index });
            }
        }
        out
    }

    /// Handoff devices for a partition, in a deterministic order: devices
    /// in regions, then zones, then hosts the primaries do not use come first,
    /// then every other device. Never yields a primary.
    pub fn handoff_nodes(&self, part: u32) -> Vec<NodeRef<'_>> {
        let primaries = self.primary_nodes(part);
        let mut used_ids: HashSet<u16> = primaries.iter().map(|n| n.device.id).collect();
        let mut regions: HashSet<u8> = primaries.iter().map(|n| n.device.region).collect();
        let mut zones: HashSet<(u8, u8)> = primaries
            .iter()
            .map(|n| (n.device.region, n.device.zone))
            .collect();
        let mut hosts: HashSet<(&str, u16)> = primaries
            .iter()
            .map(|n| (n.device.ip.as_str(), n.device.port))
            .collect();

        // Walk the devices starting at an offset derived from the partition
        // so different partitions spread their handoffs.
        let devs: Vec<&Device> = self.devices().collect();
        if devs.is_empty() {
            return Vec::new();
        }
        let start = (part as usize).wrapping_mul(2_654_435_761) % devs.len();
        let order: Vec<&Device> = (0..devs.len())
            .map(|i| devs[(start + i) % devs.len()])
            .collect();

        let mut out = Vec::new();
        let mut next_index = self.replica_count();
        // Four passes: new region, new zone, new host, anything left.
        for pass in 0..4 {
            for d in &order {
                if used_ids.contains(&d.id) {
                    continue;
                }
                let take = match pass {
                    0 => !regions.contains(&d.region),
                    1 => !zones.contains(&(d.region, d.zone)),
                    2 => !hosts.contains(&(d.ip.as_str(), d.port)),
                    _ => true,
                };
                if take {
                    used_ids.insert(d.id);
                    regions.insert(d.region);
                    zones.insert((d.region, d.zone));
                    hosts.insert((d.ip.as_str(), d.port));
                    out.push(NodeRef {
                        device: d,
                        index: next_index,
                    });
                    next_index += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: u16, zone: u8, port: u16) -> Option<Device> {
        Some(Device {
            id,
            region: 1,
            zone,
            ip: "127.0.0.1".into(),
            port,
            device: format!("d{id}"),
            weight: 1.0,
            meta: String::new(),
        })
    }

    fn ring() -> Ring {
        Ring {
            part_power: 2,
            devices: vec![
                dev(0, 1, 6200),
                dev(1, 2, 6201),
                dev(2, 3, 6202),
                dev(3, 4, 6203),
                None,
                dev(5, 1, 6200),
            ],
            replica2part2dev: vec![vec![0, 1, 2, 3], vec![1, 2, 3, 0], vec![2, 3, 0, 1]],
        }
    }

    #[test]
    fn primaries_follow_tables() {
        let r = ring();
        let ids: Vec<u16> = r.primary_nodes(1).iter().map(|n| n.device.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn handoffs_exclude_primaries_and_prefer_new_zones() {
        let r = ring();
        let hand: Vec<u16> = r.handoff_nodes(1).iter().map(|n| n.device.id).collect();
        assert_eq!(hand.len(), 2);
        assert!(!hand.contains(&1) && !hand.contains(&2) && !hand.contains(&3));
        // Zone 1 is unused by partition 1's primaries; both zone-1 devices
        // qualify, one in the zone pass and one in a later pass.
        assert!(hand.contains(&0) && hand.contains(&5));
        assert_eq!(r.handoff_nodes(1)[0].index, 3);
    }
}

/// The three rings a cluster needs, shared and swappable at run time (a
/// storage node or proxy reloads a ring when its file changes).
#[derive(Debug)]
pub struct Rings {
    account: std::sync::RwLock<std::sync::Arc<Ring>>,
    container: std::sync::RwLock<std::sync::Arc<Ring>>,
    object: std::sync::RwLock<std::sync::Arc<Ring>>,
}

/// Which ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RingKind {
    /// Accounts.
    Account,
    /// Containers.
    Container,
    /// Objects (storage policy 0).
    Object,
}

impl Rings {
    /// Rings from three built rings.
    pub fn new(account: Ring, container: Ring, object: Ring) -> Self {
        use std::sync::{Arc, RwLock};
        Self {
            account: RwLock::new(Arc::new(account)),
            container: RwLock::new(Arc::new(container)),
            object: RwLock::new(Arc::new(object)),
        }
    }

    fn slot(&self, kind: RingKind) -> &std::sync::RwLock<std::sync::Arc<Ring>> {
        match kind {
            RingKind::Account => &self.account,
            RingKind::Container => &self.container,
            RingKind::Object => &self.object,
        }
    }

    /// The current ring of a kind.
    pub fn get(&self, kind: RingKind) -> std::sync::Arc<Ring> {
        // A poisoned lock still holds a complete Arc: writers only swap it.
        match self.slot(kind).read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the ring of a kind; readers see the new one from now on.
    pub fn replace(&self, kind: RingKind, ring: Ring) {
        let new = std::sync::Arc::new(ring);
        match self.slot(kind).write() {
            Ok(mut g) => *g = new,
            Err(p) => *p.into_inner() = new,
        }
    }
}
