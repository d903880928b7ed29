//! Volumes and their (single) attachment.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::ids::{InstanceId, ProjectId, VolumeId, ZoneName};
use crate::error::{Error, Result};

/// Cinder's volume statuses (the ones we use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeStatus {
    /// Being created by the volume driver.
    Creating,
    /// Ready and detached.
    Available,
    /// Being attached.
    Attaching,
    /// Attached to an instance.
    InUse,
    /// Being detached.
    Detaching,
    /// Being grown.
    Extending,
    /// Being deleted.
    Deleting,
    /// Failed.
    Error,
}

impl VolumeStatus {
    /// The wire name (`in-use`, `available`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Available => "available",
            Self::Attaching => "attaching",
            Self::InUse => "in-use",
            Self::Detaching => "detaching",
            Self::Extending => "extending",
            Self::Deleting => "deleting",
            Self::Error => "error",
        }
    }
}

/// Where a volume is attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeAttachment {
    /// The instance.
    pub instance_id: InstanceId,
    /// Guest device, e.g. `/dev/vdb`.
    pub device: String,
    /// When it was attached.
    pub attached_at: SystemTime,
}

/// A block storage volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Its id.
    pub id: VolumeId,
    /// Display name.
    pub name: Option<String>,
    /// Owning project.
    pub project_id: ProjectId,
    /// Size in GiB.
    pub size_gb: u64,
    /// Status.
    pub status: VolumeStatus,
    /// Availability zone.
    pub zone: ZoneName,
    /// At most one attachment.
    pub attachment: Option<VolumeAttachment>,
    /// Creation time.
    pub created_at: SystemTime,
}

impl Volume {
    /// A new volume in `creating`; [`Error::InvalidInput`] for size 0.
    pub fn new(project_id: ProjectId, size_gb: u64, name: Option<String>) -> Result<Self> {
        if size_gb == 0 {
            return Err(Error::invalid("volume size must be at least 1 GiB"));
        }
        Ok(Self {
            id: VolumeId::new_v4(),
            name,
            project_id,
            size_gb,
            status: VolumeStatus::Creating,
            zone: ZoneName::default_zone(),
            attachment: None,
            created_at: SystemTime::now(),
        })
    }

    /// Starts an attach: only from `available` and only when not attached;
    /// otherwise [`Error::Conflict`] (HTTP 409).
    pub fn begin_attach(&mut self) -> Result<()> {
        if let Some(a) = &self.attachment {
            return Err(Error::conflict(format!(
                "volume {} is already attached to instance {}",
                self.id, a.instance_id
            )));
        }
        self.require(VolumeStatus::Available, "attach")?;
        self.status = VolumeStatus::Attaching;
        Ok(())
    }

    /// Finishes an attach begun with [`Volume::begin_attach`].
    pub fn attached(&mut self, instance: InstanceId, device: impl Into<String>) -> Result<()> {
        self.require(VolumeStatus::Attaching, "finish attaching")?;
        self.attachment = Some(VolumeAttachment {
            instance_id: instance,
            device: device.into(),
            attached_at: SystemTime::now(),
        });
        self.status = VolumeStatus::InUse;
        Ok(())
    }

    /// Undoes a failed attach.
    pub fn attach_failed(&mut self) {
        if self.status == VolumeStatus::Attaching {
            self.status = VolumeStatus::Available;
        }
    }

    /// Starts detaching from `instance`; [`Error::Conflict`] if it is not
    /// attached there.
    pub fn begin_detach(&mut self, instance: InstanceId) -> Result<()> {
        match &self.attachment {
            Some(a) if a.instance_id == instance && self.status == VolumeStatus::InUse => {
                self.status = VolumeStatus::Detaching;
                Ok(())
            }
            _ => Err(Error::conflict(format!(
                "volume {} is not attached to instance {instance}",
                self.id
            ))),
        }
    }

    /// Finishes a detach.
    pub fn detached(&mut self) {
        self.attachment = None;
        self.status = VolumeStatus::Available;
    }

    /// Checks a delete is allowed: not attached and not busy.
    pub fn check_deletable(&self) -> Result<()> {
        match self.status {
            VolumeStatus::Available | VolumeStatus::Error if self.attachment.is_none() => Ok(()),
            s => Err(Error::conflict(format!(
                "volume {} cannot be deleted while {}",
                self.id,
                s.as_str()
            ))),
        }
    }

    /// Checks an extend to `new_size_gb`: available and strictly larger.
    pub fn check_extend(&self, new_size_gb: u64) -> Result<()> {
        self.require(VolumeStatus::Available, "extend")?;
        if new_size_gb <= self.size_gb {
            return Err(Error::invalid(format!(
                "new size {new_size_gb} must be larger than {}",
                self.size_gb
            )));
        }
        Ok(())
    }

    fn require(&self, want: VolumeStatus, op: &str) -> Result<()> {
        if self.status != want {
            return Err(Error::conflict(format!(
                "cannot {op} volume {} while {}",
                self.id,
                self.status.as_str()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol() -> Volume {
        let mut v = Volume::new(ProjectId::new("p").unwrap(), 1, None).unwrap();
        v.status = VolumeStatus::Available;
        v
    }

    #[test]
    fn one_attachment_at_a_time() {
        let (a, b) = (InstanceId::new_v4(), InstanceId::new_v4());
        let mut v = vol();
        v.begin_attach().unwrap();
        assert!(matches!(v.begin_attach(), Err(Error::Conflict { .. })));
        v.attached(a, "/dev/vdb").unwrap();
        assert_eq!(v.status, VolumeStatus::InUse);
        let e = v.begin_attach().unwrap_err();
        assert!(e.to_string().contains("already attached"), "{e}");
        assert!(v.check_deletable().is_err());
        assert!(v.begin_detach(b).is_err());
        v.begin_detach(a).unwrap();
        v.detached();
        assert!(v.attachment.is_none());
        v.begin_attach().unwrap();
        v.attach_failed();
        assert_eq!(v.status, VolumeStatus::Available);
        v.check_deletable().unwrap();
    }

    #[test]
    fn size_and_extend_rules() {
        assert!(Volume::new(ProjectId::new("p").unwrap(), 0, None).is_err());
        let v = vol();
        assert!(v.check_extend(1).is_err());
        assert!(v.check_extend(2).is_ok());
        assert_eq!(serde_json::to_value(VolumeStatus::InUse).unwrap(), "in-use");
    }
}
