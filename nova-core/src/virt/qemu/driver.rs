//! [`HypervisorDriver`] for [`QemuDriver`]: instance lifecycle, console,
//! volumes (QMP hot-plug) and host resources; live migration is in
//! `migrate.rs`.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::disks::{self, device_name, volume_device_id, volume_node};
use super::qmp::{Qmp, QmpError};
use super::{process, QemuDriver, Record, Slot, QMP_WAIT};
use crate::error::{Error, Result};
use crate::model::{InstanceId, PowerState, Resources, VolumeId};
use crate::virt::{
    DriverCapabilities, HostResources, HypervisorDriver, InstanceInfo, MigrateData, MigrationSide,
    RebootType, SpawnRequest, VolumeConnection,
};
use tokio::time::Instant;

/// How long the guest gets to release a hot-unplugged disk.
const DETACH_WAIT: Duration = Duration::from_secs(90);
/// How often the unplug request is repeated meanwhile.
const DETACH_RETRY: Duration = Duration::from_secs(5);

impl QemuDriver {
    async fn spawn_inner(&self, slot: &Slot) -> Result<()> {
        tokio::fs::create_dir_all(&slot.paths.host_dir)
            .await
            .map_err(|e| Error::backend("qemu", e))?;
        if let Some(image) = &slot.rec.req.image_path {
            disks::create_overlay(
                &self.cfg.qemu_img,
                image,
                &slot.paths.disk(),
                slot.rec.req.resources.disk_gb,
            )
            .await?;
        }
        self.save(slot).await?;
        self.boot(slot, 2).await
    }

    /// `device_del` until the guest releases the device: a guest still
    /// booting misses the ACPI eject request, so it is sent again (as
    /// Nova's libvirt driver retries detaches).
    async fn unplug(q: &mut Qmp, dev_id: &str) -> Result<()> {
        let deadline = Instant::now() + DETACH_WAIT;
        loop {
            match q.execute("device_del", Some(json!({"id": dev_id}))).await {
                Ok(_) => {}
                // Gone already (the event came on an earlier connection).
                Err(QmpError::Command { class, .. }) if class == "DeviceNotFound" => return Ok(()),
                // Still pending from the last request: wait on.
                Err(QmpError::Command { desc, .. }) if desc.contains("unplug") => {}
                Err(e) => return Err(e.into()),
            }
            let ev = q
                .wait_event("DEVICE_DELETED", DETACH_RETRY, |d| {
                    d.get("device").and_then(|v| v.as_str()) == Some(dev_id)
                })
                .await;
            match ev {
                Ok(_) => return Ok(()),
                Err(QmpError::Timeout { .. }) if Instant::now() < deadline => {
                    tracing::info!(
                        device = dev_id,
                        "guest has not released the device yet; asking again"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn check_idle(slot: &Slot, id: &InstanceId) -> Result<()> {
        match slot.migration {
            Some(_) => Err(Error::conflict(format!("instance {id} is migrating"))),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl HypervisorDriver for QemuDriver {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn capabilities(&self) -> DriverCapabilities {
        DriverCapabilities {
            volume_attach: true,
            live_migration: true,
        }
    }

    async fn spawn(&self, req: &SpawnRequest) -> Result<()> {
        for (dev, _) in &req.volumes {
            device_name(dev)?;
        }
        let id = req.instance_id;
        let slot = Slot {
            rec: Record {
                req: req.clone(),
                volumes: req.volumes.clone(),
            },
            paths: self.paths(&id),
            migration: None,
        };
        let guard = self.insert(id, slot)?;
        if let Err(e) = self.spawn_inner(&guard).await {
            tracing::warn!(instance = %id, error = %e, "spawn failed; cleaning up");
            let _ = self.stop(&guard.paths, false).await;
            let _ = guard.paths.remove().await;
            self.remove(&id);
            return Err(e);
        }
        Ok(())
    }

    async fn destroy(&self, id: &InstanceId) -> Result<()> {
        match self.entry(id) {
            Ok(e) => {
                let slot = e.lock().await;
                self.stop(&slot.paths, false).await?;
                slot.paths.remove().await?;
                self.remove(id);
            }
            Err(_) => {
                let paths = self.paths(id);
                process::kill(&paths).await?;
                paths.remove().await?;
            }
        }
        Ok(())
    }

    async fn reboot(&self, id: &InstanceId, kind: RebootType) -> Result<()> {
        let e = self.entry(id)?;
        let slot = e.lock().await;
        Self::check_idle(&slot, id)?;
        let alive = process::live_pid(&slot.paths).await.is_some();
        match kind {
            RebootType::Soft => {
                if self.power_state(&slot.paths).await != PowerState::Running {
                    return Err(Error::conflict(format!("instance {id} is not running")));
                }
                // Nova's soft reboot: ACPI shutdown, then start again; a
                // guest that ignores it is stopped hard after the timeout.
                let clean = self.stop(&slot.paths, true).await?;
                tracing::info!(instance = %id, clean, "soft reboot: guest stopped");
                self.boot(&slot, 1).await
            }
            RebootType::Hard if alive => {
                let from = tokio::fs::metadata(slot.paths.console())
                    .await
                    .map(|m| m.len())
                    .unwrap_or(0);
                let mut q = Qmp::connect(&slot.paths.qmp(), QMP_WAIT).await?;
                q.execute("system_reset", None).await?;
                if q.status().await? != "running" {
                    q.execute("cont", None).await?;
                }
                drop(q);
                self.wait_console(&slot.paths, from, 1).await;
                Ok(())
            }
            RebootType::Hard => self.boot(&slot, 1).await,
        }
    }

    async fn power_on(&self, id: &InstanceId) -> Result<()> {
        let e = self.entry(id)?;
        let slot = e.lock().await;
        Self::check_idle(&slot, id)?;
        if process::live_pid(&slot.paths).await.is_some() {
            return Ok(());
        }
        self.boot(&slot, 1).await
    }

    async fn power_off(&self, id: &InstanceId) -> Result<()> {
        let e = self.entry(id)?;
        let slot = e.lock().await;
        Self::check_idle(&slot, id)?;
        self.stop(&slot.paths, true).await.map(drop)
    }

    async fn console_output(&self, id: &InstanceId) -> Result<String> {
        let e = self.entry(id)?;
        let slot = e.lock().await;
        Ok(self.read_console(&slot.paths).await)
    }

    async fn attach_volume(
        &self,
        id: &InstanceId,
        conn: &VolumeConnection,
        device: &str,
    ) -> Result<()> {
        let dev = device_name(device)?;
        let e = self.entry(id)?;
        let mut slot = e.lock().await;
        Self::check_idle(&slot, id)?;
        for (d, c) in &slot.rec.volumes {
            if device_name(d).ok().as_deref() == Some(dev.as_str()) {
                return Err(Error::already_exists(format!(
                    "device {device} on instance {id}"
                )));
            }
            if c.volume_id == conn.volume_id {
                return Err(Error::already_exists(format!(
                    "attachment of volume {} to instance {id}",
                    conn.volume_id
                )));
            }
        }
        let blockdev = disks::volume_blockdev(&dev, conn)?;
        if process::live_pid(&slot.paths).await.is_some() {
            let mut q = Qmp::connect(&slot.paths.qmp(), QMP_WAIT).await?;
            q.execute("blockdev-add", Some(blockdev)).await?;
            let added = q
                .execute("device_add", Some(disks::volume_device(&dev, conn)))
                .await;
            if let Err(err) = added {
                let _ = q
                    .execute(
                        "blockdev-del",
                        Some(json!({"node-name": volume_node(&dev)})),
                    )
                    .await;
                return Err(err.into());
            }
        }
        slot.rec.volumes.push((device.to_owned(), conn.clone()));
        self.save(&slot).await
    }

    async fn detach_volume(&self, id: &InstanceId, volume: &VolumeId) -> Result<()> {
        let e = self.entry(id)?;
        let mut slot = e.lock().await;
        Self::check_idle(&slot, id)?;
        let Some(pos) = slot
            .rec
            .volumes
            .iter()
            .position(|(_, c)| c.volume_id == *volume)
        else {
            return Err(Error::not_found(format!(
                "attachment of volume {volume} to instance {id}"
            )));
        };
        let dev = device_name(&slot.rec.volumes[pos].0)?;
        if process::live_pid(&slot.paths).await.is_some() {
            let mut q = Qmp::connect(&slot.paths.qmp(), QMP_WAIT).await?;
            let dev_id = volume_device_id(&dev);
            Self::unplug(&mut q, &dev_id).await?;
            q.execute(
                "blockdev-del",
                Some(json!({"node-name": volume_node(&dev)})),
            )
            .await?;
        }
        slot.rec.volumes.remove(pos);
        self.save(&slot).await
    }

    async fn instance_info(&self, id: &InstanceId) -> Result<InstanceInfo> {
        let e = self.entry(id)?;
        let slot = e.lock().await;
        let power_state = match slot.migration {
            Some(_) => PowerState::Paused,
            None => self.power_state(&slot.paths).await,
        };
        Ok(InstanceInfo {
            power_state,
            resources: slot.rec.req.resources,
            volumes: slot
                .rec
                .volumes
                .iter()
                .map(|(d, c)| (d.clone(), c.volume_id))
                .collect(),
        })
    }

    async fn list_instances(&self) -> Result<Vec<InstanceId>> {
        Ok(self.ids())
    }

    async fn host_resources(&self) -> Result<HostResources> {
        let (used, running_vms) = self.used();
        let vcpus = std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
            .unwrap_or(1);
        Ok(HostResources {
            hypervisor_type: "QEMU".into(),
            hypervisor_hostname: self.cfg.host.to_string(),
            total: Resources {
                vcpus,
                memory_mb: process::host_memory_mb(),
                disk_gb: process::disk_total_gb(&self.cfg.instances_dir).await?,
            },
            used,
            running_vms,
        })
    }

    async fn check_can_live_migrate(
        &self,
        req: &SpawnRequest,
        block_migration: bool,
    ) -> Result<MigrateData> {
        self.check_can_migrate(req, block_migration).await
    }

    async fn pre_live_migration(
        &self,
        req: &SpawnRequest,
        data: &MigrateData,
    ) -> Result<MigrateData> {
        self.pre_migration(req, data).await
    }

    async fn live_migrate(&self, id: &InstanceId, data: &MigrateData) -> Result<()> {
        self.migrate(id, data).await
    }

    async fn post_live_migration(&self, id: &InstanceId, side: MigrationSide) -> Result<()> {
        self.post_migration(id, side).await
    }
}
