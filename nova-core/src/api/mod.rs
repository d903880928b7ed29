//! The compute API as a library: [`ComputeApi`] is what every front end
//! (OpenStack Compute v2.1, EC2, the Cinder and Neutron facades) calls.
//!
//! It authorizes each call against the [`RequestContext`] (one project
//! never sees another's resources; admin-only calls need the `admin`
//! role), validates input, checks quotas atomically, writes the database
//! and hands long work to the services over the [`crate::MessageBus`]
//! (casts: the call returns once the request is recorded). It holds no
//! domain logic that a front end would have to repeat.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::bus::MessageBus;
use crate::db::NovaDb;
use crate::error::{Error, Result};
use crate::image::ImageService;
use crate::model::{
    AvailabilityZone, ComputeHost, FixedIp, Flavor, FlavorId, FloatingIp, FloatingIpId, HostName,
    Instance, InstanceId, KeyPair, Network, ProjectId, QuotaLimits, QuotaResource, QuotaUsage,
    ServerStatus, Volume, VolumeId, ZoneName,
};
use crate::scheduler::SchedulerHints;

mod context;
mod security_groups;

pub use context::RequestContext;

/// A request to boot `min_count..=max_count` servers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BootRequest {
    /// Server name (for several servers nova appends `-<n>`).
    pub name: String,
    /// Flavor id (or name).
    pub flavor: String,
    /// Glance image id.
    pub image: Option<String>,
    /// Key pair of the caller to inject.
    pub key_name: Option<String>,
    /// At least this many are booted or none (quota, hosts).
    pub min_count: u32,
    /// At most this many.
    pub max_count: u32,
    /// User data (already base64-decoded).
    pub user_data: Option<Vec<u8>>,
    /// Requested zone; admins may write `zone:host` to force a host.
    pub availability_zone: Option<String>,
    /// Server metadata.
    pub metadata: BTreeMap<String, String>,
    /// Security group names (empty = `default`).
    pub security_groups: Vec<String>,
    /// Networks to attach (empty = the project's default network).
    pub networks: Vec<String>,
    /// Scheduler hints (same_host / different_host).
    pub hints: SchedulerHints,
    /// Idempotency token (EC2 `ClientToken`): a repeated request with the
    /// same token returns the servers of the first one.
    pub client_token: Option<String>,
}

/// Which servers a listing returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerFilter {
    /// Admin only: servers of every project (`all_tenants`).
    pub all_projects: bool,
    /// Admin only with `all_projects`: only this project.
    pub project_id: Option<ProjectId>,
    /// Regular expression matched against the name (nova's `name` filter).
    pub name: Option<String>,
    /// Only this API status.
    pub status: Option<ServerStatus>,
    /// Admin only: only servers on this host.
    pub host: Option<HostName>,
    /// Only these ids.
    pub ids: Vec<InstanceId>,
    /// Only servers updated at or after.
    pub changes_since: Option<SystemTime>,
    /// Paging: after this server.
    pub marker: Option<InstanceId>,
    /// Paging: at most this many.
    pub limit: Option<usize>,
}

/// A volume as attached to a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// The volume.
    pub volume_id: VolumeId,
    /// The server.
    pub server_id: InstanceId,
    /// Device name in the guest, e.g. `/dev/vdb`.
    pub device: String,
}

/// The addresses of a server, per network label.
pub type Addresses = BTreeMap<String, Vec<ServerAddress>>;

/// One address of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerAddress {
    /// The address.
    pub addr: Ipv4Addr,
    /// `fixed` or `floating`.
    pub kind: AddressKind,
    /// MAC of the interface.
    pub mac: String,
}

/// Fixed or floating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressKind {
    /// From the network's range, leased for the server's life.
    Fixed,
    /// From a public pool, NATed to a fixed address.
    Floating,
}

/// Limits and usage of a project, per quota resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaReport {
    /// Limits (`None` = unlimited).
    pub limits: QuotaLimits,
    /// In use and reserved.
    pub usage: BTreeMap<QuotaResource, QuotaUsage>,
}

/// Configuration of the API facade.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// Zone of servers that ask for none.
    pub default_zone: ZoneName,
    /// Floating IP pool used when none is named.
    pub default_floating_pool: String,
    /// The most servers one request may boot.
    pub max_count_per_request: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            default_zone: ZoneName::default_zone(),
            default_floating_pool: "public".into(),
            max_count_per_request: 100,
        }
    }
}

/// The compute API: authorization, validation, quotas, records, and casts
/// to the services.
#[derive(Debug, Clone)]
pub struct ComputeApi {
    db: Arc<dyn NovaDb>,
    bus: Arc<dyn MessageBus>,
    images: Arc<dyn ImageService>,
    config: ApiConfig,
}

fn not_yet(what: &str) -> Error {
    Error::unavailable(format!("{what} is not implemented yet"))
}

impl ComputeApi {
    /// The API over `db` and `bus`, reaching images through `images`.
    pub fn new(
        db: Arc<dyn NovaDb>,
        bus: Arc<dyn MessageBus>,
        images: Arc<dyn ImageService>,
        config: ApiConfig,
    ) -> Self {
        Self {
            db,
            bus,
            images,
            config,
        }
    }

    /// The database.
    pub fn db(&self) -> &Arc<dyn NovaDb> {
        &self.db
    }

    /// The bus.
    pub fn bus(&self) -> &Arc<dyn MessageBus> {
        &self.bus
    }

    /// The image service.
    pub fn images(&self) -> &Arc<dyn ImageService> {
        &self.images
    }

    /// The configuration.
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    // ---- servers -------------------------------------------------------

    /// Boots servers: validates, reserves quota for all of them at once
    /// (QuotaExceeded otherwise), records them `building/scheduling` and
    /// casts to the scheduler. Returns the new records.
    pub async fn create_servers(
        &self,
        _ctx: &RequestContext,
        _req: BootRequest,
    ) -> Result<Vec<Instance>> {
        Err(not_yet("create_servers"))
    }

    /// One server the caller may see.
    pub async fn get_server(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<Instance> {
        Err(not_yet("get_server"))
    }

    /// Servers the caller may see, newest first, paged.
    pub async fn list_servers(
        &self,
        _ctx: &RequestContext,
        _filter: &ServerFilter,
    ) -> Result<Vec<Instance>> {
        Err(not_yet("list_servers"))
    }

    /// Deletes a server (task `deleting`; the compute host destroys it,
    /// releases its addresses, volumes and quota, then removes the record).
    pub async fn delete_server(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<()> {
        Err(not_yet("delete_server"))
    }

    /// Soft or hard reboot (Conflict when the state forbids it).
    pub async fn reboot(&self, _ctx: &RequestContext, _id: &InstanceId, _hard: bool) -> Result<()> {
        Err(not_yet("reboot"))
    }

    /// Powers a stopped server on.
    pub async fn start(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<()> {
        Err(not_yet("start"))
    }

    /// Powers an active server off.
    pub async fn stop(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<()> {
        Err(not_yet("stop"))
    }

    /// The console log, the last `length` lines when given (nova's rule:
    /// the last `length` items of `split('\n')`).
    pub async fn console_output(
        &self,
        _ctx: &RequestContext,
        _id: &InstanceId,
        _length: Option<usize>,
    ) -> Result<String> {
        Err(not_yet("console_output"))
    }

    /// Admin: live-migrates to `host` (or a scheduler-chosen one).
    pub async fn live_migrate(
        &self,
        _ctx: &RequestContext,
        _id: &InstanceId,
        _host: Option<HostName>,
        _block_migration: Option<bool>,
    ) -> Result<()> {
        Err(not_yet("live_migrate"))
    }

    /// Replaces (or, with `replace == false`, merges) server metadata.
    pub async fn update_metadata(
        &self,
        _ctx: &RequestContext,
        _id: &InstanceId,
        _metadata: BTreeMap<String, String>,
        _replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        Err(not_yet("update_metadata"))
    }

    /// Removes one metadata key (NotFound when absent).
    pub async fn delete_metadata_item(
        &self,
        _ctx: &RequestContext,
        _id: &InstanceId,
        _key: &str,
    ) -> Result<()> {
        Err(not_yet("delete_metadata_item"))
    }

    /// Fixed and floating addresses of a server, per network label.
    pub async fn addresses(&self, _ctx: &RequestContext, _id: &InstanceId) -> Result<Addresses> {
        Err(not_yet("addresses"))
    }

    // ---- flavors and key pairs ------------------------------------------

    /// All flavors.
    pub async fn list_flavors(&self, _ctx: &RequestContext) -> Result<Vec<Flavor>> {
        Err(not_yet("list_flavors"))
    }

    /// One flavor by id or name.
    pub async fn get_flavor(&self, _ctx: &RequestContext, _id_or_name: &str) -> Result<Flavor> {
        Err(not_yet("get_flavor"))
    }

    /// Admin: creates a flavor (a UUID id when `flavor.id` is empty).
    pub async fn create_flavor(&self, _ctx: &RequestContext, _flavor: Flavor) -> Result<Flavor> {
        Err(not_yet("create_flavor"))
    }

    /// Admin: deletes a flavor.
    pub async fn delete_flavor(&self, _ctx: &RequestContext, _id: &FlavorId) -> Result<()> {
        Err(not_yet("delete_flavor"))
    }

    /// Imports `public_key` as the caller's key pair `name`, or generates
    /// one and returns its private key (OpenSSH PEM) beside it.
    pub async fn create_key_pair(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _public_key: Option<&str>,
    ) -> Result<(KeyPair, Option<String>)> {
        Err(not_yet("create_key_pair"))
    }

    /// The caller's key pairs.
    pub async fn list_key_pairs(&self, _ctx: &RequestContext) -> Result<Vec<KeyPair>> {
        Err(not_yet("list_key_pairs"))
    }

    /// One of the caller's key pairs.
    pub async fn get_key_pair(&self, _ctx: &RequestContext, _name: &str) -> Result<KeyPair> {
        Err(not_yet("get_key_pair"))
    }

    /// Deletes one of the caller's key pairs.
    pub async fn delete_key_pair(&self, _ctx: &RequestContext, _name: &str) -> Result<()> {
        Err(not_yet("delete_key_pair"))
    }

    // ---- volumes ---------------------------------------------------------

    /// Creates a volume (quota `volumes` and `gigabytes`); the volume
    /// service makes it `available`.
    pub async fn create_volume(
        &self,
        _ctx: &RequestContext,
        _size_gb: u64,
        _name: Option<String>,
        _zone: Option<ZoneName>,
    ) -> Result<Volume> {
        Err(not_yet("create_volume"))
    }

    /// One volume the caller may see.
    pub async fn get_volume(&self, _ctx: &RequestContext, _id: &VolumeId) -> Result<Volume> {
        Err(not_yet("get_volume"))
    }

    /// Volumes the caller may see (admin: `all_projects`).
    pub async fn list_volumes(
        &self,
        _ctx: &RequestContext,
        _all_projects: bool,
    ) -> Result<Vec<Volume>> {
        Err(not_yet("list_volumes"))
    }

    /// Deletes a volume (Conflict while attached).
    pub async fn delete_volume(&self, _ctx: &RequestContext, _id: &VolumeId) -> Result<()> {
        Err(not_yet("delete_volume"))
    }

    /// Attaches a volume to a server (Conflict when in use).
    pub async fn attach_volume(
        &self,
        _ctx: &RequestContext,
        _server: &InstanceId,
        _volume: &VolumeId,
        _device: Option<String>,
    ) -> Result<AttachmentInfo> {
        Err(not_yet("attach_volume"))
    }

    /// Detaches a volume from a server.
    pub async fn detach_volume(
        &self,
        _ctx: &RequestContext,
        _server: &InstanceId,
        _volume: &VolumeId,
    ) -> Result<()> {
        Err(not_yet("detach_volume"))
    }

    /// Volumes attached to a server.
    pub async fn list_attachments(
        &self,
        _ctx: &RequestContext,
        _server: &InstanceId,
    ) -> Result<Vec<AttachmentInfo>> {
        Err(not_yet("list_attachments"))
    }

    // ---- networks and floating IPs --------------------------------------

    /// Networks the caller may use (shared ones and its project's).
    pub async fn list_networks(&self, _ctx: &RequestContext) -> Result<Vec<Network>> {
        Err(not_yet("list_networks"))
    }

    /// Fixed IPs of a server.
    pub async fn fixed_ips(
        &self,
        _ctx: &RequestContext,
        _server: &InstanceId,
    ) -> Result<Vec<FixedIp>> {
        Err(not_yet("fixed_ips"))
    }

    /// Names of the floating IP pools.
    pub async fn list_floating_pools(&self, _ctx: &RequestContext) -> Result<Vec<String>> {
        Err(not_yet("list_floating_pools"))
    }

    /// Allocates a floating IP from `pool` (default pool when `None`) to
    /// the caller's project (quota `floating_ips`).
    pub async fn allocate_floating_ip(
        &self,
        _ctx: &RequestContext,
        _pool: Option<&str>,
    ) -> Result<FloatingIp> {
        Err(not_yet("allocate_floating_ip"))
    }

    /// Floating IPs of the caller's project (admin: `all_projects`).
    pub async fn list_floating_ips(
        &self,
        _ctx: &RequestContext,
        _all_projects: bool,
    ) -> Result<Vec<FloatingIp>> {
        Err(not_yet("list_floating_ips"))
    }

    /// One floating IP of the caller's project.
    pub async fn get_floating_ip(
        &self,
        _ctx: &RequestContext,
        _id: &FloatingIpId,
    ) -> Result<FloatingIp> {
        Err(not_yet("get_floating_ip"))
    }

    /// NATs a floating IP to a server's fixed address (its first one when
    /// `fixed` is `None`); the network service applies the host effects.
    pub async fn associate_floating_ip(
        &self,
        _ctx: &RequestContext,
        _id: &FloatingIpId,
        _server: &InstanceId,
        _fixed: Option<Ipv4Addr>,
    ) -> Result<FloatingIp> {
        Err(not_yet("associate_floating_ip"))
    }

    /// Removes the NAT of a floating IP.
    pub async fn disassociate_floating_ip(
        &self,
        _ctx: &RequestContext,
        _id: &FloatingIpId,
    ) -> Result<FloatingIp> {
        Err(not_yet("disassociate_floating_ip"))
    }

    /// Returns a floating IP to its pool (disassociating it first).
    pub async fn release_floating_ip(
        &self,
        _ctx: &RequestContext,
        _id: &FloatingIpId,
    ) -> Result<()> {
        Err(not_yet("release_floating_ip"))
    }

    // ---- hosts, zones, quotas -------------------------------------------

    /// Availability zones with their hosts' state (`detail`: hosts are
    /// listed, admin only).
    pub async fn availability_zones(&self, _ctx: &RequestContext) -> Result<Vec<AvailabilityZone>> {
        Err(not_yet("availability_zones"))
    }

    /// Admin: compute hosts (hypervisors and services) with `up` computed
    /// from heartbeats.
    pub async fn list_hosts(&self, _ctx: &RequestContext) -> Result<Vec<(ComputeHost, bool)>> {
        Err(not_yet("list_hosts"))
    }

    /// Admin: enables or disables scheduling to a host.
    pub async fn set_host_enabled(
        &self,
        _ctx: &RequestContext,
        _host: &HostName,
        _enabled: bool,
        _reason: Option<String>,
    ) -> Result<ComputeHost> {
        Err(not_yet("set_host_enabled"))
    }

    /// Limits and usage of `project` (the caller's own, or any for admin).
    pub async fn quotas(&self, _ctx: &RequestContext, _project: &ProjectId) -> Result<QuotaReport> {
        Err(not_yet("quotas"))
    }

    /// Admin: sets limits of `project`.
    pub async fn set_quotas(
        &self,
        _ctx: &RequestContext,
        _project: &ProjectId,
        _limits: QuotaLimits,
    ) -> Result<QuotaReport> {
        Err(not_yet("set_quotas"))
    }
}
