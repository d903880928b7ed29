//! Volume attachment and live migration on the compute host.

use std::time::SystemTime;

use super::ComputeService;
use crate::bus::Topic;
use crate::error::{Error, Result};
use crate::model::{PowerState, TaskState, VmState, VolumeAttachment};
use crate::service::rpc::{self, LiveMigrateArgs, MigrationStepArgs, VolumeArgs, VolumeAttachArgs};
use crate::virt::{MigrateData, MigrationSide, SpawnRequest, Vif, VolumeConnection};

impl ComputeService {
    async fn connection(&self, a: &VolumeAttachArgs) -> Result<VolumeConnection> {
        let args = VolumeArgs {
            volume_id: a.volume_id,
            new_size_gb: None,
        };
        rpc::call(
            &*self.bus,
            &Topic::volume(),
            rpc::INITIALIZE_CONNECTION,
            &args,
            self.config.call_timeout,
        )
        .await
    }

    pub(super) async fn attach_volume(&self, a: VolumeAttachArgs) -> Result<()> {
        let conn = self.connection(&a).await?;
        self.driver
            .attach_volume(&a.instance_id, &conn, &a.device)
            .await?;
        let at = VolumeAttachment {
            instance_id: a.instance_id,
            device: a.device.clone(),
            attached_at: SystemTime::now(),
        };
        if let Err(e) = self.db.attach_volume(&a.volume_id, &at).await {
            let _ = self
                .driver
                .detach_volume(&a.instance_id, &a.volume_id)
                .await;
            return Err(e);
        }
        Ok(())
    }

    pub(super) async fn detach_volume(&self, a: VolumeAttachArgs) -> Result<()> {
        match self
            .driver
            .detach_volume(&a.instance_id, &a.volume_id)
            .await
        {
            Ok(()) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        self.db.detach_volume(&a.volume_id, &a.instance_id).await?;
        Ok(())
    }

    /// The instance as the destination must recreate it.
    async fn migration_request(&self, a: &LiveMigrateArgs) -> Result<SpawnRequest> {
        let i = self
            .instance(&a.instance_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("instance {}", a.instance_id)))?;
        let mut req = self.spawn_request(&i).await?;
        for f in self.db.fixed_ips_of(&i.id).await? {
            let net = self.db.get_network(&f.network_id).await?;
            req.vifs.push(Vif {
                mac: f.mac,
                address: Some(f.address),
                bridge: net.bridge,
                network: net.label,
            });
        }
        for v in self.db.list_volumes(Some(&i.project_id)).await? {
            if let Some(at) = v.attachment.filter(|at| at.instance_id == i.id) {
                let args = VolumeAttachArgs {
                    ctx: a.ctx.clone(),
                    instance_id: i.id,
                    volume_id: v.id,
                    device: at.device.clone(),
                };
                req.volumes.push((at.device, self.connection(&args).await?));
            }
        }
        Ok(req)
    }

    async fn on_dest<T: serde::de::DeserializeOwned>(
        &self,
        dest: &crate::model::HostName,
        method: &str,
        args: &MigrationStepArgs,
    ) -> Result<T> {
        rpc::call(
            &*self.bus,
            &Topic::compute_host(dest),
            method,
            args,
            self.config.call_timeout,
        )
        .await
    }

    /// Source side: check and prepare the destination, move the guest,
    /// finish both ends, then record the new host. Any failure leaves the
    /// instance running here, `active`.
    pub(super) async fn live_migrate(&self, a: LiveMigrateArgs) -> Result<()> {
        let id = a.instance_id;
        let outcome = self.try_live_migrate(&a).await;
        let power = self
            .driver
            .instance_info(&id)
            .await
            .map(|i| i.power_state)
            .unwrap_or(PowerState::Running);
        match outcome {
            Ok(()) => {
                let dest = a.dest.clone();
                self.update(&id, Some(TaskState::Migrating), |i| {
                    i.host = Some(dest.clone());
                    i.settle(VmState::Active, PowerState::Running);
                })
                .await?;
                self.refresh_resources().await;
                Ok(())
            }
            Err(e) => {
                self.update(&id, Some(TaskState::Migrating), |i| {
                    i.settle(VmState::Active, power);
                })
                .await?;
                Err(e)
            }
        }
    }

    async fn try_live_migrate(&self, a: &LiveMigrateArgs) -> Result<()> {
        let req = self.migration_request(a).await?;
        let mut step = MigrationStepArgs {
            req,
            block_migration: a.block_migration,
            data: None,
        };
        let data: MigrateData = self
            .on_dest(&a.dest, rpc::CHECK_CAN_LIVE_MIGRATE, &step)
            .await?;
        step.data = Some(data);
        let data: MigrateData = match self.on_dest(&a.dest, rpc::PRE_LIVE_MIGRATION, &step).await {
            Ok(d) => d,
            Err(e) => {
                self.rollback_dest(a, &step).await;
                return Err(e);
            }
        };
        if let Err(e) = self.driver.live_migrate(&a.instance_id, &data).await {
            self.rollback_dest(a, &step).await;
            return Err(e);
        }
        self.driver
            .post_live_migration(&a.instance_id, MigrationSide::Source)
            .await?;
        let () = self
            .on_dest(&a.dest, rpc::POST_LIVE_MIGRATION_AT_DEST, &step)
            .await?;
        Ok(())
    }

    async fn rollback_dest(&self, a: &LiveMigrateArgs, step: &MigrationStepArgs) {
        let _: Result<()> = self
            .on_dest(&a.dest, rpc::ROLLBACK_LIVE_MIGRATION_AT_DEST, step)
            .await;
    }
}
