//! The messages the api and the services exchange over the bus: method
//! names and their JSON arguments, one struct each.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::{local_error, RequestContext};
use crate::bus::{Message, MessageBus, Topic};
use crate::error::{Error, Result};
use crate::model::{FloatingIpId, HostName, InstanceId, ProjectId, VolumeId};
use crate::scheduler::RequestSpec;
use crate::virt::{MigrateData, SpawnRequest};

/// Scheduler: place and start freshly recorded instances.
pub const RUN_INSTANCES: &str = "run_instances";
/// Scheduler (call): choose a destination for a live migration.
pub const SELECT_DESTINATION: &str = "select_destination";
/// Compute: spawn a scheduled instance.
pub const RUN_INSTANCE: &str = "run_instance";
/// Compute: destroy an instance and free what it holds.
pub const TERMINATE_INSTANCE: &str = "terminate_instance";
/// Compute: reboot.
pub const REBOOT_INSTANCE: &str = "reboot_instance";
/// Compute: power on.
pub const START_INSTANCE: &str = "start_instance";
/// Compute: power off.
pub const STOP_INSTANCE: &str = "stop_instance";
/// Compute (call): the console log.
pub const GET_CONSOLE_OUTPUT: &str = "get_console_output";
/// Compute (call): attach a volume.
pub const ATTACH_VOLUME: &str = "attach_volume";
/// Compute (call): detach a volume.
pub const DETACH_VOLUME: &str = "detach_volume";
/// Compute on the source: live-migrate an instance.
pub const LIVE_MIGRATE: &str = "live_migration";
/// Compute on the destination (call): can it take the instance?
pub const CHECK_CAN_LIVE_MIGRATE: &str = "check_can_live_migrate_destination";
/// Compute on the destination (call): prepare to receive.
pub const PRE_LIVE_MIGRATION: &str = "pre_live_migration";
/// Compute on the destination (call): the instance arrived.
pub const POST_LIVE_MIGRATION_AT_DEST: &str = "post_live_migration_at_destination";
/// Compute on the destination (call): the migration failed, clean up.
pub const ROLLBACK_LIVE_MIGRATION_AT_DEST: &str = "rollback_live_migration_at_destination";
/// Network (call): lease fixed IPs to an instance.
pub const ALLOCATE_FOR_INSTANCE: &str = "allocate_for_instance";
/// Network (call): release an instance's fixed and floating IPs.
pub const DEALLOCATE_FOR_INSTANCE: &str = "deallocate_for_instance";
/// Network (call): NAT a floating IP to a fixed one.
pub const ASSOCIATE_FLOATING_IP: &str = "associate_floating_ip";
/// Network (call): remove a floating IP's NAT.
pub const DISASSOCIATE_FLOATING_IP: &str = "disassociate_floating_ip";
/// Volume: create the backing store of a recorded volume.
pub const CREATE_VOLUME: &str = "create_volume";
/// Volume: delete a volume.
pub const DELETE_VOLUME: &str = "delete_volume";
/// Volume (call): grow a volume.
pub const EXTEND_VOLUME: &str = "extend_volume";
/// Volume (call): where a hypervisor finds a volume.
pub const INITIALIZE_CONNECTION: &str = "initialize_connection";

/// Arguments of [`RUN_INSTANCES`] and [`SELECT_DESTINATION`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInstances {
    /// The caller.
    pub ctx: RequestContext,
    /// The instances, in launch order (empty for a destination choice).
    pub instance_ids: Vec<InstanceId>,
    /// What to place.
    pub spec: RequestSpec,
}

/// Arguments naming one instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceArgs {
    /// The caller.
    pub ctx: RequestContext,
    /// The instance.
    pub instance_id: InstanceId,
}

/// Arguments of [`REBOOT_INSTANCE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RebootArgs {
    /// The caller.
    pub ctx: RequestContext,
    /// The instance.
    pub instance_id: InstanceId,
    /// Hard reboot.
    pub hard: bool,
}

/// Arguments of [`ATTACH_VOLUME`] and [`DETACH_VOLUME`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeAttachArgs {
    /// The caller.
    pub ctx: RequestContext,
    /// The instance.
    pub instance_id: InstanceId,
    /// The volume.
    pub volume_id: VolumeId,
    /// Guest device (attach only).
    pub device: String,
}

/// Arguments of [`LIVE_MIGRATE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveMigrateArgs {
    /// The caller.
    pub ctx: RequestContext,
    /// The instance.
    pub instance_id: InstanceId,
    /// Destination host.
    pub dest: HostName,
    /// Copy disks too.
    pub block_migration: bool,
}

/// Arguments of the destination steps of a live migration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MigrationStepArgs {
    /// What the instance looks like.
    pub req: SpawnRequest,
    /// Copy disks too.
    pub block_migration: bool,
    /// Data of the previous step.
    pub data: Option<MigrateData>,
}

/// Arguments of [`ALLOCATE_FOR_INSTANCE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AllocateArgs {
    /// The instance.
    pub instance_id: InstanceId,
    /// Its project (picks VLAN/project networks).
    pub project_id: ProjectId,
    /// Its guest host name.
    pub hostname: String,
}

/// Arguments of [`DEALLOCATE_FOR_INSTANCE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeallocateArgs {
    /// The instance.
    pub instance_id: InstanceId,
}

/// Arguments of [`ASSOCIATE_FLOATING_IP`] and [`DISASSOCIATE_FLOATING_IP`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FloatingArgs {
    /// The floating IP.
    pub id: FloatingIpId,
    /// The instance (associate only).
    pub instance_id: Option<InstanceId>,
    /// Its fixed address (associate only).
    pub fixed: Option<std::net::Ipv4Addr>,
}

/// Arguments of the volume service's methods.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeArgs {
    /// The volume.
    pub volume_id: VolumeId,
    /// New size (extend only).
    pub new_size_gb: Option<u64>,
}

fn encode<A: Serialize>(method: &str, args: &A) -> Result<Message> {
    let v = serde_json::to_value(args).map_err(|e| Error::backend("rpc", e))?;
    Ok(Message::new(method, v))
}

/// Casts `method(args)` to `topic`.
pub async fn cast<A: Serialize>(
    bus: &dyn MessageBus,
    topic: &Topic,
    method: &str,
    args: &A,
) -> Result<()> {
    bus.cast(topic, encode(method, args)?).await
}

/// Calls `method(args)` on `topic` and decodes the answer; remote errors
/// come back as their local kinds.
pub async fn call<A: Serialize, R: DeserializeOwned>(
    bus: &dyn MessageBus,
    topic: &Topic,
    method: &str,
    args: &A,
    timeout: Duration,
) -> Result<R> {
    let v = bus
        .call(topic, encode(method, args)?, timeout)
        .await
        .map_err(local_error)?;
    serde_json::from_value(v).map_err(|e| Error::backend("rpc", e))
}

/// Decodes the arguments of a delivered message.
pub fn decode<A: DeserializeOwned>(args: serde_json::Value) -> Result<A> {
    serde_json::from_value(args).map_err(|e| Error::invalid(format!("bad message arguments: {e}")))
}
