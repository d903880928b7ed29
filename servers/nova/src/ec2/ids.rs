//! EC2 ids of our resources, through nova-core's persisted map.

use nova_core::model::{Ec2Kind, InstanceId, VolumeId};

use super::error::{Ec2Error, Ec2Result};
use super::Call;

/// The `i-` id of an instance.
pub(crate) async fn instance_ec2(c: &Call<'_>, id: &InstanceId) -> Ec2Result<String> {
    Ok(c.api
        .db()
        .ec2_id(Ec2Kind::Instance, &id.to_string())
        .await?)
}

/// The `vol-` id of a volume.
pub(crate) async fn volume_ec2(c: &Call<'_>, id: &VolumeId) -> Ec2Result<String> {
    Ok(c.api.db().ec2_id(Ec2Kind::Volume, &id.to_string()).await?)
}

/// The UUID behind an EC2 id of one of `kinds`: `{malformed}` for an id
/// that is not one of them, `{not_found}` for one never handed out.
pub(crate) async fn resolve(
    c: &Call<'_>,
    id: &str,
    kinds: &[Ec2Kind],
    malformed: &str,
    not_found: &str,
) -> Ec2Result<String> {
    let kind_ok = Ec2Kind::of_id(id).is_some_and(|k| kinds.contains(&k));
    if !kind_ok {
        return Err(Ec2Error::client(malformed, format!("Invalid id: \"{id}\"")));
    }
    let nf = || Ec2Error::client(not_found, format!("The ID '{id}' does not exist"));
    match c.api.db().resolve_ec2_id(id).await {
        Ok((k, uuid)) if kinds.contains(&k) => Ok(uuid),
        Ok(_) | Err(nova_core::Error::NotFound { .. }) => Err(nf()),
        Err(e) => Err(e.into()),
    }
}

/// The instance an `i-` id names (existence is checked by the caller).
pub(crate) async fn instance_id(c: &Call<'_>, id: &str) -> Ec2Result<InstanceId> {
    let uuid = resolve(
        c,
        id,
        &[Ec2Kind::Instance],
        "InvalidInstanceID.Malformed",
        "InvalidInstanceID.NotFound",
    )
    .await?;
    uuid.parse().map_err(|_| {
        Ec2Error::client(
            "InvalidInstanceID.NotFound",
            format!("The instance ID '{id}' does not exist"),
        )
    })
}

/// The volume a `vol-` id names.
pub(crate) async fn volume_id(c: &Call<'_>, id: &str) -> Ec2Result<VolumeId> {
    let uuid = resolve(
        c,
        id,
        &[Ec2Kind::Volume],
        "InvalidVolumeID.Malformed",
        "InvalidVolume.NotFound",
    )
    .await?;
    uuid.parse().map_err(|_| {
        Ec2Error::client(
            "InvalidVolume.NotFound",
            format!("The volume '{id}' does not exist"),
        )
    })
}
