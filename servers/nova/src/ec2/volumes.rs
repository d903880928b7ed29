//! Create/Delete/Describe/Attach/DetachVolume.

use nova_core::model::{Volume, VolumeStatus, ZoneName};

use super::error::{Ec2Error, Ec2Result};
use super::ids::{instance_ec2, instance_id, volume_ec2, volume_id};
use super::parse::apply_filters;
use super::time::iso;
use super::xml::Xml;
use super::{returns_true, Call};

fn volume_error(e: nova_core::Error) -> Ec2Error {
    Ec2Error::from(e)
        .not_found_as("InvalidVolume.NotFound")
        .conflict_as("VolumeInUse")
}

/// EC2's volume status.
fn status(v: &Volume) -> &'static str {
    match v.status {
        VolumeStatus::Creating => "creating",
        VolumeStatus::Available => "available",
        VolumeStatus::Attaching
        | VolumeStatus::InUse
        | VolumeStatus::Detaching
        | VolumeStatus::Extending => "in-use",
        VolumeStatus::Deleting => "deleting",
        VolumeStatus::Error => "error",
    }
}

fn attach_status(v: &Volume) -> &'static str {
    match v.status {
        VolumeStatus::Attaching => "attaching",
        VolumeStatus::Detaching => "detaching",
        _ => "attached",
    }
}

/// A volume with its EC2 ids resolved.
struct View {
    id: String,
    /// `(i- id, device, attach time)`.
    attachment: Option<(String, String, String)>,
    volume: Volume,
}

async fn view(c: &Call<'_>, v: Volume) -> Ec2Result<View> {
    let attachment = match &v.attachment {
        Some(a) => Some((
            instance_ec2(c, &a.instance_id).await?,
            a.device.clone(),
            iso(a.attached_at),
        )),
        None => None,
    };
    Ok(View {
        id: volume_ec2(c, &v.id).await?,
        attachment,
        volume: v,
    })
}

fn write_volume(x: &mut Xml, v: &View) {
    x.leaf("volumeId", &v.id)
        .leaf("size", v.volume.size_gb)
        .empty("snapshotId")
        .leaf("availabilityZone", v.volume.zone.as_str())
        .leaf("status", status(&v.volume))
        .leaf("createTime", iso(v.volume.created_at))
        .leaf("volumeType", "standard")
        .leaf("encrypted", false)
        .list(
            "attachmentSet",
            v.attachment.iter(),
            |x, (inst, dev, at)| {
                x.leaf("volumeId", &v.id)
                    .leaf("instanceId", inst)
                    .leaf("device", dev)
                    .leaf("status", attach_status(&v.volume))
                    .leaf("attachTime", at)
                    .leaf("deleteOnTermination", false);
            },
        )
        .empty("tagSet");
}

pub(crate) async fn create(c: &Call<'_>) -> Ec2Result<String> {
    if c.params.get("SnapshotId").is_some_and(|s| !s.is_empty()) {
        return Err(Ec2Error::client(
            "UnsupportedOperation",
            "Volumes from snapshots are not supported",
        ));
    }
    let size = c
        .params
        .int("Size")?
        .ok_or_else(|| Ec2Error::missing("Size"))?;
    let size = u64::try_from(size)
        .ok()
        .filter(|s| (1..=16384).contains(s))
        .ok_or_else(|| Ec2Error::invalid("Size", &size.to_string()))?;
    let zone = match c.params.get("AvailabilityZone") {
        Some(z) => Some(ZoneName::new(z).map_err(|_| Ec2Error::invalid("AvailabilityZone", z))?),
        None => None,
    };
    let v = c
        .api
        .create_volume(&c.ctx, size, None, zone)
        .await
        .map_err(|e| Ec2Error::from(e).not_found_as("InvalidParameterValue"))?;
    let mut x = Xml::new();
    write_volume(&mut x, &view(c, v).await?);
    Ok(x.into_inner())
}

pub(crate) async fn delete(c: &Call<'_>) -> Ec2Result<String> {
    let id = volume_id(c, c.params.required("VolumeId")?).await?;
    c.api
        .delete_volume(&c.ctx, &id)
        .await
        .map_err(volume_error)?;
    Ok(returns_true())
}

pub(crate) async fn describe(c: &Call<'_>) -> Ec2Result<String> {
    let wanted = c.params.list("VolumeId");
    let mut ids = Vec::with_capacity(wanted.len());
    for w in &wanted {
        ids.push(volume_id(c, w).await?);
    }
    let mut all = c
        .api
        .list_volumes(&c.ctx, false)
        .await
        .map_err(volume_error)?;
    if !ids.is_empty() {
        if let Some((_, name)) = ids
            .iter()
            .zip(&wanted)
            .find(|(id, _)| !all.iter().any(|v| &v.id == *id))
        {
            return Err(Ec2Error::client(
                "InvalidVolume.NotFound",
                format!("The volume '{name}' does not exist."),
            ));
        }
        all.retain(|v| ids.contains(&v.id));
    }
    let mut views = Vec::with_capacity(all.len());
    for v in all {
        views.push(view(c, v).await?);
    }
    let views = apply_filters(
        views,
        &c.params.filters_of(&[
            "volume-id",
            "status",
            "size",
            "availability-zone",
            "attachment.instance-id",
            "attachment.device",
        ])?,
        |v, name| match name {
            "volume-id" => Some(vec![v.id.clone()]),
            "status" => Some(vec![status(&v.volume).to_owned()]),
            "size" => Some(vec![v.volume.size_gb.to_string()]),
            "availability-zone" => Some(vec![v.volume.zone.to_string()]),
            "attachment.instance-id" => Some(v.attachment.iter().map(|a| a.0.clone()).collect()),
            "attachment.device" => Some(v.attachment.iter().map(|a| a.1.clone()).collect()),
            _ => None,
        },
    )?;
    let mut x = Xml::new();
    x.list("volumeSet", &views, write_volume);
    Ok(x.into_inner())
}

fn write_attachment(x: &mut Xml, vol: &str, inst: &str, device: &str, status: &str) {
    x.leaf("volumeId", vol)
        .leaf("instanceId", inst)
        .leaf("device", device)
        .leaf("status", status)
        .leaf("attachTime", iso(std::time::SystemTime::now()));
}

pub(crate) async fn attach(c: &Call<'_>) -> Ec2Result<String> {
    let vol = c.params.required("VolumeId")?;
    let inst = c.params.required("InstanceId")?;
    let device = c.params.required("Device")?;
    let (v, i) = (volume_id(c, vol).await?, instance_id(c, inst).await?);
    let a = c
        .api
        .attach_volume(&c.ctx, &i, &v, Some(device.to_owned()))
        .await
        .map_err(|e| match e {
            nova_core::Error::NotFound { ref what } if what.contains("instance") => {
                Ec2Error::from(e).not_found_as("InvalidInstanceID.NotFound")
            }
            e => volume_error(e).conflict_as("VolumeInUse"),
        })?;
    let mut x = Xml::new();
    write_attachment(&mut x, vol, inst, &a.device, "attaching");
    Ok(x.into_inner())
}

pub(crate) async fn detach(c: &Call<'_>) -> Ec2Result<String> {
    let vol = c.params.required("VolumeId")?;
    let v = volume_id(c, vol).await?;
    let current = c.api.get_volume(&c.ctx, &v).await.map_err(volume_error)?;
    let Some(att) = current.attachment else {
        return Err(Ec2Error::client(
            "IncorrectState",
            format!("Volume '{vol}' is not attached"),
        ));
    };
    let inst = instance_ec2(c, &att.instance_id).await?;
    if let Some(asked) = c.params.get("InstanceId") {
        if asked != inst {
            return Err(Ec2Error::client(
                "InvalidAttachment.NotFound",
                format!("Volume '{vol}' is not attached to '{asked}'"),
            ));
        }
    }
    c.api
        .detach_volume(&c.ctx, &att.instance_id, &v)
        .await
        .map_err(|e| volume_error(e).conflict_as("IncorrectState"))?;
    let mut x = Xml::new();
    write_attachment(&mut x, vol, &inst, &att.device, "detaching");
    Ok(x.into_inner())
}
