//! [`MemoryVolumes`]: volumes that are only a size, for tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{check_size, not_found, VolumeDriver};
use crate::error::{Error, Result};
use crate::model::VolumeId;
use crate::virt::VolumeConnection;

/// An in-memory [`VolumeDriver`]; exports point at `memory:/<id>`.
#[derive(Debug, Default)]
pub struct MemoryVolumes {
    sizes: Mutex<BTreeMap<VolumeId, u64>>,
}

impl MemoryVolumes {
    /// No volumes.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<VolumeId, u64>> {
        // Single inserts and removes; poison leaves a valid map.
        self.sizes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl VolumeDriver for MemoryVolumes {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn create(&self, id: &VolumeId, size_gb: u64) -> Result<()> {
        check_size(size_gb)?;
        let mut m = self.lock();
        if m.contains_key(id) {
            return Err(Error::already_exists(format!("volume {id}")));
        }
        m.insert(*id, size_gb);
        Ok(())
    }

    async fn delete(&self, id: &VolumeId) -> Result<()> {
        self.lock().remove(id);
        Ok(())
    }

    async fn extend(&self, id: &VolumeId, new_size_gb: u64) -> Result<()> {
        let mut m = self.lock();
        let size = m.get_mut(id).ok_or_else(|| not_found(id))?;
        if new_size_gb <= *size {
            return Err(Error::invalid(format!(
                "new size {new_size_gb} must be larger than {size}"
            )));
        }
        *size = new_size_gb;
        Ok(())
    }

    async fn size_gb(&self, id: &VolumeId) -> Result<u64> {
        self.lock().get(id).copied().ok_or_else(|| not_found(id))
    }

    async fn export(&self, id: &VolumeId) -> Result<VolumeConnection> {
        if !self.lock().contains_key(id) {
            return Err(not_found(id));
        }
        Ok(VolumeConnection {
            volume_id: *id,
            path: PathBuf::from(format!("memory:/{id}")),
            format: "raw".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_volumes_conform() {
        super::super::conformance::run_all(&MemoryVolumes::new()).await;
    }
}
