//! [`FakeDriver`]: an in-memory hypervisor with a console log, and
//! injectable failures and delays per operation, for tests and for
//! `ferrostack up` on machines without QEMU.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

mod faults;

use faults::Faults;
pub use faults::{DriverOp, InjectedFailure};

use async_trait::async_trait;
use serde_json::json;

use super::{
    DriverCapabilities, HostResources, HypervisorDriver, InstanceInfo, MigrateData, MigrationSide,
    RebootType, SpawnRequest, VolumeConnection,
};
use crate::error::{Error, Result};
use crate::model::{HostName, InstanceId, PowerState, Resources, VolumeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Migration {
    Incoming,
    Outgoing,
}

#[derive(Debug)]
struct FakeInstance {
    name: String,
    resources: Resources,
    power: PowerState,
    console: Vec<String>,
    volumes: BTreeMap<String, VolumeId>,
    migration: Option<Migration>,
}

#[derive(Debug, Default)]
struct State {
    instances: BTreeMap<InstanceId, FakeInstance>,
}

/// An in-memory [`HypervisorDriver`].
#[derive(Debug)]
pub struct FakeDriver {
    host: HostName,
    total: Resources,
    state: Mutex<State>,
    faults: Faults,
}

impl FakeDriver {
    /// A driver for `host` offering `total`.
    pub fn new(host: HostName, total: Resources) -> Self {
        Self {
            host,
            total,
            state: Mutex::new(State::default()),
            faults: Faults::default(),
        }
    }

    /// A driver with 16 vCPUs, 32 GiB of RAM and 1 TB of disk.
    pub fn with_defaults(host: HostName) -> Self {
        let total = Resources {
            vcpus: 16,
            memory_mb: 32768,
            disk_gb: 1000,
        };
        Self::new(host, total)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Critical sections only do single-step updates; poison is harmless.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the next `times` calls of `op` fail with [`InjectedFailure`].
    pub fn fail_next(&self, op: DriverOp, times: u32) {
        self.faults.fail(op, times);
    }

    /// Makes every call of `op` fail until [`FakeDriver::clear_faults`].
    pub fn fail_always(&self, op: DriverOp) {
        self.faults.fail(op, u32::MAX);
    }

    /// Makes every call of `op` take `delay` first.
    pub fn set_delay(&self, op: DriverOp, delay: Duration) {
        self.faults.delay(op, delay);
    }

    /// Removes all injected failures and delays.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// Adds a line to an instance's console log (a guest writing to it).
    pub fn write_console(&self, id: &InstanceId, line: impl Into<String>) -> Result<()> {
        let mut s = self.lock();
        s.instances
            .get_mut(id)
            .ok_or_else(|| not_found(id))?
            .console
            .push(line.into());
        Ok(())
    }

    /// Runs `f` on a known instance.
    fn with<T>(
        &self,
        id: &InstanceId,
        f: impl FnOnce(&mut FakeInstance) -> Result<T>,
    ) -> Result<T> {
        let mut s = self.lock();
        f(s.instances.get_mut(id).ok_or_else(|| not_found(id))?)
    }

    fn used(s: &State) -> Resources {
        s.instances
            .values()
            .fold(Resources::default(), |acc, i| acc.plus(i.resources))
    }
}

fn not_found(id: &InstanceId) -> Error {
    Error::not_found(format!("instance {id}"))
}

fn boot_lines(req: &SpawnRequest) -> Vec<String> {
    let r = req.resources;
    let mut lines = vec![
        format!("fake-bios: booting {} ({})", req.name, req.instance_id),
        format!(
            "cpus: {}, memory: {} MiB, disk: {} GiB",
            r.vcpus, r.memory_mb, r.disk_gb
        ),
    ];
    for (i, v) in req.vifs.iter().enumerate() {
        let addr = v
            .address
            .map(|a| a.to_string())
            .unwrap_or_else(|| "dhcp".into());
        lines.push(format!("eth{i}: {} {addr} on {}", v.mac, v.bridge));
    }
    if req.key_data.is_some() {
        lines.push("cloud-init: ssh key injected".into());
    }
    lines.push(format!("{} login: ", req.name));
    lines
}

#[async_trait]
impl HypervisorDriver for FakeDriver {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn capabilities(&self) -> DriverCapabilities {
        DriverCapabilities {
            volume_attach: true,
            live_migration: true,
        }
    }

    async fn spawn(&self, req: &SpawnRequest) -> Result<()> {
        self.faults.enter(DriverOp::Spawn).await?;
        let mut s = self.lock();
        if s.instances.contains_key(&req.instance_id) {
            return Err(Error::already_exists(format!(
                "instance {}",
                req.instance_id
            )));
        }
        let volumes = req
            .volumes
            .iter()
            .map(|(dev, c)| (dev.clone(), c.volume_id))
            .collect();
        s.instances.insert(
            req.instance_id,
            FakeInstance {
                name: req.name.clone(),
                resources: req.resources,
                power: PowerState::Running,
                console: boot_lines(req),
                volumes,
                migration: None,
            },
        );
        Ok(())
    }

    async fn destroy(&self, id: &InstanceId) -> Result<()> {
        self.faults.enter(DriverOp::Destroy).await?;
        self.lock().instances.remove(id);
        Ok(())
    }

    async fn reboot(&self, id: &InstanceId, kind: RebootType) -> Result<()> {
        self.faults.enter(DriverOp::Reboot).await?;
        self.with(id, |i| {
            if kind == RebootType::Soft && i.power != PowerState::Running {
                return Err(Error::conflict(format!("instance {id} is not running")));
            }
            let how = if kind == RebootType::Soft {
                "soft"
            } else {
                "hard"
            };
            i.console.push(format!("reboot ({how})"));
            i.console.push(format!("{} login: ", i.name));
            i.power = PowerState::Running;
            Ok(())
        })
    }

    async fn power_on(&self, id: &InstanceId) -> Result<()> {
        self.faults.enter(DriverOp::PowerOn).await?;
        self.with(id, |i| {
            if i.power != PowerState::Running {
                i.power = PowerState::Running;
                i.console.push("power on".into());
                i.console.push(format!("{} login: ", i.name));
            }
            Ok(())
        })
    }

    async fn power_off(&self, id: &InstanceId) -> Result<()> {
        self.faults.enter(DriverOp::PowerOff).await?;
        self.with(id, |i| {
            if i.power != PowerState::Shutdown {
                i.power = PowerState::Shutdown;
                i.console.push("reboot: Power down".into());
            }
            Ok(())
        })
    }

    async fn console_output(&self, id: &InstanceId) -> Result<String> {
        self.faults.enter(DriverOp::ConsoleOutput).await?;
        self.with(id, |i| {
            let mut out = i.console.join("\n");
            out.push('\n');
            Ok(out)
        })
    }

    async fn attach_volume(
        &self,
        id: &InstanceId,
        conn: &VolumeConnection,
        device: &str,
    ) -> Result<()> {
        self.faults.enter(DriverOp::AttachVolume).await?;
        self.with(id, |i| {
            if i.volumes.contains_key(device) || i.volumes.values().any(|v| *v == conn.volume_id) {
                return Err(Error::already_exists(format!(
                    "volume {} or device {device} on instance {id}",
                    conn.volume_id
                )));
            }
            i.volumes.insert(device.to_owned(), conn.volume_id);
            Ok(())
        })
    }

    async fn detach_volume(&self, id: &InstanceId, volume: &VolumeId) -> Result<()> {
        self.faults.enter(DriverOp::DetachVolume).await?;
        self.with(id, |i| {
            let before = i.volumes.len();
            i.volumes.retain(|_, v| v != volume);
            if i.volumes.len() == before {
                return Err(Error::not_found(format!(
                    "volume {volume} attached to instance {id}"
                )));
            }
            Ok(())
        })
    }

    async fn instance_info(&self, id: &InstanceId) -> Result<InstanceInfo> {
        self.faults.enter(DriverOp::InstanceInfo).await?;
        self.with(id, |i| {
            Ok(InstanceInfo {
                power_state: i.power,
                resources: i.resources,
                volumes: i.volumes.iter().map(|(d, v)| (d.clone(), *v)).collect(),
            })
        })
    }

    async fn list_instances(&self) -> Result<Vec<InstanceId>> {
        self.faults.enter(DriverOp::ListInstances).await?;
        Ok(self.lock().instances.keys().copied().collect())
    }

    async fn host_resources(&self) -> Result<HostResources> {
        self.faults.enter(DriverOp::HostResources).await?;
        let s = self.lock();
        Ok(HostResources {
            hypervisor_type: "fake".into(),
            hypervisor_hostname: self.host.to_string(),
            total: self.total,
            used: Self::used(&s),
            running_vms: u32::try_from(s.instances.len()).unwrap_or(u32::MAX),
        })
    }

    async fn check_can_live_migrate(
        &self,
        req: &SpawnRequest,
        block_migration: bool,
    ) -> Result<MigrateData> {
        self.faults.enter(DriverOp::CheckLiveMigrate).await?;
        let s = self.lock();
        if s.instances.contains_key(&req.instance_id) {
            return Err(Error::conflict(format!(
                "instance {} is already on host {}",
                req.instance_id, self.host
            )));
        }
        if !self.total.minus(Self::used(&s)).fits(req.resources) {
            return Err(Error::conflict(format!(
                "host {} lacks resources for instance {}",
                self.host, req.instance_id
            )));
        }
        Ok(MigrateData {
            dest_host: self.host.clone(),
            block_migration,
            driver_data: json!({"fake": true}),
        })
    }

    async fn pre_live_migration(
        &self,
        req: &SpawnRequest,
        data: &MigrateData,
    ) -> Result<MigrateData> {
        self.faults.enter(DriverOp::PreLiveMigration).await?;
        let mut s = self.lock();
        if s.instances.contains_key(&req.instance_id) {
            return Err(Error::conflict(format!(
                "instance {} is already here",
                req.instance_id
            )));
        }
        let mut inst = FakeInstance {
            name: req.name.clone(),
            resources: req.resources,
            power: PowerState::Paused,
            console: Vec::new(),
            volumes: req
                .volumes
                .iter()
                .map(|(d, c)| (d.clone(), c.volume_id))
                .collect(),
            migration: Some(Migration::Incoming),
        };
        inst.console
            .push(format!("incoming migration of {}", req.name));
        s.instances.insert(req.instance_id, inst);
        Ok(data.clone())
    }

    async fn live_migrate(&self, id: &InstanceId, data: &MigrateData) -> Result<()> {
        self.faults.enter(DriverOp::LiveMigrate).await?;
        if data.dest_host == self.host {
            return Err(Error::invalid(format!(
                "instance {id} is already on {}",
                self.host
            )));
        }
        self.with(id, |i| {
            if i.power != PowerState::Running || i.migration.is_some() {
                return Err(Error::conflict(format!("instance {id} is not running")));
            }
            i.migration = Some(Migration::Outgoing);
            i.power = PowerState::Paused;
            i.console.push(format!("migrated to {}", data.dest_host));
            Ok(())
        })
    }

    async fn post_live_migration(&self, id: &InstanceId, side: MigrationSide) -> Result<()> {
        self.faults.enter(DriverOp::PostLiveMigration).await?;
        let mut s = self.lock();
        let want = match side {
            MigrationSide::Source => Migration::Outgoing,
            MigrationSide::Destination => Migration::Incoming,
        };
        let inst = s
            .instances
            .get_mut(id)
            .filter(|i| i.migration == Some(want));
        let Some(inst) = inst else {
            return Err(Error::not_found(format!(
                "{side:?} migration of instance {id}"
            )));
        };
        match side {
            MigrationSide::Source => {
                s.instances.remove(id);
            }
            MigrationSide::Destination => {
                inst.migration = None;
                inst.power = PowerState::Running;
                inst.console.push(format!("{} login: ", inst.name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
