//! Block storage backends: the [`VolumeDriver`] trait, the file-backed
//! [`FileVolumes`] (qcow2 or raw through `qemu-img`), the in-memory
//! [`MemoryVolumes`], and the conformance suite. The one-attachment rule
//! lives in the model ([`crate::model::Volume::begin_attach`]).

use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::model::VolumeId;
use crate::virt::VolumeConnection;

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod file;
pub mod memory;

pub use file::{FileVolumes, FileVolumesConfig, VolumeFormat};
pub use memory::MemoryVolumes;

/// Stores volume data. Object-safe; shared as `Arc<dyn VolumeDriver>`.
/// Calls on different volumes may run concurrently.
#[async_trait]
pub trait VolumeDriver: Send + Sync + fmt::Debug + 'static {
    /// The backend's name, e.g. `file`.
    fn name(&self) -> &'static str;

    /// Creates an empty volume of `size_gb` GiB, atomically: on error
    /// nothing exists. [`crate::Error::AlreadyExists`] if it exists,
    /// [`crate::Error::InvalidInput`] for size 0.
    async fn create(&self, id: &VolumeId, size_gb: u64) -> Result<()>;

    /// Deletes the volume and its data. Idempotent: absent is `Ok`.
    async fn delete(&self, id: &VolumeId) -> Result<()>;

    /// Grows the volume to `new_size_gb`. [`crate::Error::NotFound`] if
    /// absent, [`crate::Error::InvalidInput`] unless strictly larger.
    async fn extend(&self, id: &VolumeId, new_size_gb: u64) -> Result<()>;

    /// The volume's size in GiB; [`crate::Error::NotFound`] if absent.
    async fn size_gb(&self, id: &VolumeId) -> Result<u64>;

    /// Where a hypervisor on this host finds the volume, for attaching;
    /// [`crate::Error::NotFound`] if absent.
    async fn export(&self, id: &VolumeId) -> Result<VolumeConnection>;
}

pub(crate) fn check_size(size_gb: u64) -> Result<()> {
    if size_gb == 0 {
        return Err(crate::Error::invalid("volume size must be at least 1 GiB"));
    }
    Ok(())
}

pub(crate) fn not_found(id: &VolumeId) -> crate::Error {
    crate::Error::not_found(format!("volume {id}"))
}
