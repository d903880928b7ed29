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
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::bus::MessageBus;
use crate::db::NovaDb;
use crate::error::{Error, Result};
use crate::image::ImageService;
use crate::model::{
    HostName, InstanceId, ProjectId, QuotaLimits, QuotaResource, QuotaUsage, ServerStatus,
    VolumeId, ZoneName, DEFAULT_SERVICE_DOWN_TIME,
};
use crate::scheduler::SchedulerHints;

mod actions;
pub(crate) mod boot;
mod context;
mod flavors_keys;
mod hosts;
mod network;
mod security_groups;
pub(crate) mod servers;
pub(crate) mod volumes;

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
    /// A host whose last heartbeat is older is `down`.
    pub service_down_time: Duration,
    /// How long a call to a service (console output, volume attach,
    /// network) may take.
    pub call_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            default_zone: ZoneName::default_zone(),
            default_floating_pool: "public".into(),
            max_count_per_request: 100,
            service_down_time: DEFAULT_SERVICE_DOWN_TIME,
            call_timeout: Duration::from_secs(60),
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
}

/// Forbidden unless the caller has the `admin` role.
pub(crate) fn require_admin(ctx: &RequestContext, what: &str) -> Result<()> {
    if ctx.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "Policy doesn't allow {what} to be performed"
        )))
    }
}

/// Maps a remote error of a service call back onto our local kinds, so a
/// front end sees `Conflict` and not `Remote`.
pub(crate) fn local_error(e: Error) -> Error {
    let Error::Remote { kind, message } = e else {
        return e;
    };
    let strip_suffix = |sfx: &str| message.strip_suffix(sfx).unwrap_or(&message).to_owned();
    let strip_prefix = |pfx: &str| message.strip_prefix(pfx).unwrap_or(&message).to_owned();
    match kind.as_str() {
        "NotFound" => Error::NotFound {
            what: strip_suffix(" not found"),
        },
        "AlreadyExists" => Error::AlreadyExists {
            what: strip_suffix(" already exists"),
        },
        "Conflict" => Error::Conflict {
            reason: strip_prefix("conflict: "),
        },
        "InvalidInput" => Error::InvalidInput {
            reason: strip_prefix("invalid input: "),
        },
        "Forbidden" => Error::Forbidden {
            reason: strip_prefix("forbidden: "),
        },
        "Unavailable" => Error::Unavailable {
            reason: strip_prefix("unavailable: "),
        },
        _ => Error::Remote { kind, message },
    }
}

#[cfg(test)]
mod tests;
