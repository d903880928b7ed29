//! Nova's instance states: `vm_state`, `task_state`, `power_state`, and the
//! API `status` derived from the first two exactly as Nova's
//! `common._STATE_MAP` does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v,)+];

            /// Nova's wire name.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($s => Ok($name::$v),)+
                    _ => Err(Error::invalid(format!(concat!("unknown ", stringify!($name), " {:?}"), s))),
                }
            }
        }
    };
}

str_enum!(
    /// The stable state of an instance (`OS-EXT-STS:vm_state`).
    VmState {
        /// Running (or runnable).
        Active => "active",
        /// Being created.
        Building => "building",
        /// Paused in memory.
        Paused => "paused",
        /// Suspended to disk.
        Suspended => "suspended",
        /// Powered off.
        Stopped => "stopped",
        /// In rescue mode.
        Rescued => "rescued",
        /// Resized, waiting for confirmation.
        Resized => "resized",
        /// Soft-deleted, restorable.
        SoftDeleted => "soft-delete",
        /// Deleted.
        Deleted => "deleted",
        /// Failed.
        Error => "error",
        /// Shelved.
        Shelved => "shelved",
        /// Shelved and removed from its host.
        ShelvedOffloaded => "shelved_offloaded",
    }
);

str_enum!(
    /// The operation in progress on an instance (`OS-EXT-STS:task_state`).
    TaskState {
        /// Waiting for the scheduler.
        Scheduling => "scheduling",
        /// Preparing block devices.
        BlockDeviceMapping => "block_device_mapping",
        /// Allocating the network.
        Networking => "networking",
        /// The driver is spawning it.
        Spawning => "spawning",
        /// Snapshot requested.
        ImageSnapshot => "image_snapshot",
        /// Snapshot pending.
        ImageSnapshotPending => "image_snapshot_pending",
        /// Snapshot upload pending.
        ImagePendingUpload => "image_pending_upload",
        /// Snapshot uploading.
        ImageUploading => "image_uploading",
        /// Backup in progress.
        ImageBackup => "image_backup",
        /// Setting the admin password.
        UpdatingPassword => "updating_password",
        /// Resize: preparing.
        ResizePrep => "resize_prep",
        /// Resize: migrating.
        ResizeMigrating => "resize_migrating",
        /// Resize: migrated.
        ResizeMigrated => "resize_migrated",
        /// Resize: finishing.
        ResizeFinish => "resize_finish",
        /// Resize: reverting.
        ResizeReverting => "resize_reverting",
        /// Resize: confirming.
        ResizeConfirming => "resize_confirming",
        /// Soft reboot requested.
        Rebooting => "rebooting",
        /// Soft reboot pending on the host.
        RebootPending => "reboot_pending",
        /// Soft reboot started.
        RebootStarted => "reboot_started",
        /// Hard reboot requested.
        RebootingHard => "rebooting_hard",
        /// Hard reboot pending on the host.
        RebootPendingHard => "reboot_pending_hard",
        /// Hard reboot started.
        RebootStartedHard => "reboot_started_hard",
        /// Pausing.
        Pausing => "pausing",
        /// Unpausing.
        Unpausing => "unpausing",
        /// Suspending.
        Suspending => "suspending",
        /// Resuming.
        Resuming => "resuming",
        /// Stopping.
        PoweringOff => "powering-off",
        /// Starting.
        PoweringOn => "powering-on",
        /// Entering rescue.
        Rescuing => "rescuing",
        /// Leaving rescue.
        Unrescuing => "unrescuing",
        /// Rebuild requested.
        Rebuilding => "rebuilding",
        /// Rebuild: block devices.
        RebuildBlockDeviceMapping => "rebuild_block_device_mapping",
        /// Rebuild: spawning.
        RebuildSpawning => "rebuild_spawning",
        /// Live migration in progress.
        Migrating => "migrating",
        /// Being deleted.
        Deleting => "deleting",
        /// Being soft-deleted.
        SoftDeleting => "soft-deleting",
        /// Being restored from soft delete.
        Restoring => "restoring",
        /// Being shelved.
        Shelving => "shelving",
        /// Shelve: image upload pending.
        ShelvingImagePendingUpload => "shelving_image_pending_upload",
        /// Shelve: image uploading.
        ShelvingImageUploading => "shelving_image_uploading",
        /// Shelve: offloading.
        ShelvingOffloading => "shelving_offloading",
        /// Being unshelved.
        Unshelving => "unshelving",
    }
);

/// What the hypervisor reports (`OS-EXT-STS:power_state`, an integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum PowerState {
    /// 0: no state yet (Nova's `pending`).
    #[default]
    NoState,
    /// 1: running.
    Running,
    /// 3: paused.
    Paused,
    /// 4: shut down.
    Shutdown,
    /// 6: crashed.
    Crashed,
    /// 7: suspended.
    Suspended,
}

impl PowerState {
    /// Nova's integer code.
    pub fn code(self) -> u8 {
        match self {
            Self::NoState => 0,
            Self::Running => 1,
            Self::Paused => 3,
            Self::Shutdown => 4,
            Self::Crashed => 6,
            Self::Suspended => 7,
        }
    }
}

impl From<PowerState> for u8 {
    fn from(p: PowerState) -> u8 {
        p.code()
    }
}

impl TryFrom<u8> for PowerState {
    type Error = Error;

    fn try_from(c: u8) -> Result<Self> {
        Ok(match c {
            0 => Self::NoState,
            1 => Self::Running,
            3 => Self::Paused,
            4 => Self::Shutdown,
            6 => Self::Crashed,
            7 => Self::Suspended,
            _ => return Err(Error::invalid(format!("unknown power state {c}"))),
        })
    }
}

str_enum!(
    /// The API `status` of a server.
    ServerStatus {
        /// Running.
        Active => "ACTIVE",
        /// Being built.
        Build => "BUILD",
        /// Soft reboot.
        Reboot => "REBOOT",
        /// Hard reboot.
        HardReboot => "HARD_REBOOT",
        /// Password change.
        Password => "PASSWORD",
        /// Rebuild.
        Rebuild => "REBUILD",
        /// Live migration.
        Migrating => "MIGRATING",
        /// Resize.
        Resize => "RESIZE",
        /// Resized, waiting for confirmation.
        VerifyResize => "VERIFY_RESIZE",
        /// Reverting a resize.
        RevertResize => "REVERT_RESIZE",
        /// Stopped.
        Shutoff => "SHUTOFF",
        /// Paused.
        Paused => "PAUSED",
        /// Suspended.
        Suspended => "SUSPENDED",
        /// Rescue mode.
        Rescue => "RESCUE",
        /// Failed.
        Error => "ERROR",
        /// Deleted.
        Deleted => "DELETED",
        /// Soft-deleted.
        SoftDeleted => "SOFT_DELETED",
        /// Shelved.
        Shelved => "SHELVED",
        /// Shelved and offloaded.
        ShelvedOffloaded => "SHELVED_OFFLOADED",
        /// A vm_state Nova does not know.
        Unknown => "UNKNOWN",
    }
);

/// Derives the API status: the vm_state's default, overridden by a few
/// task states, as in Nova's `status_from_state`.
pub fn status_from_state(vm: VmState, task: Option<TaskState>) -> ServerStatus {
    use ServerStatus as S;
    use TaskState as T;
    let rebuild = matches!(
        task,
        Some(T::Rebuilding | T::RebuildBlockDeviceMapping | T::RebuildSpawning)
    );
    let resize = matches!(
        task,
        Some(T::ResizePrep | T::ResizeMigrating | T::ResizeMigrated | T::ResizeFinish)
    );
    match vm {
        VmState::Active => match task {
            Some(T::Rebooting | T::RebootPending | T::RebootStarted) => S::Reboot,
            Some(T::RebootingHard | T::RebootPendingHard | T::RebootStartedHard) => S::HardReboot,
            Some(T::UpdatingPassword) => S::Password,
            Some(T::Migrating) => S::Migrating,
            _ if rebuild => S::Rebuild,
            _ if resize => S::Resize,
            _ => S::Active,
        },
        VmState::Building => S::Build,
        VmState::Stopped if resize => S::Resize,
        VmState::Stopped if rebuild => S::Rebuild,
        VmState::Stopped => S::Shutoff,
        VmState::Resized if task == Some(T::ResizeReverting) => S::RevertResize,
        VmState::Resized => S::VerifyResize,
        VmState::Paused if task == Some(T::Migrating) => S::Migrating,
        VmState::Paused => S::Paused,
        VmState::Suspended => S::Suspended,
        VmState::Rescued => S::Rescue,
        VmState::Error if rebuild => S::Rebuild,
        VmState::Error => S::Error,
        VmState::Deleted => S::Deleted,
        VmState::SoftDeleted => S::SoftDeleted,
        VmState::Shelved => S::Shelved,
        VmState::ShelvedOffloaded => S::ShelvedOffloaded,
    }
}

/// [`status_from_state`] over wire strings: an unknown vm_state gives
/// `UNKNOWN`; an unknown task_state falls back to the vm_state's default.
pub fn status_from_strs(vm: &str, task: Option<&str>) -> ServerStatus {
    match vm.parse::<VmState>() {
        Ok(vm) => status_from_state(vm, task.and_then(|t| t.parse().ok())),
        Err(_) => ServerStatus::Unknown,
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
