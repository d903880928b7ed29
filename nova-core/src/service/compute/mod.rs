//! [`ComputeService`]: runs instances on one host with its
//! [`HypervisorDriver`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::Value;

use super::rpc::{
    self, InstanceArgs, LiveMigrateArgs, MigrationStepArgs, RebootArgs, VolumeAttachArgs,
};
use super::runner::{serve, Handler, ServiceHandle};
use crate::bus::{MessageBus, Topic};
use crate::db::NovaDb;
use crate::error::{Error, Result};
use crate::image::ImageService;
use crate::model::{ComputeHost, HostName, Instance, InstanceId, TaskState, ZoneName};
use crate::virt::HypervisorDriver;

mod lifecycle;
mod migrate;

/// Settings of a compute service.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeConfig {
    /// Its availability zone (used when it first registers).
    pub zone: ZoneName,
    /// How often it records a heartbeat.
    pub heartbeat_interval: Duration,
    /// How long a call to another service may take.
    pub call_timeout: Duration,
}

impl Default for ComputeConfig {
    fn default() -> Self {
        Self {
            zone: ZoneName::default_zone(),
            heartbeat_interval: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
        }
    }
}

/// Consumes `compute.<host>`: spawns, terminates, reboots, starts and
/// stops instances, serves console logs, attaches volumes and runs both
/// ends of live migrations. Registers the host on start and heartbeats.
#[derive(Debug)]
pub struct ComputeService {
    host: HostName,
    driver: Arc<dyn HypervisorDriver>,
    db: Arc<dyn NovaDb>,
    bus: Arc<dyn MessageBus>,
    images: Arc<dyn ImageService>,
    config: ComputeConfig,
}

impl ComputeService {
    /// The compute service of `host`.
    pub fn new(
        host: HostName,
        driver: Arc<dyn HypervisorDriver>,
        db: Arc<dyn NovaDb>,
        bus: Arc<dyn MessageBus>,
        images: Arc<dyn ImageService>,
        config: ComputeConfig,
    ) -> Self {
        Self {
            host,
            driver,
            db,
            bus,
            images,
            config,
        }
    }

    /// Registers the host (keeping an existing record's enabled flag and
    /// zone), starts heartbeating and consuming `compute.<host>`.
    pub async fn start(self) -> Result<ServiceHandle> {
        self.register().await?;
        let me = Arc::new(self);
        let bus = Arc::clone(&me.bus);
        let mut handle = ServiceHandle::new(format!("compute.{}", me.host));
        serve(
            &bus,
            &Topic::compute_host(&me.host),
            Arc::clone(&me),
            &mut handle,
        )
        .await?;
        let mut stop = handle.stopped();
        let beat = Arc::clone(&me);
        handle.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(beat.config.heartbeat_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tick.tick() => {
                        // A failed beat is retried at the next tick; the
                        // host shows down only if they keep failing.
                        let _ = beat.db.record_heartbeat(&beat.host, SystemTime::now()).await;
                    }
                }
            }
        }));
        Ok(handle)
    }

    async fn register(&self) -> Result<()> {
        let res = self.driver.host_resources().await?;
        let mut rec = match self.db.get_service(&self.host).await {
            Ok(r) => r,
            Err(Error::NotFound { .. }) => ComputeHost::new(
                self.host.clone(),
                self.config.zone.clone(),
                &res.hypervisor_type,
                res.total,
            ),
            Err(e) => return Err(e),
        };
        rec.hypervisor_type = res.hypervisor_type;
        rec.total = res.total;
        rec.used = res.used;
        rec.running_vms = res.running_vms;
        rec.last_heartbeat = SystemTime::now();
        self.db.update_service(&rec).await
    }

    /// Writes the driver's view of used resources to the service record.
    async fn refresh_resources(&self) {
        let Ok(res) = self.driver.host_resources().await else {
            return;
        };
        if let Ok(mut rec) = self.db.get_service(&self.host).await {
            rec.used = res.used;
            rec.running_vms = res.running_vms;
            let _ = self.db.update_service(&rec).await;
        }
    }

    /// The instance, or `None` when it is gone.
    async fn instance(&self, id: &InstanceId) -> Result<Option<Instance>> {
        match self.db.get_instance(id).await {
            Ok(i) => Ok(Some(i)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Applies `edit` to the stored instance with compare-and-set on its
    /// current task state, retrying a few times on a concurrent change.
    /// `None` when the instance is gone.
    async fn update(
        &self,
        id: &InstanceId,
        expected: Option<TaskState>,
        edit: impl Fn(&mut Instance),
    ) -> Result<Option<Instance>> {
        let Some(mut i) = self.instance(id).await? else {
            return Ok(None);
        };
        if i.task_state != expected {
            return Err(Error::conflict(format!(
                "instance {id} task state is {:?}, expected {expected:?}",
                i.task_state
            )));
        }
        edit(&mut i);
        match self.db.update_instance(&i, expected).await {
            Ok(i) => Ok(Some(i)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Handler for ComputeService {
    async fn handle(self: Arc<Self>, method: String, args: Value) -> Result<Value> {
        let unit = |r: Result<()>| r.map(|()| Value::Null);
        let json = |v: Result<Value>| v;
        match method.as_str() {
            rpc::RUN_INSTANCE => unit(self.run_instance(rpc::decode::<InstanceArgs>(args)?).await),
            rpc::TERMINATE_INSTANCE => {
                unit(self.terminate(rpc::decode::<InstanceArgs>(args)?).await)
            }
            rpc::REBOOT_INSTANCE => unit(self.reboot(rpc::decode::<RebootArgs>(args)?).await),
            rpc::START_INSTANCE => unit(self.power(rpc::decode::<InstanceArgs>(args)?, true).await),
            rpc::STOP_INSTANCE => unit(self.power(rpc::decode::<InstanceArgs>(args)?, false).await),
            rpc::GET_CONSOLE_OUTPUT => {
                let a: InstanceArgs = rpc::decode(args)?;
                let log = self.driver.console_output(&a.instance_id).await?;
                Ok(Value::String(log))
            }
            rpc::ATTACH_VOLUME => unit(
                self.attach_volume(rpc::decode::<VolumeAttachArgs>(args)?)
                    .await,
            ),
            rpc::DETACH_VOLUME => unit(
                self.detach_volume(rpc::decode::<VolumeAttachArgs>(args)?)
                    .await,
            ),
            rpc::LIVE_MIGRATE => unit(
                self.live_migrate(rpc::decode::<LiveMigrateArgs>(args)?)
                    .await,
            ),
            rpc::CHECK_CAN_LIVE_MIGRATE => {
                let a: MigrationStepArgs = rpc::decode(args)?;
                let data = self
                    .driver
                    .check_can_live_migrate(&a.req, a.block_migration)
                    .await?;
                json(serde_json::to_value(data).map_err(|e| Error::backend("rpc", e)))
            }
            rpc::PRE_LIVE_MIGRATION => {
                let a: MigrationStepArgs = rpc::decode(args)?;
                let data = a
                    .data
                    .ok_or_else(|| Error::invalid("pre_live_migration needs migrate data"))?;
                let data = self.driver.pre_live_migration(&a.req, &data).await?;
                json(serde_json::to_value(data).map_err(|e| Error::backend("rpc", e)))
            }
            rpc::POST_LIVE_MIGRATION_AT_DEST => {
                let a: MigrationStepArgs = rpc::decode(args)?;
                self.driver
                    .post_live_migration(
                        &a.req.instance_id,
                        crate::virt::MigrationSide::Destination,
                    )
                    .await?;
                self.refresh_resources().await;
                Ok(Value::Null)
            }
            rpc::ROLLBACK_LIVE_MIGRATION_AT_DEST => {
                let a: MigrationStepArgs = rpc::decode(args)?;
                self.driver.destroy(&a.req.instance_id).await?;
                self.refresh_resources().await;
                Ok(Value::Null)
            }
            other => Err(Error::invalid(format!("compute has no method {other}"))),
        }
    }
}
