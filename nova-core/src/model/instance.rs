//! The instance record and the state checks of its actions.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::flavor::Flavor;
use super::host::Resources;
use super::ids::{FlavorId, HostName, InstanceId, ProjectId, UserId, ZoneName};
use super::state::{status_from_state, PowerState, ServerStatus, TaskState, VmState};
use crate::error::{Error, Result};

/// Why an instance went to `error`, shown as the server's `fault`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFault {
    /// HTTP-like code (500 for "No valid host was found").
    pub code: u16,
    /// The message shown to the user.
    pub message: String,
}

/// An instance (a server in the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Its id.
    pub id: InstanceId,
    /// Display name.
    pub name: String,
    /// Owning project.
    pub project_id: ProjectId,
    /// Creating user.
    pub user_id: UserId,
    /// Flavor it was booted with.
    pub flavor_id: FlavorId,
    /// Resources taken from the flavor at boot.
    pub resources: Resources,
    /// Glance image id, or `None` when booted from a volume.
    pub image_ref: Option<String>,
    /// Key pair injected at boot.
    pub key_name: Option<String>,
    /// Requested or assigned availability zone.
    pub availability_zone: Option<ZoneName>,
    /// Compute host once scheduled.
    pub host: Option<HostName>,
    /// Stable state.
    pub vm_state: VmState,
    /// Operation in progress.
    pub task_state: Option<TaskState>,
    /// Last power state reported by the driver.
    pub power_state: PowerState,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
    /// Why it failed, when in `error`.
    pub fault: Option<InstanceFault>,
    /// Creation time.
    pub created_at: SystemTime,
    /// Last change.
    pub updated_at: SystemTime,
    /// When it first became active.
    pub launched_at: Option<SystemTime>,
    /// When it was deleted.
    #[serde(default)]
    pub terminated_at: Option<SystemTime>,
    /// User data given at boot, base64-encoded.
    #[serde(default)]
    pub user_data: Option<String>,
    /// The boot request it came from (`r-xxxxxxxx`, shared by the servers
    /// of one request).
    #[serde(default)]
    pub reservation_id: String,
    /// Its position in that request (0-based).
    #[serde(default)]
    pub launch_index: u32,
    /// Names of its security groups.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Idempotency token of the boot request (EC2 `ClientToken`).
    #[serde(default)]
    pub client_token: Option<String>,
    /// Its instances/cores/ram quota was already given back (it failed
    /// to boot), so deleting it must not give it back again.
    #[serde(default)]
    pub quota_released: bool,
}

/// An action asked of an instance, checked against its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstanceAction {
    /// Soft reboot.
    RebootSoft,
    /// Hard reboot.
    RebootHard,
    /// Power off (`os-stop`).
    Stop,
    /// Power on (`os-start`).
    Start,
    /// Delete.
    Delete,
    /// Live migration (`os-migrateLive`).
    LiveMigrate,
    /// Attach a volume.
    AttachVolume,
    /// Detach a volume.
    DetachVolume,
    /// Read the console log.
    ConsoleOutput,
}

impl InstanceAction {
    /// The name Nova uses in its conflict messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::RebootSoft | Self::RebootHard => "reboot",
            Self::Stop => "stop",
            Self::Start => "start",
            Self::Delete => "delete",
            Self::LiveMigrate => "live_migration",
            Self::AttachVolume => "attach_volume",
            Self::DetachVolume => "detach_volume",
            Self::ConsoleOutput => "get_console_output",
        }
    }

    /// The task state the instance takes while the action runs.
    pub fn task_state(self) -> Option<TaskState> {
        match self {
            Self::RebootSoft => Some(TaskState::Rebooting),
            Self::RebootHard => Some(TaskState::RebootingHard),
            Self::Stop => Some(TaskState::PoweringOff),
            Self::Start => Some(TaskState::PoweringOn),
            Self::Delete => Some(TaskState::Deleting),
            Self::LiveMigrate => Some(TaskState::Migrating),
            Self::AttachVolume | Self::DetachVolume | Self::ConsoleOutput => None,
        }
    }
}

impl Instance {
    /// A new instance of `flavor` in `building/scheduling`.
    pub fn new(
        name: impl Into<String>,
        project_id: ProjectId,
        user_id: UserId,
        flavor: &Flavor,
        image_ref: Option<String>,
    ) -> Self {
        let now = SystemTime::now();
        Self {
            id: InstanceId::new_v4(),
            name: name.into(),
            project_id,
            user_id,
            flavor_id: flavor.id.clone(),
            resources: Resources::of_flavor(flavor),
            image_ref,
            key_name: None,
            availability_zone: None,
            host: None,
            vm_state: VmState::Building,
            task_state: Some(TaskState::Scheduling),
            power_state: PowerState::NoState,
            metadata: BTreeMap::new(),
            fault: None,
            created_at: now,
            updated_at: now,
            launched_at: None,
            terminated_at: None,
            user_data: None,
            reservation_id: new_reservation_id(),
            launch_index: 0,
            security_groups: Vec::new(),
            client_token: None,
            quota_released: false,
        }
    }

    /// The API status derived from vm_state and task_state.
    pub fn status(&self) -> ServerStatus {
        status_from_state(self.vm_state, self.task_state)
    }

    /// Checks that `action` is allowed in the current state; otherwise
    /// [`Error::Conflict`] with Nova's message.
    pub fn check_action(&self, action: InstanceAction) -> Result<()> {
        use InstanceAction as A;
        use TaskState as T;
        use VmState as V;
        let vm = self.vm_state;
        let idle = self.task_state.is_none();
        let ok = match action {
            A::RebootSoft => vm == V::Active && idle,
            A::RebootHard => {
                matches!(
                    vm,
                    V::Active | V::Stopped | V::Paused | V::Suspended | V::Error
                ) && matches!(
                    self.task_state,
                    None | Some(
                        T::Rebooting
                            | T::RebootPending
                            | T::RebootStarted
                            | T::RebootingHard
                            | T::RebootPendingHard
                            | T::RebootStartedHard
                    )
                )
            }
            A::Stop => matches!(vm, V::Active | V::Error) && idle,
            A::Start => vm == V::Stopped && idle,
            A::Delete => self.task_state != Some(T::Deleting) && vm != V::Deleted,
            A::LiveMigrate => matches!(vm, V::Active | V::Paused) && idle,
            A::AttachVolume | A::DetachVolume => {
                matches!(
                    vm,
                    V::Active | V::Paused | V::Stopped | V::Resized | V::Suspended
                ) && idle
            }
            A::ConsoleOutput => !matches!(vm, V::Building | V::Deleted),
        };
        if ok {
            return Ok(());
        }
        let why = match self.task_state {
            Some(t) if !matches!(action, A::ConsoleOutput) && !idle && vm_allows(action, vm) => {
                format!("task_state {t}")
            }
            _ => format!("vm_state {vm}"),
        };
        Err(Error::conflict(format!(
            "Cannot '{}' instance {} while it is in {why}",
            action.name(),
            self.id
        )))
    }

    /// Checks `action` and sets its task state, as the API does before it
    /// casts the work to the compute host.
    pub fn begin(&mut self, action: InstanceAction) -> Result<()> {
        self.check_action(action)?;
        if let Some(t) = action.task_state() {
            self.task_state = Some(t);
        }
        self.updated_at = SystemTime::now();
        Ok(())
    }

    /// Records the outcome of a finished operation.
    pub fn settle(&mut self, vm_state: VmState, power_state: PowerState) {
        self.vm_state = vm_state;
        self.task_state = None;
        self.power_state = power_state;
        let now = SystemTime::now();
        if vm_state == VmState::Active && self.launched_at.is_none() {
            self.launched_at = Some(now);
        }
        self.updated_at = now;
    }

    /// Puts the instance in `error` with a fault.
    pub fn fail(&mut self, code: u16, message: impl Into<String>) {
        self.vm_state = VmState::Error;
        self.task_state = None;
        self.fault = Some(InstanceFault {
            code,
            message: message.into(),
        });
        self.updated_at = SystemTime::now();
    }
}

/// A fresh reservation id, `r-` and 8 random lowercase hex digits.
pub fn new_reservation_id() -> String {
    let n: u32 = rand::random();
    format!("r-{n:08x}")
}

/// Whether only the task state stands in the way (for the message).
fn vm_allows(action: InstanceAction, vm: VmState) -> bool {
    use InstanceAction as A;
    use VmState as V;
    match action {
        A::RebootSoft => vm == V::Active,
        A::Stop => matches!(vm, V::Active | V::Error),
        A::Start => vm == V::Stopped,
        A::LiveMigrate => matches!(vm, V::Active | V::Paused),
        _ => true,
    }
}

#[cfg(test)]
#[path = "instance_tests.rs"]
mod tests;
