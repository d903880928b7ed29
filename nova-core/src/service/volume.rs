//! [`VolumeService`]: creates, deletes, extends and exports volumes with
//! a [`VolumeDriver`].

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::rpc::{self, VolumeArgs};
use super::runner::{serve, Handler, ServiceHandle};
use crate::api::volumes::volume_quota;
use crate::bus::{MessageBus, Topic};
use crate::db::NovaDb;
use crate::error::{Error, Result};
use crate::model::{QuotaResource, VolumeId, VolumeStatus};
use crate::volume::VolumeDriver;

/// Consumes `volume`.
#[derive(Debug)]
pub struct VolumeService {
    db: Arc<dyn NovaDb>,
    bus: Arc<dyn MessageBus>,
    driver: Arc<dyn VolumeDriver>,
}

impl VolumeService {
    /// A volume service storing data with `driver`.
    pub fn new(
        db: Arc<dyn NovaDb>,
        bus: Arc<dyn MessageBus>,
        driver: Arc<dyn VolumeDriver>,
    ) -> Self {
        Self { db, bus, driver }
    }

    /// Starts consuming `volume`.
    pub async fn start(self) -> Result<ServiceHandle> {
        let bus = Arc::clone(&self.bus);
        let mut handle = ServiceHandle::new("volume");
        serve(&bus, &Topic::volume(), Arc::new(self), &mut handle).await?;
        Ok(handle)
    }

    async fn create(&self, id: &VolumeId) -> Result<()> {
        let mut v = self.db.get_volume(id).await?;
        let r = self.driver.create(id, v.size_gb).await;
        v.status = if r.is_ok() {
            VolumeStatus::Available
        } else {
            VolumeStatus::Error
        };
        self.db.update_volume(&v).await?;
        r
    }

    async fn delete(&self, id: &VolumeId) -> Result<()> {
        let v = match self.db.get_volume(id).await {
            Ok(v) => v,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Err(e) = self.driver.delete(id).await {
            let mut v = v;
            v.status = VolumeStatus::Error;
            self.db.update_volume(&v).await?;
            return Err(e);
        }
        self.db.delete_volume(id).await?;
        self.db
            .release_quota(&v.project_id, &volume_quota(v.size_gb))
            .await
    }

    async fn extend(&self, id: &VolumeId, new_size: u64) -> Result<()> {
        let mut v = self.db.get_volume(id).await?;
        v.check_extend(new_size)?;
        let grow = [(QuotaResource::Gigabytes, new_size - v.size_gb)];
        self.db.reserve_quota(&v.project_id, &grow).await?;
        if let Err(e) = self.driver.extend(id, new_size).await {
            let _ = self.db.rollback_quota(&v.project_id, &grow).await;
            return Err(e);
        }
        self.db.commit_quota(&v.project_id, &grow).await?;
        v.size_gb = new_size;
        self.db.update_volume(&v).await
    }
}

#[async_trait]
impl Handler for VolumeService {
    async fn handle(self: Arc<Self>, method: String, args: Value) -> Result<Value> {
        let a: VolumeArgs = rpc::decode(args)?;
        match method.as_str() {
            rpc::CREATE_VOLUME => self.create(&a.volume_id).await.map(|()| Value::Null),
            rpc::DELETE_VOLUME => self.delete(&a.volume_id).await.map(|()| Value::Null),
            rpc::EXTEND_VOLUME => {
                let size = a
                    .new_size_gb
                    .ok_or_else(|| Error::invalid("extend needs a new size"))?;
                self.extend(&a.volume_id, size).await.map(|()| Value::Null)
            }
            rpc::INITIALIZE_CONNECTION => {
                let conn = self.driver.export(&a.volume_id).await?;
                serde_json::to_value(conn).map_err(|e| Error::backend("rpc", e))
            }
            other => Err(Error::invalid(format!("volume has no method {other}"))),
        }
    }
}
