//! Compute hosts, their resources and heartbeats, and availability zones.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::flavor::Flavor;
use super::ids::{HostName, ZoneName};
use crate::error::{Error, Result};

/// Nova's default `service_down_time`: a host silent this long is `down`.
pub const DEFAULT_SERVICE_DOWN_TIME: Duration = Duration::from_secs(60);

/// An amount of vCPUs, memory and disk (a host's total or use, or an
/// instance's size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources {
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mb: u64,
    /// Disk in GiB.
    pub disk_gb: u64,
}

impl Resources {
    /// What an instance of `f` takes: its vCPUs, RAM, root + ephemeral disk.
    pub fn of_flavor(f: &Flavor) -> Self {
        Self {
            vcpus: f.vcpus,
            memory_mb: f.ram_mb,
            disk_gb: f.total_disk_gb(),
        }
    }

    /// `self + o`, saturating.
    pub fn plus(self, o: Resources) -> Self {
        Self {
            vcpus: self.vcpus.saturating_add(o.vcpus),
            memory_mb: self.memory_mb.saturating_add(o.memory_mb),
            disk_gb: self.disk_gb.saturating_add(o.disk_gb),
        }
    }

    /// `self - o`, saturating at zero.
    pub fn minus(self, o: Resources) -> Self {
        Self {
            vcpus: self.vcpus.saturating_sub(o.vcpus),
            memory_mb: self.memory_mb.saturating_sub(o.memory_mb),
            disk_gb: self.disk_gb.saturating_sub(o.disk_gb),
        }
    }

    /// Whether `o` fits in `self` on every axis.
    pub fn fits(self, o: Resources) -> bool {
        o.vcpus <= self.vcpus && o.memory_mb <= self.memory_mb && o.disk_gb <= self.disk_gb
    }
}

/// A compute host: its service record and resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComputeHost {
    /// Host name (the `compute.<host>` topic).
    pub host: HostName,
    /// Availability zone it belongs to.
    pub zone: ZoneName,
    /// Driver type, e.g. `fake` or `QEMU`.
    pub hypervisor_type: String,
    /// Management address.
    pub host_ip: Option<Ipv4Addr>,
    /// What the hypervisor offers.
    pub total: Resources,
    /// What instances on it take.
    pub used: Resources,
    /// Instances on it.
    pub running_vms: u32,
    /// The service is enabled (an admin may disable it).
    pub enabled: bool,
    /// Why an admin disabled it.
    pub disabled_reason: Option<String>,
    /// Last heartbeat.
    pub last_heartbeat: SystemTime,
}

impl ComputeHost {
    /// An enabled, empty host in `zone`, heard from now.
    pub fn new(host: HostName, zone: ZoneName, hypervisor_type: &str, total: Resources) -> Self {
        Self {
            host,
            zone,
            hypervisor_type: hypervisor_type.to_owned(),
            host_ip: None,
            total,
            used: Resources::default(),
            running_vms: 0,
            enabled: true,
            disabled_reason: None,
            last_heartbeat: SystemTime::now(),
        }
    }

    /// Resources still free.
    pub fn free(&self) -> Resources {
        self.total.minus(self.used)
    }

    /// Whether the last heartbeat is within `down_time` of `now`; a
    /// heartbeat in the future (clock skew) counts as up.
    pub fn is_up(&self, now: SystemTime, down_time: Duration) -> bool {
        match now.duration_since(self.last_heartbeat) {
            Ok(age) => age <= down_time,
            Err(_) => true,
        }
    }

    /// Takes `r` for a new instance; [`Error::Conflict`] if it does not fit.
    pub fn claim(&mut self, r: Resources) -> Result<()> {
        if !self.free().fits(r) {
            return Err(Error::conflict(format!(
                "host {} lacks resources for {r:?}",
                self.host
            )));
        }
        self.used = self.used.plus(r);
        self.running_vms = self.running_vms.saturating_add(1);
        Ok(())
    }

    /// Gives back what an instance took.
    pub fn release(&mut self, r: Resources) {
        self.used = self.used.minus(r);
        self.running_vms = self.running_vms.saturating_sub(1);
    }
}

/// An availability zone as `os-availability-zone` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityZone {
    /// Zone name.
    pub name: ZoneName,
    /// True when at least one enabled host in it is up.
    pub available: bool,
    /// Hosts in the zone, by name, with `(enabled, up)`.
    pub hosts: BTreeMap<HostName, (bool, bool)>,
}

/// Groups hosts into zones, sorted by zone name.
pub fn zones_of(
    hosts: &[ComputeHost],
    now: SystemTime,
    down_time: Duration,
) -> Vec<AvailabilityZone> {
    let mut zones: BTreeMap<ZoneName, AvailabilityZone> = BTreeMap::new();
    for h in hosts {
        let up = h.is_up(now, down_time);
        let z = zones
            .entry(h.zone.clone())
            .or_insert_with(|| AvailabilityZone {
                name: h.zone.clone(),
                available: false,
                hosts: BTreeMap::new(),
            });
        z.available |= h.enabled && up;
        z.hosts.insert(h.host.clone(), (h.enabled, up));
    }
    zones.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, zone: &str) -> ComputeHost {
        let total = Resources {
            vcpus: 4,
            memory_mb: 4096,
            disk_gb: 40,
        };
        ComputeHost::new(
            HostName::new(name).unwrap(),
            ZoneName::new(zone).unwrap(),
            "fake",
            total,
        )
    }

    #[test]
    fn claim_and_release_track_use() {
        let mut h = host("h1", "nova");
        let r = Resources {
            vcpus: 2,
            memory_mb: 2048,
            disk_gb: 20,
        };
        h.claim(r).unwrap();
        h.claim(r).unwrap();
        assert_eq!(h.free(), Resources::default());
        assert_eq!(h.running_vms, 2);
        assert!(matches!(h.claim(r), Err(Error::Conflict { .. })));
        h.release(r);
        assert_eq!(h.free(), r);
        assert_eq!(h.running_vms, 1);
    }

    #[test]
    fn heartbeat_age_decides_up() {
        let h = host("h1", "nova");
        let t = h.last_heartbeat;
        assert!(h.is_up(t + Duration::from_secs(60), DEFAULT_SERVICE_DOWN_TIME));
        assert!(!h.is_up(t + Duration::from_secs(61), DEFAULT_SERVICE_DOWN_TIME));
        assert!(h.is_up(t - Duration::from_secs(5), DEFAULT_SERVICE_DOWN_TIME));
    }

    #[test]
    fn zones_group_hosts_and_need_a_live_enabled_host() {
        let mut a = host("a", "nova");
        let b = host("b", "east");
        let mut c = host("c", "west");
        a.enabled = false;
        c.last_heartbeat -= Duration::from_secs(600);
        let now = SystemTime::now();
        let zones = zones_of(&[a, b, c], now, DEFAULT_SERVICE_DOWN_TIME);
        let names: Vec<_> = zones
            .iter()
            .map(|z| (z.name.as_str(), z.available))
            .collect();
        assert_eq!(names, [("east", true), ("nova", false), ("west", false)]);
        assert_eq!(zones[2].hosts.values().next(), Some(&(true, false)));
    }
}
