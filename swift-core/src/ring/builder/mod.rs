//! The ring builder: devices, weights and the rebalance that assigns
//! partition replicas to devices.
//!
//! ```
//! use swift_core::ring::{DeviceSpec, RebalanceOptions, RingBuilder};
//!
//! let mut b = RingBuilder::create(8, 3, 1).unwrap();
//! for zone in 1..=3u8 {
//!     let spec = DeviceSpec::new(1, zone, "127.0.0.1", 6200 + u16::from(zone), "sda", 100.0);
//!     b.add(spec).unwrap();
//! }
//! let report = b.rebalance(&RebalanceOptions::at(1_700_000_000, 42)).unwrap();
//! assert!(report.balance < 1.0);
//! let ring = b.build();
//! assert_eq!(ring.primary_nodes(0).len(), 3);
//! ```

mod persist;
mod rebalance;
mod tiers;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ring::{Device, Ring};

pub(crate) use tiers::NONE;

/// Largest supported partition power.
pub const MAX_PART_POWER: u8 = 24;
/// Largest supported replica count.
pub const MAX_REPLICAS: usize = 16;
/// Balance reported for a device that holds partitions but has no weight.
pub const MAX_BALANCE: f64 = 999.99;

/// A device to add: everything but the id, which the builder assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpec {
    /// Region.
    pub region: u8,
    /// Zone within the region.
    pub zone: u8,
    /// Storage node address.
    pub ip: String,
    /// Storage node port.
    pub port: u16,
    /// Device (directory) name on the node.
    pub device: String,
    /// Relative capacity.
    pub weight: f64,
    /// Free text for operators.
    #[serde(default)]
    pub meta: String,
}

impl DeviceSpec {
    /// A device spec with empty meta.
    pub fn new(
        region: u8,
        zone: u8,
        ip: impl Into<String>,
        port: u16,
        device: impl Into<String>,
        weight: f64,
    ) -> Self {
        Self {
            region,
            zone,
            ip: ip.into(),
            port,
            device: device.into(),
            weight,
            meta: String::new(),
        }
    }
}

/// Inputs of a rebalance that are not builder state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebalanceOptions {
    /// Seed of the ChaCha RNG that picks which replicas move.
    pub seed: u64,
    /// The current time, unix seconds; compared with each partition's last
    /// move for `min_part_hours`.
    pub now: u64,
}

impl RebalanceOptions {
    /// Options at a given time with a given seed.
    pub fn at(now: u64, seed: u64) -> Self {
        Self { seed, now }
    }
}

impl Default for RebalanceOptions {
    /// Seed 0 at the current system time.
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self { seed: 0, now }
    }
}

/// What a rebalance did.
#[derive(Debug, Clone, PartialEq)]
pub struct RebalanceReport {
    /// Replica slots that changed device (first placement counts too).
    pub moved: usize,
    /// Swift's balance after the rebalance: the largest deviation, in
    /// percent, of a device's partition count from its weighted share.
    pub balance: f64,
}

/// Builds rings: holds devices and the current assignment, and rebalances.
#[derive(Debug, Clone, PartialEq)]
pub struct RingBuilder {
    pub(super) part_power: u8,
    pub(super) replicas: usize,
    pub(super) min_part_hours: u32,
    pub(super) devices: Vec<Option<Device>>,
    /// `replica2part2dev`; empty before the first rebalance.
    pub(super) table: Vec<Vec<u16>>,
    /// Per partition, unix seconds of its last move (0: long ago).
    pub(super) last_move: Vec<u64>,
}

impl RingBuilder {
    /// A builder with no devices.
    ///
    /// Fails with [`Error::InvalidConfig`] when `part_power` exceeds
    /// [`MAX_PART_POWER`] or `replicas` is 0 or above [`MAX_REPLICAS`].
    pub fn create(part_power: u8, replicas: usize, min_part_hours: u32) -> Result<Self> {
        if part_power > MAX_PART_POWER {
            return Err(Error::config(format!(
                "part power {part_power} is above the maximum {MAX_PART_POWER}"
            )));
        }
        if replicas == 0 || replicas > MAX_REPLICAS {
            return Err(Error::config(format!(
                "replica count {replicas} is not in 1..={MAX_REPLICAS}"
            )));
        }
        Ok(Self {
            part_power,
            replicas,
            min_part_hours,
            devices: Vec::new(),
            table: Vec::new(),
            last_move: Vec::new(),
        })
    }

    /// Partition power.
    pub fn part_power(&self) -> u8 {
        self.part_power
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> usize {
        1usize << self.part_power
    }

    /// Replica count.
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// Hours a partition must wait between moves.
    pub fn min_part_hours(&self) -> u32 {
        self.min_part_hours
    }

    /// Changes `min_part_hours`.
    pub fn set_min_part_hours(&mut self, hours: u32) {
        self.min_part_hours = hours;
    }

    /// The devices that are present, by id.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.iter().flatten()
    }

    /// A device by id.
    pub fn device(&self, id: u16) -> Option<&Device> {
        self.devices.get(usize::from(id)).and_then(Option::as_ref)
    }

    /// Whether a rebalance has assigned partitions yet.
    pub fn is_built(&self) -> bool {
        !self.table.is_empty()
    }

    /// Adds a device and returns its id (ids are never reused).
    ///
    /// Fails with [`Error::InvalidInput`] on a negative or non-finite
    /// weight, an empty ip or device name, a device name with `/`, or too
    /// many devices, and with [`Error::AlreadyExists`] when the same
    /// ip, port and device name is present.
    pub fn add(&mut self, spec: DeviceSpec) -> Result<u16> {
        check_weight(spec.weight)?;
        if spec.ip.is_empty() {
            return Err(Error::invalid("device ip is empty"));
        }
        if spec.device.is_empty() || spec.device.contains('/') {
            return Err(Error::invalid(format!(
                "invalid device name {:?}",
                spec.device
            )));
        }
        if self
            .devices()
            .any(|d| d.ip == spec.ip && d.port == spec.port && d.device == spec.device)
        {
            return Err(Error::AlreadyExists {
                what: format!("device {}:{}/{}", spec.ip, spec.port, spec.device),
            });
        }
        let id = u16::try_from(self.devices.len())
            .ok()
            .filter(|&id| id != NONE)
            .ok_or_else(|| Error::invalid("too many devices"))?;
        self.devices.push(Some(Device {
            id,
            region: spec.region,
            zone: spec.zone,
            ip: spec.ip,
            port: spec.port,
            device: spec.device,
            weight: spec.weight,
            meta: spec.meta,
        }));
        Ok(id)
    }

    /// Removes a device; its partitions are reassigned by the next
    /// rebalance. Fails with [`Error::NotFound`] for an unknown id.
    pub fn remove(&mut self, id: u16) -> Result<Device> {
        self.devices
            .get_mut(usize::from(id))
            .and_then(Option::take)
            .ok_or_else(|| Error::not_found(format!("device {id}")))
    }

    /// Changes a device's weight; the next rebalance moves partitions.
    /// Fails with [`Error::NotFound`] or [`Error::InvalidInput`].
    pub fn set_weight(&mut self, id: u16, weight: f64) -> Result<()> {
        check_weight(weight)?;
        let dev = self
            .devices
            .get_mut(usize::from(id))
            .and_then(Option::as_mut)
            .ok_or_else(|| Error::not_found(format!("device {id}")))?;
        dev.weight = weight;
        Ok(())
    }

    /// Forgets when partitions last moved, as if `min_part_hours` had
    /// passed for all of them.
    pub fn pretend_min_part_hours_passed(&mut self) {
        self.last_move.iter_mut().for_each(|t| *t = 0);
    }

    /// Number of replica slots each device id holds (index = id).
    pub fn parts_per_device(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.devices.len()];
        for row in &self.table {
            for &d in row {
                if let Some(c) = counts.get_mut(usize::from(d)) {
                    *c += 1;
                }
            }
        }
        counts
    }

    /// Each present device's wanted slot count: its weight-proportional
    /// share of `partitions * replicas` (uncapped, as Swift reports it).
    pub fn wanted_parts(&self) -> Vec<f64> {
        let total: f64 = self.devices().map(|d| d.weight.max(0.0)).sum();
        let slots = (self.partition_count() * self.replicas) as f64;
        self.devices
            .iter()
            .map(|d| match d {
                Some(d) if total > 0.0 => slots * d.weight.max(0.0) / total,
                _ => 0.0,
            })
            .collect()
    }

    /// Each device's slot count the rebalance aims for: its weighted share,
    /// except that a device never gets two replicas of one partition when
    /// enough devices have weight (the excess is spread over the others).
    pub fn target_parts(&self) -> Vec<f64> {
        let (shares, _) = tiers::shares(&self.devices, self.replicas);
        let parts = self.partition_count() as f64;
        shares.into_iter().map(|s| s * parts).collect()
    }

    /// Per-device balance in percent (index = id; 0 for absent devices).
    pub fn device_balances(&self) -> Vec<f64> {
        let counts = self.parts_per_device();
        let wanted = self.wanted_parts();
        self.devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let parts = counts.get(i).copied().unwrap_or(0) as f64;
                let want = wanted.get(i).copied().unwrap_or(0.0);
                match d {
                    None => 0.0,
                    Some(_) if want > 0.0 => 100.0 * parts / want - 100.0,
                    Some(_) if parts > 0.0 => MAX_BALANCE,
                    Some(_) => 0.0,
                }
            })
            .collect()
    }

    /// Swift's balance: the largest absolute per-device balance.
    pub fn balance(&self) -> f64 {
        self.device_balances()
            .into_iter()
            .fold(0.0, |m, b| m.max(b.abs()))
    }

    /// The ring as lookups see it. Before the first rebalance its tables
    /// are empty and every lookup finds no nodes.
    pub fn build(&self) -> Ring {
        Ring {
            part_power: self.part_power,
            devices: self.devices.clone(),
            replica2part2dev: self.table.clone(),
        }
    }
}

fn check_weight(weight: f64) -> Result<()> {
    if weight.is_finite() && weight >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!("invalid weight {weight}")))
    }
}
