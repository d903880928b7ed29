//! Volumes and their attachments.

use super::{require_admin, AttachmentInfo, ComputeApi, RequestContext};
use crate::bus::Topic;
use crate::error::{Error, Result};
use crate::model::{
    InstanceAction, InstanceId, QuotaResource, Volume, VolumeId, VolumeStatus, ZoneName,
};
use crate::service::rpc::{self, VolumeArgs, VolumeAttachArgs};

/// The quota a volume of `size_gb` takes.
pub(crate) fn volume_quota(size_gb: u64) -> [(QuotaResource, u64); 2] {
    [
        (QuotaResource::Volumes, 1),
        (QuotaResource::Gigabytes, size_gb),
    ]
}

impl ComputeApi {
    /// Creates a volume (quota `volumes` and `gigabytes`); the volume
    /// service makes it `available`.
    pub async fn create_volume(
        &self,
        ctx: &RequestContext,
        size_gb: u64,
        name: Option<String>,
        zone: Option<ZoneName>,
    ) -> Result<Volume> {
        let mut v = Volume::new(ctx.project_id.clone(), size_gb, name)?;
        if let Some(z) = zone {
            v.zone = z;
        }
        let deltas = volume_quota(size_gb);
        self.db.reserve_quota(&ctx.project_id, &deltas).await?;
        if let Err(e) = self.db.create_volume(&v).await {
            let _ = self.db.rollback_quota(&ctx.project_id, &deltas).await;
            return Err(e);
        }
        self.db.commit_quota(&ctx.project_id, &deltas).await?;
        let args = VolumeArgs {
            volume_id: v.id,
            new_size_gb: None,
        };
        rpc::cast(&*self.bus, &Topic::volume(), rpc::CREATE_VOLUME, &args).await?;
        Ok(v)
    }

    /// One volume the caller may see.
    pub async fn get_volume(&self, ctx: &RequestContext, id: &VolumeId) -> Result<Volume> {
        match self.db.get_volume(id).await {
            Ok(v) if ctx.can_access(&v.project_id) => Ok(v),
            Ok(_) | Err(Error::NotFound { .. }) => {
                Err(Error::not_found(format!("Volume {id} could not be found.")))
            }
            Err(e) => Err(e),
        }
    }

    /// Volumes the caller may see (admin: `all_projects`).
    pub async fn list_volumes(
        &self,
        ctx: &RequestContext,
        all_projects: bool,
    ) -> Result<Vec<Volume>> {
        if all_projects {
            require_admin(ctx, "volume:get_all_tenants")?;
            self.db.list_volumes(None).await
        } else {
            self.db.list_volumes(Some(&ctx.project_id)).await
        }
    }

    /// Deletes a volume (Conflict while attached); the volume service
    /// removes its data, the record and the quota it holds.
    pub async fn delete_volume(&self, ctx: &RequestContext, id: &VolumeId) -> Result<()> {
        let mut v = self.get_volume(ctx, id).await?;
        v.check_deletable()?;
        v.status = VolumeStatus::Deleting;
        self.db.update_volume(&v).await?;
        let args = VolumeArgs {
            volume_id: *id,
            new_size_gb: None,
        };
        rpc::cast(&*self.bus, &Topic::volume(), rpc::DELETE_VOLUME, &args).await
    }

    /// Grows an available volume to `new_size_gb` (quota `gigabytes`);
    /// returns the volume once the volume service grew it. InvalidInput
    /// unless larger, Conflict unless `available`.
    pub async fn extend_volume(
        &self,
        ctx: &RequestContext,
        id: &VolumeId,
        new_size_gb: u64,
    ) -> Result<Volume> {
        let v = self.get_volume(ctx, id).await?;
        v.check_extend(new_size_gb)?;
        let args = VolumeArgs {
            volume_id: *id,
            new_size_gb: Some(new_size_gb),
        };
        let () = rpc::call(
            &*self.bus,
            &Topic::volume(),
            rpc::EXTEND_VOLUME,
            &args,
            self.config.call_timeout,
        )
        .await?;
        self.get_volume(ctx, id).await
    }

    /// Attaches a volume to a server (Conflict when in use); returns once
    /// the compute host attached it.
    pub async fn attach_volume(
        &self,
        ctx: &RequestContext,
        server: &InstanceId,
        volume: &VolumeId,
        device: Option<String>,
    ) -> Result<AttachmentInfo> {
        let i = self.get_server(ctx, server).await?;
        let mut v = self.get_volume(ctx, volume).await?;
        i.check_action(InstanceAction::AttachVolume)?;
        let host = i
            .host
            .clone()
            .ok_or_else(|| Error::conflict(format!("instance {server} has no host")))?;
        let attached = self.list_attachments(ctx, server).await?;
        let device = match device {
            Some(d) if attached.iter().any(|a| a.device == d) => {
                return Err(Error::conflict(format!("device {d} is in use")))
            }
            Some(d) => d,
            None => next_device(&attached),
        };
        v.begin_attach()?;
        self.db.update_volume(&v).await?;
        let args = VolumeAttachArgs {
            ctx: ctx.clone(),
            instance_id: *server,
            volume_id: *volume,
            device: device.clone(),
        };
        let topic = Topic::compute_host(&host);
        let r: Result<()> = rpc::call(
            &*self.bus,
            &topic,
            rpc::ATTACH_VOLUME,
            &args,
            self.config.call_timeout,
        )
        .await;
        if let Err(e) = r {
            if let Ok(mut v) = self.db.get_volume(volume).await {
                if v.attachment.is_none() {
                    v.attach_failed();
                    let _ = self.db.update_volume(&v).await;
                }
            }
            return Err(e);
        }
        Ok(AttachmentInfo {
            volume_id: *volume,
            server_id: *server,
            device,
        })
    }

    /// Detaches a volume from a server; returns once the host detached it.
    pub async fn detach_volume(
        &self,
        ctx: &RequestContext,
        server: &InstanceId,
        volume: &VolumeId,
    ) -> Result<()> {
        let i = self.get_server(ctx, server).await?;
        let mut v = self.get_volume(ctx, volume).await?;
        i.check_action(InstanceAction::DetachVolume)?;
        let host = i
            .host
            .clone()
            .ok_or_else(|| Error::conflict(format!("instance {server} has no host")))?;
        v.begin_detach(*server).map_err(|_| {
            Error::not_found(format!("volume {volume} is not attached to {server}"))
        })?;
        self.db.update_volume(&v).await?;
        let args = VolumeAttachArgs {
            ctx: ctx.clone(),
            instance_id: *server,
            volume_id: *volume,
            device: String::new(),
        };
        let topic = Topic::compute_host(&host);
        let r: Result<()> = rpc::call(
            &*self.bus,
            &topic,
            rpc::DETACH_VOLUME,
            &args,
            self.config.call_timeout,
        )
        .await;
        if let Err(e) = r {
            if let Ok(mut v) = self.db.get_volume(volume).await {
                if v.status == VolumeStatus::Detaching {
                    v.status = VolumeStatus::InUse;
                    let _ = self.db.update_volume(&v).await;
                }
            }
            return Err(e);
        }
        Ok(())
    }

    /// Volumes attached to a server.
    pub async fn list_attachments(
        &self,
        ctx: &RequestContext,
        server: &InstanceId,
    ) -> Result<Vec<AttachmentInfo>> {
        let i = self.get_server(ctx, server).await?;
        let vols = self.db.list_volumes(Some(&i.project_id)).await?;
        Ok(vols
            .into_iter()
            .filter_map(|v| {
                let a = v.attachment?;
                (a.instance_id == *server).then_some(AttachmentInfo {
                    volume_id: v.id,
                    server_id: *server,
                    device: a.device,
                })
            })
            .collect())
    }
}

/// The first free `/dev/vdX` after the root disk `/dev/vda`.
fn next_device(attached: &[AttachmentInfo]) -> String {
    (b'b'..=b'z')
        .map(|c| format!("/dev/vd{}", char::from(c)))
        .find(|d| attached.iter().all(|a| &a.device != d))
        .unwrap_or_else(|| "/dev/vdz".into())
}
