//! The compute database: one storage trait, [`NovaDb`], with an embedded
//! SQLite backend ([`SqliteNovaDb`], the default) and a PostgreSQL backend
//! (`PostgresNovaDb`, feature `postgres`) for several nodes sharing one
//! store. [`open`] picks one from a location string.
//!
//! Records are stored as JSON bodies next to the columns queries filter,
//! sort, lock or constrain on. The invariants that concurrent services rely
//! on are enforced by the database, not by callers:
//!
//! - instance updates are compare-and-set on the task state;
//! - two fixed (or floating) IP allocations never return the same address;
//! - a volume has at most one attachment (primary key on the attachment);
//! - quota reservations never overshoot a limit.
//!
//! ```
//! use nova_core::db::{self, InstanceFilter};
//! use nova_core::model::{default_flavors, Instance, ProjectId, TaskState, UserId};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = db::open("memory:").await?;
//! let flavor = &default_flavors()[0];
//! let mut vm = Instance::new("vm1", ProjectId::new("demo")?, UserId::new("alice")?, flavor, None);
//! db.create_instance(&vm).await?;
//! // Compare-and-set: only succeeds while the task state is still `scheduling`.
//! let expected = vm.task_state;
//! vm.task_state = Some(TaskState::Spawning);
//! db.update_instance(&vm, expected).await?;
//! assert!(db.update_instance(&vm, expected).await.is_err()); // Conflict
//! assert_eq!(db.list_instances(&InstanceFilter::default()).await?.len(), 1);
//! # Ok::<_, nova_core::Error>(())
//! # }).unwrap();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::model::{
    ComputeHost, FixedIp, Flavor, FlavorId, FloatingIp, FloatingIpId, HostName, Instance,
    InstanceId, Ipv4Cidr, KeyPair, Network, NetworkId, ProjectId, QuotaLimits, QuotaResource,
    QuotaUsage, ServerStatus, TaskState, UserId, Volume, VolumeAttachment, VolumeId,
};
use crate::model::{Ec2Kind, SecurityGroup, SecurityGroupRule};

mod codec;
#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
#[cfg(feature = "postgres")]
pub mod postgres;
mod schema;
pub mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PostgresNovaDb;
pub use sql_support::{Location, PgUrl};
pub use sqlite::SqliteNovaDb;

/// Which instances [`NovaDb::list_instances`] returns. Results are sorted
/// newest first (`created_at` descending, then id descending), like Nova.
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    /// Only instances of this project.
    pub project_id: Option<ProjectId>,
    /// Only instances on this host.
    pub host: Option<HostName>,
    /// Only instances with this API status.
    pub status: Option<ServerStatus>,
    /// Only instances updated at or after this time.
    pub changes_since: Option<SystemTime>,
    /// Only instances of this boot request (`r-xxxxxxxx`).
    pub reservation_id: Option<String>,
    /// Only instances booted with this idempotency token (use with
    /// `project_id`: tokens are unique per project).
    pub client_token: Option<String>,
    /// Start after this instance (the last one of the previous page).
    pub marker: Option<InstanceId>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// Storage of the compute service, shared by the api, scheduler, compute,
/// network and volume services (possibly in several processes).
///
/// Every method is atomic. Unless stated otherwise, reads of a missing
/// record give [`Error::NotFound`], creates of an existing key give
/// [`Error::AlreadyExists`], and a database that cannot be reached gives
/// [`Error::Unavailable`].
#[async_trait]
pub trait NovaDb: Send + Sync + fmt::Debug + 'static {
    /// The backend's name (`sqlite`, `postgres`).
    fn name(&self) -> &'static str;

    // ---- instances ----

    /// Stores a new instance. `AlreadyExists` also when its project
    /// already has an instance with the same client token and launch
    /// index (idempotent boots).
    async fn create_instance(&self, instance: &Instance) -> Result<()>;
    /// One instance.
    async fn get_instance(&self, id: &InstanceId) -> Result<Instance>;
    /// Replaces the stored instance with `instance` if its stored task state
    /// is still `expected_task_state` (compare-and-set), and returns it with
    /// `updated_at` set to now. [`Error::Conflict`] when another writer
    /// changed the task state first; [`Error::NotFound`] when it is gone.
    async fn update_instance(
        &self,
        instance: &Instance,
        expected_task_state: Option<TaskState>,
    ) -> Result<Instance>;
    /// Removes an instance; its fixed IPs are released and its floating IPs
    /// disassociated in the same transaction.
    async fn delete_instance(&self, id: &InstanceId) -> Result<()>;
    /// Instances matching `filter`, newest first, paged by marker and limit.
    /// [`Error::InvalidInput`] when the marker names no instance.
    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<Instance>>;

    // ---- flavors ----

    /// Stores a new flavor; `AlreadyExists` on a taken id or name.
    async fn create_flavor(&self, flavor: &Flavor) -> Result<()>;
    /// One flavor.
    async fn get_flavor(&self, id: &FlavorId) -> Result<Flavor>;
    /// All flavors, sorted by id.
    async fn list_flavors(&self) -> Result<Vec<Flavor>>;
    /// Removes a flavor.
    async fn delete_flavor(&self, id: &FlavorId) -> Result<()>;

    // ---- key pairs ----

    /// Stores a key pair; `AlreadyExists` when the user has one of that name.
    async fn create_key_pair(&self, key: &KeyPair) -> Result<()>;
    /// A user's key pair by name.
    async fn get_key_pair(&self, user: &UserId, name: &str) -> Result<KeyPair>;
    /// A user's key pairs, sorted by name.
    async fn list_key_pairs(&self, user: &UserId) -> Result<Vec<KeyPair>>;
    /// Removes a user's key pair.
    async fn delete_key_pair(&self, user: &UserId, name: &str) -> Result<()>;

    // ---- compute services ----

    /// Registers or replaces a compute service record (resources, zone,
    /// enabled flag), heartbeat included.
    async fn update_service(&self, host: &ComputeHost) -> Result<()>;
    /// Records that `host` was alive at `at`, touching nothing else.
    async fn record_heartbeat(&self, host: &HostName, at: SystemTime) -> Result<()>;
    /// One service.
    async fn get_service(&self, host: &HostName) -> Result<ComputeHost>;
    /// All services, sorted by host name.
    async fn list_services(&self) -> Result<Vec<ComputeHost>>;

    // ---- networks and fixed IPs ----

    /// Stores a network and its pool of fixed addresses: every host
    /// address except the network, gateway and broadcast addresses and
    /// `reserved`. `AlreadyExists` on a taken id.
    async fn create_network(&self, network: &Network, reserved: &[Ipv4Addr]) -> Result<()>;
    /// One network.
    async fn get_network(&self, id: &NetworkId) -> Result<Network>;
    /// All networks, sorted by label then id.
    async fn list_networks(&self) -> Result<Vec<Network>>;
    /// Removes a network; [`Error::Conflict`] while any address is leased.
    async fn delete_network(&self, id: &NetworkId) -> Result<()>;
    /// Leases the lowest free address of `network` to `instance`. Two
    /// concurrent allocations never get the same address.
    /// [`Error::NoMoreAddresses`] when none is free; `NotFound` for an
    /// unknown network.
    async fn allocate_fixed_ip(
        &self,
        network: &NetworkId,
        instance: &InstanceId,
        mac: &str,
    ) -> Result<FixedIp>;
    /// Returns a leased address to the pool; `NotFound` when not leased.
    async fn release_fixed_ip(&self, network: &NetworkId, address: Ipv4Addr) -> Result<()>;
    /// The addresses leased to `instance`, sorted by address.
    async fn fixed_ips_of(&self, instance: &InstanceId) -> Result<Vec<FixedIp>>;
    /// The leased addresses of `network`, sorted by address (for DHCP).
    async fn fixed_ips_in(&self, network: &NetworkId) -> Result<Vec<FixedIp>>;

    // ---- floating IPs ----

    /// Adds every host address of `range` to floating pool `pool`;
    /// returns how many. Addresses already known are skipped.
    async fn create_floating_ips(&self, pool: &str, range: Ipv4Cidr) -> Result<u64>;
    /// Gives an unowned address of `pool` to `project`; concurrent
    /// allocations never get the same one. [`Error::NoMoreAddresses`] when
    /// the pool is exhausted.
    async fn allocate_floating_ip(&self, pool: &str, project: &ProjectId) -> Result<FloatingIp>;
    /// One floating IP.
    async fn get_floating_ip(&self, id: &FloatingIpId) -> Result<FloatingIp>;
    /// Points an allocated floating IP at an instance's fixed address;
    /// [`Error::Conflict`] when it is unallocated or already associated.
    async fn associate_floating_ip(
        &self,
        id: &FloatingIpId,
        instance: &InstanceId,
        fixed: Ipv4Addr,
    ) -> Result<FloatingIp>;
    /// Clears the association; [`Error::Conflict`] when there is none.
    async fn disassociate_floating_ip(&self, id: &FloatingIpId) -> Result<FloatingIp>;
    /// Returns a floating IP to its pool; [`Error::Conflict`] while it is
    /// associated.
    async fn release_floating_ip(&self, id: &FloatingIpId) -> Result<()>;
    /// Names of the floating IP pools, sorted.
    async fn floating_pools(&self) -> Result<Vec<String>>;
    /// Floating IPs owned by `project` (all allocated ones when `None`),
    /// sorted by address.
    async fn list_floating_ips(&self, project: Option<&ProjectId>) -> Result<Vec<FloatingIp>>;

    // ---- volumes ----

    /// Stores a new volume (its attachment, if any, is ignored).
    async fn create_volume(&self, volume: &Volume) -> Result<()>;
    /// One volume with its attachment.
    async fn get_volume(&self, id: &VolumeId) -> Result<Volume>;
    /// Replaces a volume's record (name, size, status); the attachment is
    /// only changed by [`NovaDb::attach_volume`] and
    /// [`NovaDb::detach_volume`].
    async fn update_volume(&self, volume: &Volume) -> Result<()>;
    /// Removes a volume; [`Error::Conflict`] while it is attached.
    async fn delete_volume(&self, id: &VolumeId) -> Result<()>;
    /// Volumes of `project` (all when `None`), sorted by creation then id.
    async fn list_volumes(&self, project: Option<&ProjectId>) -> Result<Vec<Volume>>;
    /// Records the attachment and marks the volume `in-use`. The database
    /// enforces at most one attachment per volume: [`Error::Conflict`]
    /// when it is attached already, even to the same instance.
    async fn attach_volume(&self, id: &VolumeId, attachment: &VolumeAttachment) -> Result<Volume>;
    /// Removes the attachment to `instance` and marks the volume
    /// `available`; [`Error::Conflict`] when it is not attached there.
    async fn detach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume>;

    // ---- quotas ----

    /// Sets a project's limits (resources missing from `limits` keep the
    /// defaults; `None` means unlimited).
    async fn set_quota_limits(&self, project: &ProjectId, limits: &QuotaLimits) -> Result<()>;
    /// A project's limits: stored ones over Nova's defaults.
    async fn quota_limits(&self, project: &ProjectId) -> Result<QuotaLimits>;
    /// A project's usage of every resource (zero when never used).
    async fn quota_usage(&self, project: &ProjectId)
        -> Result<BTreeMap<QuotaResource, QuotaUsage>>;
    /// Atomically checks that `in_use + reserved + delta <= limit` for every
    /// delta and adds the deltas to `reserved`; all or nothing. Concurrent
    /// reservations never overshoot a limit. [`Error::QuotaExceeded`] names
    /// the first resource over its limit.
    async fn reserve_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()>;
    /// Moves reserved amounts to in use (the reserved work succeeded).
    async fn commit_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()>;
    /// Drops reserved amounts (the reserved work failed).
    async fn rollback_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()>;
    /// Lowers in-use amounts (a resource was freed); never below zero.
    async fn release_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()>;

    // ---- security groups ----

    /// Stores a new group; `AlreadyExists` when the project has one of
    /// that name.
    async fn create_security_group(&self, group: &SecurityGroup) -> Result<()>;
    /// One group by id.
    async fn get_security_group(&self, id: &str) -> Result<SecurityGroup>;
    /// Groups of `project` (all when `None`), sorted by name then id.
    async fn list_security_groups(&self, project: Option<&ProjectId>)
        -> Result<Vec<SecurityGroup>>;
    /// Removes a group; [`Error::Conflict`] while an existing instance is
    /// a member.
    async fn delete_security_group(&self, id: &str) -> Result<()>;
    /// Appends a rule to a group; `AlreadyExists` when the group has a
    /// rule admitting the same traffic.
    async fn add_security_group_rule(
        &self,
        group: &str,
        rule: &SecurityGroupRule,
    ) -> Result<SecurityGroup>;
    /// Removes the rule with id `rule` from a group (`NotFound` when absent).
    async fn remove_security_group_rule(&self, group: &str, rule: &str) -> Result<SecurityGroup>;
    /// Makes `instance` a member of exactly `groups` (ids; `NotFound` when
    /// one is unknown).
    async fn set_instance_security_groups(
        &self,
        instance: &InstanceId,
        groups: &[String],
    ) -> Result<()>;
    /// The groups `instance` is a member of, sorted by name.
    async fn instance_security_groups(&self, instance: &InstanceId) -> Result<Vec<SecurityGroup>>;

    // ---- EC2 ids ----

    /// The EC2 id of `uuid` as a `kind`, made (random, unused) on first
    /// request and never changed after. Concurrent callers get the same id.
    async fn ec2_id(&self, kind: Ec2Kind, uuid: &str) -> Result<String>;
    /// Records `ec2_id` as the id of `uuid` unless it has one already
    /// (several instances of one reservation share its `r-` id); returns
    /// the id `uuid` has.
    async fn bind_ec2_id(&self, kind: Ec2Kind, uuid: &str, ec2_id: &str) -> Result<String>;
    /// The kind and UUID an EC2 id names (the first by UUID when several
    /// share it); `NotFound` for an id never handed out.
    async fn resolve_ec2_id(&self, ec2_id: &str) -> Result<(Ec2Kind, String)>;
}

/// Opens the database a config string names:
///
/// | `location` | backend |
/// |---|---|
/// | `memory:` or `:memory:` | [`SqliteNovaDb`] in memory |
/// | `postgres://…` or `postgresql://…` | `PostgresNovaDb` (feature `postgres`) |
/// | `sqlite:PATH` or a plain `PATH` | [`SqliteNovaDb`] |
///
/// Opening migrates the schema. [`Error::InvalidConfig`] for a malformed
/// location, a PostgreSQL URL without the `postgres` feature, bad
/// credentials or a schema newer than this build; [`Error::Unavailable`]
/// when the server cannot be reached. Messages never show a password.
pub async fn open(location: &str) -> Result<Arc<dyn NovaDb>> {
    open_location(&Location::parse(location).map_err(|e| from_sql("location", e))?).await
}

/// [`open`] for a location already parsed.
pub async fn open_location(location: &Location) -> Result<Arc<dyn NovaDb>> {
    match location.clone() {
        Location::Memory => Ok(Arc::new(SqliteNovaDb::open_in_memory()?)),
        Location::Sqlite(path) => Ok(Arc::new(SqliteNovaDb::open(path).await?)),
        #[cfg(feature = "postgres")]
        Location::Postgres(url) => Ok(Arc::new(PostgresNovaDb::connect(&url).await?)),
        #[cfg(not(feature = "postgres"))]
        Location::Postgres(url) => Err(Error::config(format!(
            "{url}: this build has no postgres backend (cargo feature `postgres`)"
        ))),
    }
}

/// Maps a sql-support failure onto our error kinds.
pub(crate) fn from_sql(backend: &'static str, e: sql_support::Error) -> Error {
    use sql_support::Failure;
    match e.failure() {
        Failure::UniqueViolation(c) => Error::already_exists(c.unwrap_or_else(|| "row".into())),
        Failure::ForeignKeyViolation => Error::not_found("referenced row"),
        Failure::Retryable => Error::unavailable(format!("{backend} database: {}", chain(&e))),
        Failure::Config => Error::config(format!("{backend} database: {}", chain(&e))),
        _ => Error::backend(backend, e),
    }
}

/// `e` and its sources, joined with `: `.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
