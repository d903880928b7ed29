//! DescribeImages: Glance images as `ami-` (machine), `aki-` (kernel) and
//! `ari-` (ramdisk) ids.

use nova_core::image::ImageInfo;
use nova_core::model::Ec2Kind;

use super::error::{Ec2Error, Ec2Result};
use super::parse::apply_filters;
use super::xml::Xml;
use super::Call;

/// The EC2 kind of an image, from its disk/container format.
pub(crate) fn kind_of(i: &ImageInfo) -> Ec2Kind {
    let f = i.container_format.as_deref().or(i.disk_format.as_deref());
    match f {
        Some("aki") => Ec2Kind::Kernel,
        Some("ari") => Ec2Kind::Ramdisk,
        _ => Ec2Kind::Image,
    }
}

fn image_type(k: Ec2Kind) -> &'static str {
    match k {
        Ec2Kind::Kernel => "kernel",
        Ec2Kind::Ramdisk => "ramdisk",
        _ => "machine",
    }
}

fn state(i: &ImageInfo) -> &'static str {
    match i.status.as_str() {
        "active" => "available",
        "killed" | "deleted" | "pending_delete" => "failed",
        _ => "pending",
    }
}

/// The images the caller sees with their (now persisted) EC2 ids.
pub(crate) async fn assign_ids(c: &Call<'_>) -> Ec2Result<Vec<(String, Ec2Kind, ImageInfo)>> {
    let images = c.api.images().list(&c.ctx).await?;
    let mut items = Vec::with_capacity(images.len());
    for i in images {
        let kind = kind_of(&i);
        let id = c.api.db().ec2_id(kind, &i.id).await?;
        items.push((id, kind, i));
    }
    Ok(items)
}

pub(crate) async fn describe(c: &Call<'_>) -> Ec2Result<String> {
    let mut items = assign_ids(c).await?;
    let wanted = c.params.list("ImageId");
    if !wanted.is_empty() {
        for w in &wanted {
            if Ec2Kind::of_id(w).is_none() {
                return Err(Ec2Error::client(
                    "InvalidAMIID.Malformed",
                    format!("Invalid id: \"{w}\""),
                ));
            }
            if !items.iter().any(|(id, _, _)| id == w) {
                return Err(Ec2Error::client(
                    "InvalidAMIID.NotFound",
                    format!("The image id '[{w}]' does not exist"),
                ));
            }
        }
        items.retain(|(id, _, _)| wanted.contains(id));
    }
    let owners = c.params.list("Owner");
    if !owners.is_empty() {
        let me = c.ctx.project_id.to_string();
        items.retain(|(_, _, i)| {
            let owner = i.owner.clone().unwrap_or_default();
            owners
                .iter()
                .any(|o| *o == owner || (o == "self" && owner == me))
        });
    }
    let items = apply_filters(
        items,
        &c.params.filters_of(&[
            "image-id",
            "name",
            "state",
            "image-type",
            "owner-id",
            "is-public",
        ])?,
        |(id, k, i), name| match name {
            "image-id" => Some(vec![id.clone()]),
            "name" => Some(i.name.clone().into_iter().collect()),
            "state" => Some(vec![state(i).to_owned()]),
            "image-type" => Some(vec![image_type(*k).to_owned()]),
            "owner-id" => Some(i.owner.clone().into_iter().collect()),
            "is-public" => Some(vec![(i.visibility == "public").to_string()]),
            _ => None,
        },
    )?;
    let mut x = Xml::new();
    x.list("imagesSet", &items, |x, (id, kind, i)| {
        let name = i.name.clone().unwrap_or_default();
        x.leaf("imageId", id)
            .leaf(
                "imageLocation",
                format!("{}/{name}", i.owner.as_deref().unwrap_or("")),
            )
            .leaf("imageState", state(i))
            .leaf("imageOwnerId", i.owner.as_deref().unwrap_or(""))
            .leaf("isPublic", i.visibility == "public")
            .leaf(
                "architecture",
                i.properties
                    .get("architecture")
                    .map_or("x86_64", String::as_str),
            )
            .leaf("imageType", image_type(*kind))
            .leaf("name", &name)
            .leaf("rootDeviceType", "instance-store")
            .leaf("rootDeviceName", "/dev/vda")
            .empty("blockDeviceMapping")
            .leaf("virtualizationType", "hvm")
            .leaf("hypervisor", "xen");
    });
    Ok(x.into_inner())
}
