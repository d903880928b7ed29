//! The QEMU hypervisor driver: one `qemu-system-x86_64` process per
//! instance, controlled over QMP (no libvirt), accelerated by KVM when the
//! host can boot guests with it and by TCG otherwise.
//!
//! Files of an instance live under `<instances_dir>/<uuid>/`: `disk` (a
//! qcow2 overlay on the cached image) and, per host, `<host>/` with
//! `instance.json` (the spawn request and attached volumes), `qemu.pid`,
//! `qmp.sock` and `console.log` (the serial port, capped). QEMU runs
//! daemonized, so guests outlive the compute service:
//! [`QemuDriver::new`] finds them again from these files.
//!
//! Every external command goes through one runner that logs it (tracing)
//! and fails with the command's stderr.
//!
//! Boot: from a qcow2 overlay on `SpawnRequest::image_path` (qcow2 or raw;
//! see [`crate::virt::ImageCache`]), with direct kernel boot when the
//! request has a `kernel_path`. Interfaces are tap devices QEMU creates
//! (`ifname=`, no vhost) and the driver plugs into `Vif::bridge`; bridges,
//! DHCP and NAT are the network manager's. `key_data` is not injected yet
//! (no config drive). Soft reboot and power off ask the guest over ACPI and
//! fall back to stopping it after `shutdown_timeout_secs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::model::{InstanceId, PowerState, Resources};
use crate::virt::{SpawnRequest, VolumeConnection};

mod cmdline;
mod config;
mod disks;
mod driver;
mod migrate;
mod process;
mod qmp;
#[cfg(test)]
mod tests;

pub use config::{Accel, QemuConfig};

use process::Paths;
use qmp::Qmp;

/// What an instance is, persisted as `instance.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) req: SpawnRequest,
    /// Attached volumes by guest device, in attach order.
    pub(crate) volumes: Vec<(String, VolumeConnection)>,
}

/// A live migration in progress on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Migration {
    /// Waiting for the instance (an `-incoming` QEMU); `nbd`: its disk is
    /// exported for a block migration.
    Incoming { nbd: bool },
    /// Sent away; the paused source QEMU waits for post.
    Outgoing,
}

/// One instance on this host.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) rec: Record,
    pub(crate) paths: Paths,
    pub(crate) migration: Option<Migration>,
}

type Entry = Arc<AsyncMutex<Slot>>;

/// Runs instances as QEMU processes on this host. See the module docs.
#[derive(Debug)]
pub struct QemuDriver {
    cfg: QemuConfig,
    accel: Accel,
    instances: Mutex<BTreeMap<InstanceId, (Resources, Entry)>>,
}

/// How long a QMP connection may take to come up.
const QMP_WAIT: Duration = Duration::from_secs(10);

impl QemuDriver {
    /// Validates `cfg`, creates the instances directory, resolves the
    /// acceleration and adopts the instances this host already has there
    /// (running or not) from their `instance.json`.
    pub async fn new(cfg: QemuConfig) -> Result<Self> {
        cfg.validate()?;
        tokio::fs::create_dir_all(&cfg.instances_dir)
            .await
            .map_err(|e| Error::backend("qemu", e))?;
        let accel = match cfg.accel {
            Accel::Auto if process::kvm_usable() => Accel::Kvm,
            Accel::Auto => Accel::Tcg,
            a => a,
        };
        tracing::info!(host = %cfg.host, ?accel, dir = %cfg.instances_dir.display(), "qemu driver");
        let mut instances = BTreeMap::new();
        let mut rd = tokio::fs::read_dir(&cfg.instances_dir)
            .await
            .map_err(|e| Error::backend("qemu", e))?;
        while let Ok(Some(e)) = rd.next_entry().await {
            let Ok(id) = e.file_name().to_string_lossy().parse::<InstanceId>() else {
                continue;
            };
            let paths = Paths::new(&cfg.instances_dir, &cfg.host, &id);
            let Ok(text) = tokio::fs::read(paths.record()).await else {
                continue;
            };
            match serde_json::from_slice::<Record>(&text) {
                Ok(rec) if rec.req.instance_id == id => {
                    let running = process::live_pid(&paths).await.is_some();
                    tracing::info!(instance = %id, running, "adopted instance");
                    let res = rec.req.resources;
                    let slot = Slot {
                        rec,
                        paths,
                        migration: None,
                    };
                    instances.insert(id, (res, Arc::new(AsyncMutex::new(slot))));
                }
                _ => tracing::warn!(instance = %id, "unreadable instance.json; ignored"),
            }
        }
        Ok(Self {
            cfg,
            accel,
            instances: Mutex::new(instances),
        })
    }

    /// The acceleration guests get (`Kvm` or `Tcg`, never `Auto`).
    pub fn accel(&self) -> Accel {
        self.accel
    }

    /// The configuration.
    pub fn config(&self) -> &QemuConfig {
        &self.cfg
    }

    /// The directory of `id`'s runtime files on this host (pid file, QMP
    /// socket, console log).
    pub fn runtime_dir(&self, id: &InstanceId) -> PathBuf {
        Paths::new(&self.cfg.instances_dir, &self.cfg.host, id).host_dir
    }

    /// The QMP socket of `id`, for diagnostics and tests (hold no
    /// connection open: QEMU serves one client at a time).
    pub fn qmp_socket(&self, id: &InstanceId) -> PathBuf {
        Paths::new(&self.cfg.instances_dir, &self.cfg.host, id).qmp()
    }

    /// The pid of `id`'s running QEMU process.
    pub async fn qemu_pid(&self, id: &InstanceId) -> Option<u32> {
        process::live_pid(&Paths::new(&self.cfg.instances_dir, &self.cfg.host, id)).await
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<InstanceId, (Resources, Entry)>> {
        self.instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn entry(&self, id: &InstanceId) -> Result<Entry> {
        self.map()
            .get(id)
            .map(|(_, e)| e.clone())
            .ok_or_else(|| Error::not_found(format!("instance {id}")))
    }

    pub(crate) fn paths(&self, id: &InstanceId) -> Paths {
        Paths::new(&self.cfg.instances_dir, &self.cfg.host, id)
    }

    pub(crate) async fn save(&self, slot: &Slot) -> Result<()> {
        let json = serde_json::to_vec_pretty(&slot.rec).map_err(|e| Error::backend("qemu", e))?;
        let tmp = slot.paths.record().with_extension("json.tmp");
        tokio::fs::write(&tmp, json)
            .await
            .map_err(|e| Error::backend("qemu", e))?;
        tokio::fs::rename(&tmp, slot.paths.record())
            .await
            .map_err(|e| Error::backend("qemu", e))
    }

    /// Starts QEMU for `slot` (its previous run's leftovers removed) and
    /// plugs its taps into their bridges.
    pub(crate) async fn start(&self, slot: &Slot, incoming: Option<&str>) -> Result<()> {
        tokio::fs::create_dir_all(&slot.paths.host_dir)
            .await
            .map_err(|e| Error::backend("qemu", e))?;
        process::clear_runtime(&slot.paths).await;
        self.cap_console(&slot.paths).await;
        let has_disk = tokio::fs::try_exists(slot.paths.disk())
            .await
            .unwrap_or(false);
        let args = cmdline::qemu_args(self.accel, &slot.rec, &slot.paths, has_disk, incoming)?;
        process::run(&self.cfg.qemu_binary, &args).await?;
        for (n, vif) in slot.rec.req.vifs.iter().enumerate() {
            let tap = cmdline::tap_name(&slot.rec.req.instance_id, n);
            let set = |extra: &[&str]| {
                let mut a = vec!["link", "set", "dev", tap.as_str()];
                a.extend_from_slice(extra);
                process::args(a)
            };
            process::run("ip", &set(&["master", vif.bridge.as_str()])).await?;
            process::run("ip", &set(&["up"])).await?;
        }
        Ok(())
    }

    /// Stops the guest: ACPI power-down, up to the shutdown timeout, then
    /// `quit`, then SIGKILL. Returns whether the guest shut down by itself.
    pub(crate) async fn stop(&self, paths: &Paths, graceful: bool) -> Result<bool> {
        let Some(pid) = process::live_pid(paths).await else {
            return Ok(true);
        };
        if graceful {
            if let Ok(mut q) = Qmp::connect(&paths.qmp(), QMP_WAIT).await {
                if q.execute("system_powerdown", None).await.is_ok() {
                    drop(q);
                    let wait = Duration::from_secs(self.cfg.shutdown_timeout_secs);
                    if process::wait_pid(pid, paths, wait).await {
                        return Ok(true);
                    }
                    tracing::info!(dir = ?paths, "guest ignored ACPI power-down; stopping it");
                }
            }
        }
        if let Ok(mut q) = Qmp::connect(&paths.qmp(), Duration::from_secs(2)).await {
            let _ = q.execute("quit", None).await;
        }
        if !process::wait_pid(pid, paths, Duration::from_secs(5)).await {
            process::kill_pid(pid, paths).await?;
        }
        Ok(false)
    }

    /// Power state from QMP `query-status` (`Shutdown` when no process).
    pub(crate) async fn power_state(&self, paths: &Paths) -> PowerState {
        if process::live_pid(paths).await.is_none() {
            return PowerState::Shutdown;
        }
        let status = match Qmp::connect(&paths.qmp(), QMP_WAIT).await {
            Ok(mut q) => q.status().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        match status.as_str() {
            "running" => PowerState::Running,
            "paused" | "inmigrate" | "postmigrate" | "finish-migrate" | "prelaunch" | "save-vm"
            | "restore-vm" | "debug" | "colo" => PowerState::Paused,
            "shutdown" => PowerState::Shutdown,
            "guest-panicked" | "internal-error" | "io-error" => PowerState::Crashed,
            "suspended" => PowerState::Suspended,
            _ => PowerState::NoState,
        }
    }

    async fn console_len(paths: &Paths) -> u64 {
        tokio::fs::metadata(paths.console())
            .await
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Waits (up to the boot wait) until the console has at least `lines`
    /// more lines than at byte `from`; a silent guest is not an error.
    pub(crate) async fn wait_console(&self, paths: &Paths, from: u64, lines: usize) {
        let deadline = Instant::now() + Duration::from_secs(self.cfg.boot_wait_secs);
        loop {
            if let Ok(bytes) = tokio::fs::read(paths.console()).await {
                let start = usize::try_from(from).unwrap_or(0).min(bytes.len());
                if bytes[start..].iter().filter(|b| **b == b'\n').count() >= lines {
                    return;
                }
            }
            if Instant::now() >= deadline {
                tracing::warn!(dir = ?paths, "no console output yet");
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Keeps the serial log bounded: past `console_max_bytes` it is cut to
    /// its last half (QEMU appends, so it keeps writing at the new end).
    pub(crate) async fn cap_console(&self, paths: &Paths) {
        let max = self.cfg.console_max_bytes;
        if Self::console_len(paths).await <= max {
            return;
        }
        if let Ok(bytes) = tokio::fs::read(paths.console()).await {
            let keep = usize::try_from(max / 2)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let tail = &bytes[bytes.len() - keep..];
            if let Err(e) = tokio::fs::write(paths.console(), tail).await {
                tracing::warn!(dir = ?paths, error = %e, "cannot cap console log");
            }
        }
    }

    /// The serial log (capped first), `\r\n` turned into `\n`.
    pub(crate) async fn read_console(&self, paths: &Paths) -> String {
        self.cap_console(paths).await;
        let bytes = tokio::fs::read(paths.console()).await.unwrap_or_default();
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }

    /// Starts the guest and waits for its first console lines.
    pub(crate) async fn boot(&self, slot: &Slot, lines: usize) -> Result<()> {
        let from = Self::console_len(&slot.paths).await;
        self.start(slot, None).await?;
        self.wait_console(&slot.paths, from, lines).await;
        Ok(())
    }

    /// Registers a new instance, returned locked so nobody else acts on
    /// it before it is set up.
    pub(crate) fn insert(&self, id: InstanceId, slot: Slot) -> Result<OwnedMutexGuard<Slot>> {
        let res = slot.rec.req.resources;
        let e = Arc::new(AsyncMutex::new(slot));
        let guard = e
            .clone()
            .try_lock_owned()
            .map_err(|_| Error::conflict(format!("instance {id} is busy")))?;
        let mut map = self.map();
        if map.contains_key(&id) {
            return Err(Error::already_exists(format!("instance {id}")));
        }
        map.insert(id, (res, e));
        Ok(guard)
    }

    pub(crate) fn remove(&self, id: &InstanceId) {
        self.map().remove(id);
    }

    pub(crate) fn ids(&self) -> Vec<InstanceId> {
        self.map().keys().copied().collect()
    }

    /// What the instances on this host take together, and how many.
    pub(crate) fn used(&self) -> (Resources, u32) {
        let map = self.map();
        let used = map
            .values()
            .fold(Resources::default(), |acc, (r, _)| acc.plus(*r));
        (used, u32::try_from(map.len()).unwrap_or(u32::MAX))
    }
}
