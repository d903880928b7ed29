//! Hypervisor drivers: the [`HypervisorDriver`] trait a compute host uses
//! to run instances, its request types, the in-memory [`FakeDriver`], and
//! the conformance suite.
//!
//! The compute service does everything around the driver (fetching and
//! caching images, allocating networks, exporting volumes) and hands the
//! driver local results: an image file path, the VIFs to plug, the volume
//! export paths. A QEMU driver runs one `qemu-system` per instance from
//! exactly these inputs.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::model::{HostName, InstanceId, PowerState, Resources, VolumeId};

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod fake;
pub mod image_cache;
pub mod qemu;

pub use fake::{DriverOp, FakeDriver};
pub use image_cache::ImageCache;
pub use qemu::{Accel, QemuConfig, QemuDriver};

/// A guest network interface to plug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vif {
    /// Guest MAC address.
    pub mac: String,
    /// Fixed address leased to it, if any.
    pub address: Option<Ipv4Addr>,
    /// Host bridge to plug the tap device into.
    pub bridge: String,
    /// Network label (for display).
    pub network: String,
}

/// A disk to hand to the guest: a local file or block device, or an iSCSI
/// LUN reached by QEMU's own initiator when `path` is an
/// `iscsi://HOST:PORT/IQN/LUN` URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeConnection {
    /// The volume.
    pub volume_id: VolumeId,
    /// Where the volume driver exported it on this host.
    pub path: PathBuf,
    /// `qcow2` or `raw`.
    pub format: String,
}

/// Everything a driver needs to create an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpawnRequest {
    /// The instance.
    pub instance_id: InstanceId,
    /// Its display name.
    pub name: String,
    /// vCPUs, RAM and disk from the flavor.
    pub resources: Resources,
    /// The cached image file on this host (`None` = boot from volume).
    pub image_path: Option<PathBuf>,
    /// Interfaces to plug.
    pub vifs: Vec<Vif>,
    /// Volumes attached at boot, with their guest devices.
    pub volumes: Vec<(String, VolumeConnection)>,
    /// SSH public key to inject.
    pub key_data: Option<String>,
    /// Kernel for direct kernel boot (images with `kernel_id`, aki/ami).
    #[serde(default)]
    pub kernel_path: Option<PathBuf>,
    /// Initial ramdisk for direct kernel boot (`ramdisk_id`, ari).
    #[serde(default)]
    pub ramdisk_path: Option<PathBuf>,
    /// Kernel command line for direct kernel boot (default
    /// `console=ttyS0`).
    #[serde(default)]
    pub kernel_cmdline: Option<String>,
}

impl SpawnRequest {
    /// A request with no image, network or volumes.
    pub fn new(instance_id: InstanceId, name: impl Into<String>, resources: Resources) -> Self {
        Self {
            instance_id,
            name: name.into(),
            resources,
            image_path: None,
            vifs: Vec::new(),
            volumes: Vec::new(),
            key_data: None,
            kernel_path: None,
            ramdisk_path: None,
            kernel_cmdline: None,
        }
    }
}

/// Soft (ACPI, guest cooperates) or hard (reset) reboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RebootType {
    /// Ask the guest.
    Soft,
    /// Reset the machine.
    Hard,
}

/// What the driver knows about one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// Power state now.
    pub power_state: PowerState,
    /// Resources it takes.
    pub resources: Resources,
    /// Attached volumes by guest device.
    pub volumes: Vec<(String, VolumeId)>,
}

/// The host as the driver sees it (for `os-hypervisors` and scheduling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostResources {
    /// Driver type, e.g. `fake` or `QEMU`.
    pub hypervisor_type: String,
    /// The hypervisor's host name.
    pub hypervisor_hostname: String,
    /// What the host offers.
    pub total: Resources,
    /// What instances on it take.
    pub used: Resources,
    /// Instances on it.
    pub running_vms: u32,
}

/// Which end of a live migration a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MigrationSide {
    /// The host the instance leaves.
    Source,
    /// The host the instance arrives on.
    Destination,
}

/// Data passed between the two ends of a live migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrateData {
    /// Destination host.
    pub dest_host: HostName,
    /// Copy disks too (no shared storage).
    pub block_migration: bool,
    /// Driver-specific details (e.g. the QEMU `-incoming` address).
    pub driver_data: Value,
}

/// Optional features of a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DriverCapabilities {
    /// Volumes can be attached and detached.
    pub volume_attach: bool,
    /// Instances can be live-migrated.
    pub live_migration: bool,
}

/// Runs instances on one compute host. Object-safe; shared as
/// `Arc<dyn HypervisorDriver>`. Operations on different instances may run
/// concurrently.
#[async_trait]
pub trait HypervisorDriver: Send + Sync + fmt::Debug + 'static {
    /// The driver's name, e.g. `fake` or `qemu`.
    fn name(&self) -> &'static str;

    /// Optional features.
    fn capabilities(&self) -> DriverCapabilities;

    /// Creates and starts an instance; afterwards it is `Running` and its
    /// console log has its boot lines. [`crate::Error::AlreadyExists`] if
    /// the id is already on this host.
    async fn spawn(&self, req: &SpawnRequest) -> Result<()>;

    /// Stops and removes an instance and its local disks. Idempotent: an
    /// unknown instance is `Ok`.
    async fn destroy(&self, id: &InstanceId) -> Result<()>;

    /// Reboots. Soft needs a running instance ([`crate::Error::Conflict`]
    /// otherwise); hard also starts a stopped one. Ends `Running`.
    /// [`crate::Error::NotFound`] for an unknown instance.
    async fn reboot(&self, id: &InstanceId, kind: RebootType) -> Result<()>;

    /// Starts a stopped instance; a no-op when already running.
    /// [`crate::Error::NotFound`] for an unknown instance.
    async fn power_on(&self, id: &InstanceId) -> Result<()>;

    /// Stops an instance (ends `Shutdown`); a no-op when already stopped.
    /// [`crate::Error::NotFound`] for an unknown instance.
    async fn power_off(&self, id: &InstanceId) -> Result<()>;

    /// The whole serial console log, lines separated by `\n`.
    /// [`crate::Error::NotFound`] for an unknown instance.
    async fn console_output(&self, id: &InstanceId) -> Result<String>;

    /// Attaches a volume at `device`. [`crate::Error::AlreadyExists`] if
    /// the device or the volume is in use on the instance,
    /// [`crate::Error::NotFound`] for an unknown instance,
    /// [`crate::Error::Unsupported`] without the capability.
    async fn attach_volume(
        &self,
        id: &InstanceId,
        conn: &VolumeConnection,
        device: &str,
    ) -> Result<()>;

    /// Detaches a volume. [`crate::Error::NotFound`] if the instance is
    /// unknown or the volume is not attached to it.
    async fn detach_volume(&self, id: &InstanceId, volume: &VolumeId) -> Result<()>;

    /// Power state and resources of an instance.
    /// [`crate::Error::NotFound`] for an unknown instance.
    async fn instance_info(&self, id: &InstanceId) -> Result<InstanceInfo>;

    /// The instances on this host, sorted.
    async fn list_instances(&self) -> Result<Vec<InstanceId>>;

    /// The host's total and used resources.
    async fn host_resources(&self) -> Result<HostResources>;

    /// On the destination: checks it can take `req`'s instance
    /// ([`crate::Error::Conflict`] when it lacks resources or already has
    /// it) and returns the data the other steps use.
    async fn check_can_live_migrate(
        &self,
        req: &SpawnRequest,
        block_migration: bool,
    ) -> Result<MigrateData>;

    /// On the destination: prepares to receive the instance (disks,
    /// interfaces, an incoming VM); returns updated data.
    async fn pre_live_migration(
        &self,
        req: &SpawnRequest,
        data: &MigrateData,
    ) -> Result<MigrateData>;

    /// On the source: moves the running instance to `data.dest_host`.
    /// [`crate::Error::NotFound`] for an unknown instance,
    /// [`crate::Error::Conflict`] when it is not running.
    async fn live_migrate(&self, id: &InstanceId, data: &MigrateData) -> Result<()>;

    /// Finishes a migration: the source forgets the instance; the
    /// destination runs it. [`crate::Error::NotFound`] when this side has
    /// no such migration.
    async fn post_live_migration(&self, id: &InstanceId, side: MigrationSide) -> Result<()>;
}
