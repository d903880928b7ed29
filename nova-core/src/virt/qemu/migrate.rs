//! Live migration between two QEMU drivers.
//!
//! The destination starts the instance's QEMU with `-incoming tcp:ADDR:PORT`
//! (its disk is the same file on shared storage, or a fresh overlay that it
//! exports over NBD for a block migration). The source mirrors its disk
//! into that export (`blockdev-mirror`, waiting for `BLOCK_JOB_READY`),
//! sends the RAM with `migrate`, polls `query-migrate`, then cancels the
//! (synchronised) mirror. A failed migration leaves the source running.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::disks::{self, device_name, ROOT_NODE};
use super::qmp::Qmp;
use super::{Migration, QemuDriver, Record, Slot, QMP_WAIT};
use crate::error::{Error, Result};
use crate::model::{InstanceId, PowerState};
use crate::virt::{HypervisorDriver, MigrateData, MigrationSide, SpawnRequest};

const MIRROR_JOB: &str = "mig-mirror";
const NBD_NODE: &str = "mig-nbd";
const EXPORT: &str = "disk0";

fn free_port(addr: IpAddr) -> Result<u16> {
    TcpListener::bind((addr, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::backend("qemu", e))
}

fn failed(id: &InstanceId, why: impl std::fmt::Display) -> Error {
    Error::backend(
        "qemu",
        format!("live migration of instance {id} failed: {why}"),
    )
}

impl QemuDriver {
    pub(crate) async fn check_can_migrate(
        &self,
        req: &SpawnRequest,
        block_migration: bool,
    ) -> Result<MigrateData> {
        let id = req.instance_id;
        if self.entry(&id).is_ok() {
            return Err(Error::conflict(format!(
                "instance {id} is already on host {}",
                self.cfg.host
            )));
        }
        let host = self.host_resources().await?;
        if !host.total.minus(host.used).fits(req.resources) {
            return Err(Error::conflict(format!(
                "host {} lacks resources for instance {id}",
                self.cfg.host
            )));
        }
        Ok(MigrateData {
            dest_host: self.cfg.host.clone(),
            block_migration,
            driver_data: json!({}),
        })
    }

    pub(crate) async fn pre_migration(
        &self,
        req: &SpawnRequest,
        data: &MigrateData,
    ) -> Result<MigrateData> {
        for (dev, _) in &req.volumes {
            device_name(dev)?;
        }
        let id = req.instance_id;
        let nbd = data.block_migration && req.image_path.is_some();
        let slot = Slot {
            rec: Record {
                req: req.clone(),
                volumes: req.volumes.clone(),
            },
            paths: self.paths(&id),
            migration: Some(Migration::Incoming { nbd }),
        };
        let guard = self.insert(id, slot).map_err(|e| match e {
            Error::AlreadyExists { what } => Error::conflict(format!("{what} is already here")),
            other => other,
        })?;
        match self.prepare_incoming(&guard, data, nbd).await {
            Ok(d) => Ok(d),
            Err(e) => {
                tracing::warn!(instance = %id, error = %e, "pre live migration failed; cleaning up");
                let _ = self.stop(&guard.paths, false).await;
                let _ = guard.paths.remove().await;
                self.remove(&id);
                Err(e)
            }
        }
    }

    async fn prepare_incoming(
        &self,
        slot: &Slot,
        data: &MigrateData,
        nbd: bool,
    ) -> Result<MigrateData> {
        let req = &slot.rec.req;
        tokio::fs::create_dir_all(&slot.paths.host_dir)
            .await
            .map_err(|e| Error::backend("qemu", e))?;
        if let Some(image) = &req.image_path {
            let disk = slot.paths.disk();
            if nbd {
                disks::create_overlay(&self.cfg.qemu_img, image, &disk, req.resources.disk_gb)
                    .await?;
            } else if !tokio::fs::try_exists(&disk).await.unwrap_or(false) {
                return Err(Error::conflict(format!(
                    "disk {} of instance {} is not here: shared storage expected",
                    disk.display(),
                    req.instance_id
                )));
            }
        }
        self.save(slot).await?;
        let addr = self.cfg.migration_address;
        let uri = format!("tcp:{}", SocketAddr::new(addr, free_port(addr)?));
        self.start(slot, Some(&uri)).await?;
        let mut out = data.clone();
        out.driver_data = json!({"uri": uri});
        if nbd {
            let port = free_port(addr)?.to_string();
            let mut q = Qmp::connect(&slot.paths.qmp(), QMP_WAIT).await?;
            q.execute(
                "nbd-server-start",
                Some(json!({"addr": {"type": "inet", "data": {"host": addr.to_string(), "port": port}}})),
            )
            .await?;
            q.execute(
                "block-export-add",
                Some(
                    json!({"type": "nbd", "id": "mig-export", "node-name": ROOT_NODE,
                            "name": EXPORT, "writable": true}),
                ),
            )
            .await?;
            out.driver_data["nbd"] =
                json!({"host": addr.to_string(), "port": port, "export": EXPORT});
        }
        Ok(out)
    }

    pub(crate) async fn migrate(&self, id: &InstanceId, data: &MigrateData) -> Result<()> {
        if data.dest_host == self.cfg.host {
            return Err(Error::invalid(format!(
                "instance {id} is already on {}",
                self.cfg.host
            )));
        }
        let e = self.entry(id)?;
        let mut slot = e.lock().await;
        if slot.migration.is_some() || self.power_state(&slot.paths).await != PowerState::Running {
            return Err(Error::conflict(format!("instance {id} is not running")));
        }
        let uri = data
            .driver_data
            .get("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid("migrate data holds no destination uri"))?;
        let nbd = data.driver_data.get("nbd").filter(|_| data.block_migration);
        let has_disk = tokio::fs::try_exists(slot.paths.disk())
            .await
            .unwrap_or(false);
        let mut q = Qmp::connect(&slot.paths.qmp(), QMP_WAIT).await?;
        let wait = Duration::from_secs(self.cfg.migration_timeout_secs);
        let mirror = nbd.is_some() && has_disk;
        let result = async {
            if let (Some(nbd), true) = (nbd, has_disk) {
                let server = json!({"type": "inet", "host": nbd["host"], "port": nbd["port"]});
                q.execute(
                    "blockdev-add",
                    Some(json!({"driver": "raw", "node-name": NBD_NODE,
                                "file": {"driver": "nbd", "server": server, "export": nbd["export"]}})),
                )
                .await?;
                q.execute(
                    "blockdev-mirror",
                    Some(json!({"job-id": MIRROR_JOB, "device": ROOT_NODE, "target": NBD_NODE, "sync": "full"})),
                )
                .await?;
                q.wait_event("BLOCK_JOB_READY", wait, |d| d["device"] == MIRROR_JOB)
                    .await?;
            }
            q.execute("migrate", Some(json!({"uri": uri}))).await?;
            let deadline = Instant::now() + wait;
            loop {
                let r = q.execute("query-migrate", None).await?;
                match r.get("status").and_then(Value::as_str).unwrap_or("") {
                    "completed" => return Ok(()),
                    "failed" | "cancelled" => {
                        let why = r.get("error-desc").and_then(Value::as_str).unwrap_or("failed");
                        return Err(failed(id, why));
                    }
                    _ if Instant::now() >= deadline => {
                        let _ = q.execute("migrate_cancel", None).await;
                        return Err(Error::Timeout {
                            what: format!("live migration of instance {id}"),
                            after: wait,
                        });
                    }
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
        .await;
        if mirror {
            // Cancelling a ready mirror finishes it without a pivot.
            if q.execute("block-job-cancel", Some(json!({"device": MIRROR_JOB})))
                .await
                .is_ok()
            {
                let _ = q
                    .wait_event("BLOCK_JOB_COMPLETED", Duration::from_secs(30), |d| {
                        d["device"] == MIRROR_JOB
                    })
                    .await;
            }
            let _ = q
                .execute("blockdev-del", Some(json!({"node-name": NBD_NODE})))
                .await;
        }
        match result {
            Ok(()) => {
                slot.migration = Some(Migration::Outgoing);
                Ok(())
            }
            Err(err) => {
                tracing::warn!(instance = %id, error = %err, "live migration failed; source keeps running");
                if q.status().await.map(|s| s != "running").unwrap_or(false) {
                    q.execute("cont", None).await?;
                }
                Err(err)
            }
        }
    }

    pub(crate) async fn post_migration(&self, id: &InstanceId, side: MigrationSide) -> Result<()> {
        let not_found = || Error::not_found(format!("{side:?} migration of instance {id}"));
        let e = self.entry(id).map_err(|_| not_found())?;
        let mut slot = e.lock().await;
        match (side, slot.migration) {
            (MigrationSide::Source, Some(Migration::Outgoing)) => {
                self.stop(&slot.paths, false).await?;
                slot.paths.remove().await?;
                self.remove(id);
                Ok(())
            }
            (MigrationSide::Destination, Some(Migration::Incoming { nbd })) => {
                let mut q = Qmp::connect(&slot.paths.qmp(), QMP_WAIT).await?;
                if nbd {
                    let _ = q.execute("nbd-server-stop", None).await;
                }
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    match q.status().await?.as_str() {
                        "running" => break,
                        "paused" | "postmigrate" => {
                            q.execute("cont", None).await?;
                        }
                        s if Instant::now() >= deadline => {
                            return Err(failed(id, format!("destination guest is {s}")));
                        }
                        _ => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
                slot.migration = None;
                Ok(())
            }
            _ => Err(not_found()),
        }
    }
}
