//! How an instance looks in EC2: its state code and name, and the
//! `<item>` of `instancesSet` with the members boto3 reads.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use nova_core::model::{Ec2Kind, FloatingIp, Instance, TaskState, VmState};

use super::error::Ec2Result;
use super::ids::{instance_ec2, volume_ec2};
use super::time::iso;
use super::xml::Xml;
use super::Call;

/// EC2's state of an instance: `(code, name)`.
pub(crate) fn state_of(i: &Instance) -> (u16, &'static str) {
    match i.task_state {
        Some(TaskState::Deleting) => return (32, "shutting-down"),
        Some(TaskState::PoweringOff) => return (64, "stopping"),
        Some(TaskState::PoweringOn) => return (0, "pending"),
        _ => {}
    }
    match i.vm_state {
        VmState::Building => (0, "pending"),
        VmState::Active | VmState::Rescued | VmState::Resized => (16, "running"),
        VmState::Stopped
        | VmState::Paused
        | VmState::Suspended
        | VmState::Shelved
        | VmState::ShelvedOffloaded => (80, "stopped"),
        VmState::Deleted | VmState::SoftDeleted | VmState::Error => (48, "terminated"),
    }
}

/// An instance with everything its EC2 view shows, resolved.
#[derive(Debug, Clone)]
pub(crate) struct InstanceView {
    pub(crate) instance: Instance,
    pub(crate) ec2_id: String,
    pub(crate) image_id: Option<String>,
    pub(crate) instance_type: String,
    pub(crate) private_ip: Option<Ipv4Addr>,
    pub(crate) public_ip: Option<Ipv4Addr>,
    /// `(sg- id, name)` of its groups.
    pub(crate) groups: Vec<(String, String)>,
    /// `(device, vol- id, attach time)`.
    pub(crate) volumes: Vec<(String, String, String)>,
}

/// Flavor names by id, read once per request.
pub(crate) async fn flavor_names(c: &Call<'_>) -> Ec2Result<BTreeMap<String, String>> {
    Ok(c.api
        .list_flavors(&c.ctx)
        .await?
        .into_iter()
        .map(|f| (f.id.to_string(), f.name))
        .collect())
}

/// Resolves the view of each instance.
pub(crate) async fn views(c: &Call<'_>, instances: Vec<Instance>) -> Ec2Result<Vec<InstanceView>> {
    let flavors = flavor_names(c).await?;
    let floating: Vec<FloatingIp> = c
        .api
        .db()
        .list_floating_ips(Some(&c.ctx.project_id))
        .await?;
    let groups = c
        .api
        .db()
        .list_security_groups(Some(&c.ctx.project_id))
        .await?;
    let all_volumes = c.api.db().list_volumes(Some(&c.ctx.project_id)).await?;
    let mut out = Vec::with_capacity(instances.len());
    for i in instances {
        let ec2_id = instance_ec2(c, &i.id).await?;
        let image_id = match &i.image_ref {
            Some(img) => Some(c.api.db().ec2_id(Ec2Kind::Image, img).await?),
            None => None,
        };
        let fixed = c.api.db().fixed_ips_of(&i.id).await?;
        let private_ip = fixed.first().map(|f| f.address);
        let public_ip = floating
            .iter()
            .find(|f| f.instance_id == Some(i.id))
            .map(|f| f.address);
        let mut gs = Vec::new();
        for name in &i.security_groups {
            if let Some(g) = groups.iter().find(|g| &g.name == name) {
                gs.push((
                    c.api.db().ec2_id(Ec2Kind::SecurityGroup, &g.id).await?,
                    name.clone(),
                ));
            }
        }
        let mut volumes = Vec::new();
        for v in &all_volumes {
            if let Some(a) = v.attachment.as_ref().filter(|a| a.instance_id == i.id) {
                volumes.push((
                    a.device.clone(),
                    volume_ec2(c, &v.id).await?,
                    iso(a.attached_at),
                ));
            }
        }
        out.push(InstanceView {
            instance_type: flavors
                .get(i.flavor_id.as_str())
                .cloned()
                .unwrap_or_else(|| i.flavor_id.to_string()),
            ec2_id,
            image_id,
            private_ip,
            public_ip,
            groups: gs,
            volumes,
            instance: i,
        });
    }
    Ok(out)
}

/// The DescribeInstances filters [`filter_values`] knows.
pub(crate) const INSTANCE_FILTERS: [&str; 15] = [
    "instance-id",
    "instance-state-name",
    "instance-state-code",
    "instance-type",
    "image-id",
    "key-name",
    "availability-zone",
    "reservation-id",
    "owner-id",
    "private-ip-address",
    "ip-address",
    "group-name",
    "instance.group-name",
    "group-id",
    "instance.group-id",
];

/// Values of a DescribeInstances filter for `v`; `None` for an unknown name.
pub(crate) fn filter_values(v: &InstanceView, name: &str) -> Option<Vec<String>> {
    let i = &v.instance;
    let (code, state) = state_of(i);
    let one = |s: Option<String>| Some(s.into_iter().collect());
    match name {
        "instance-id" => one(Some(v.ec2_id.clone())),
        "instance-state-name" => one(Some(state.to_owned())),
        "instance-state-code" => one(Some(code.to_string())),
        "instance-type" => one(Some(v.instance_type.clone())),
        "image-id" => one(v.image_id.clone()),
        "key-name" => one(i.key_name.clone()),
        "availability-zone" => one(i.availability_zone.as_ref().map(|z| z.to_string())),
        "reservation-id" => one(Some(i.reservation_id.clone())),
        "owner-id" => one(Some(i.project_id.to_string())),
        "private-ip-address" => one(v.private_ip.map(|a| a.to_string())),
        "ip-address" => one(v.public_ip.map(|a| a.to_string())),
        "group-name" | "instance.group-name" => {
            Some(v.groups.iter().map(|g| g.1.clone()).collect())
        }
        "group-id" | "instance.group-id" => Some(v.groups.iter().map(|g| g.0.clone()).collect()),
        _ => None,
    }
}

/// Writes the members of one `instancesSet` item.
pub(crate) fn write_instance(x: &mut Xml, v: &InstanceView) {
    let i = &v.instance;
    let (code, name) = state_of(i);
    let private_dns = v
        .private_ip
        .map(|a| format!("ip-{}", a.to_string().replace('.', "-")))
        .unwrap_or_default();
    x.leaf("instanceId", &v.ec2_id)
        .opt("imageId", v.image_id.as_ref())
        .node("instanceState", |x| {
            x.leaf("code", code).leaf("name", name);
        })
        .leaf("privateDnsName", private_dns)
        .leaf(
            "dnsName",
            v.public_ip.map(|a| a.to_string()).unwrap_or_default(),
        )
        .leaf(
            "reason",
            i.fault
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default(),
        )
        .opt("keyName", i.key_name.as_ref())
        .leaf("amiLaunchIndex", i.launch_index)
        .empty("productCodes")
        .leaf("instanceType", &v.instance_type)
        .leaf("launchTime", iso(i.launched_at.unwrap_or(i.created_at)))
        .node("placement", |x| {
            let zone = i
                .availability_zone
                .as_ref()
                .map(|z| z.to_string())
                .unwrap_or_default();
            x.leaf("availabilityZone", zone).leaf("tenancy", "default");
        })
        .node("monitoring", |x| {
            x.leaf("state", "disabled");
        })
        .opt("privateIpAddress", v.private_ip)
        .opt("ipAddress", v.public_ip)
        .list("groupSet", &v.groups, |x, (id, name)| {
            x.leaf("groupId", id).leaf("groupName", name);
        })
        .leaf("architecture", "x86_64")
        .leaf("rootDeviceType", "instance-store")
        .leaf("rootDeviceName", "/dev/vda")
        .list("blockDeviceMapping", &v.volumes, |x, (dev, vol, at)| {
            x.leaf("deviceName", dev).node("ebs", |x| {
                x.leaf("volumeId", vol)
                    .leaf("status", "attached")
                    .leaf("attachTime", at)
                    .leaf("deleteOnTermination", false);
            });
        })
        .leaf("virtualizationType", "hvm")
        .leaf("hypervisor", "xen")
        .empty("tagSet");
}

/// Writes one `reservationSet` item (or RunInstances' members).
pub(crate) fn write_reservation(
    x: &mut Xml,
    reservation: &str,
    owner: &str,
    items: &[&InstanceView],
) {
    x.leaf("reservationId", reservation)
        .leaf("ownerId", owner)
        .empty("groupSet")
        .list("instancesSet", items, |x, v| write_instance(x, v));
}
