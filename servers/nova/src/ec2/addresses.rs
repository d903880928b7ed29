//! Allocate/Associate/Disassociate/Release/DescribeAddresses over floating
//! IPs. Allocation ids are `eipalloc-…` (persisted ids of the floating
//! IP); association ids are `eipassoc-` with the same digits.

use nova_core::model::{Ec2Kind, FloatingIp};

use super::error::{Ec2Error, Ec2Result};
use super::ids::{instance_ec2, instance_id};
use super::parse::apply_filters;
use super::xml::Xml;
use super::{returns_true, Call};

fn address_error(e: nova_core::Error) -> Ec2Error {
    Ec2Error::from(e)
        .not_found_as("InvalidAddress.NotFound")
        .conflict_as("InvalidIPAddress.InUse")
}

async fn allocation_id(c: &Call<'_>, f: &FloatingIp) -> Ec2Result<String> {
    Ok(c.api
        .db()
        .ec2_id(Ec2Kind::Address, &f.id.to_string())
        .await?)
}

fn association_of(allocation: &str) -> String {
    allocation.replacen("eipalloc-", "eipassoc-", 1)
}

/// The caller's floating IP named by `PublicIp`, `AllocationId` or
/// `AssociationId` (whichever is given).
async fn find(c: &Call<'_>) -> Ec2Result<FloatingIp> {
    let all = c
        .api
        .list_floating_ips(&c.ctx, false)
        .await
        .map_err(address_error)?;
    if let Some(ip) = c.params.get("PublicIp") {
        return all
            .into_iter()
            .find(|f| f.address.to_string() == ip)
            .ok_or_else(|| {
                Ec2Error::client(
                    "InvalidAddress.NotFound",
                    format!("Address '{ip}' not found."),
                )
            });
    }
    let (wanted, code) = match (c.params.get("AllocationId"), c.params.get("AssociationId")) {
        (Some(a), _) => (a.to_owned(), "InvalidAllocationID.NotFound"),
        (None, Some(a)) => (
            a.replacen("eipassoc-", "eipalloc-", 1),
            "InvalidAssociationID.NotFound",
        ),
        (None, None) => return Err(Ec2Error::missing("PublicIp")),
    };
    for f in all {
        if allocation_id(c, &f).await? == wanted {
            return Ok(f);
        }
    }
    Err(Ec2Error::client(
        code,
        format!("The ID '{wanted}' does not exist"),
    ))
}

pub(crate) async fn allocate(c: &Call<'_>) -> Ec2Result<String> {
    let domain = c.params.get("Domain").unwrap_or("standard");
    if domain != "standard" && domain != "vpc" {
        return Err(Ec2Error::invalid("Domain", domain));
    }
    let f = c
        .api
        .allocate_floating_ip(&c.ctx, None)
        .await
        .map_err(address_error)?;
    let mut x = Xml::new();
    x.leaf("publicIp", f.address)
        .leaf("domain", domain)
        .leaf("allocationId", allocation_id(c, &f).await?);
    Ok(x.into_inner())
}

pub(crate) async fn associate(c: &Call<'_>) -> Ec2Result<String> {
    let inst = c.params.required("InstanceId")?;
    let server = instance_id(c, inst).await?;
    let f = find(c).await?;
    if f.instance_id.is_some() && c.params.bool("AllowReassociation")? == Some(true) {
        c.api
            .disassociate_floating_ip(&c.ctx, &f.id)
            .await
            .map_err(address_error)?;
    }
    c.api
        .associate_floating_ip(&c.ctx, &f.id, &server, None)
        .await
        .map_err(|e| address_error(e).not_found_as("InvalidInstanceID.NotFound"))?;
    let mut x = Xml::new();
    x.leaf("return", true).leaf(
        "associationId",
        association_of(&allocation_id(c, &f).await?),
    );
    Ok(x.into_inner())
}

pub(crate) async fn disassociate(c: &Call<'_>) -> Ec2Result<String> {
    let f = find(c).await?;
    c.api
        .disassociate_floating_ip(&c.ctx, &f.id)
        .await
        .map_err(|e| address_error(e).conflict_as("InvalidAssociationID.NotFound"))?;
    Ok(returns_true())
}

pub(crate) async fn release(c: &Call<'_>) -> Ec2Result<String> {
    let f = find(c).await?;
    c.api
        .release_floating_ip(&c.ctx, &f.id)
        .await
        .map_err(|e| address_error(e).conflict_as("InvalidIPAddress.InUse"))?;
    Ok(returns_true())
}

/// A floating IP with its EC2 ids.
struct View {
    allocation: String,
    instance: Option<String>,
    ip: FloatingIp,
}

pub(crate) async fn describe(c: &Call<'_>) -> Ec2Result<String> {
    let all = c
        .api
        .list_floating_ips(&c.ctx, false)
        .await
        .map_err(address_error)?;
    let mut views = Vec::with_capacity(all.len());
    for f in all {
        let instance = match &f.instance_id {
            Some(i) => Some(instance_ec2(c, i).await?),
            None => None,
        };
        views.push(View {
            allocation: allocation_id(c, &f).await?,
            instance,
            ip: f,
        });
    }
    for ip in c.params.list("PublicIp") {
        if !views.iter().any(|v| v.ip.address.to_string() == ip) {
            return Err(Ec2Error::client(
                "InvalidAddress.NotFound",
                format!("Address '{ip}' not found."),
            ));
        }
    }
    let ips = c.params.list("PublicIp");
    if !ips.is_empty() {
        views.retain(|v| ips.contains(&v.ip.address.to_string()));
    }
    let allocs = c.params.list("AllocationId");
    if !allocs.is_empty() {
        if let Some(a) = allocs
            .iter()
            .find(|a| !views.iter().any(|v| &v.allocation == *a))
        {
            return Err(Ec2Error::client(
                "InvalidAllocationID.NotFound",
                format!("The allocation ID '{a}' does not exist"),
            ));
        }
        views.retain(|v| allocs.contains(&v.allocation));
    }
    let views = apply_filters(
        views,
        &c.params.filters_of(&[
            "public-ip",
            "allocation-id",
            "instance-id",
            "domain",
            "private-ip-address",
        ])?,
        |v, name| match name {
            "public-ip" => Some(vec![v.ip.address.to_string()]),
            "allocation-id" => Some(vec![v.allocation.clone()]),
            "instance-id" => Some(v.instance.clone().into_iter().collect()),
            "domain" => Some(vec!["standard".into(), "vpc".into()]),
            "private-ip-address" => Some(
                v.ip.fixed_address
                    .map(|a| a.to_string())
                    .into_iter()
                    .collect(),
            ),
            _ => None,
        },
    )?;
    let mut x = Xml::new();
    x.list("addressesSet", &views, |x, v| {
        x.leaf("publicIp", v.ip.address)
            .leaf("allocationId", &v.allocation)
            .leaf("domain", "standard")
            .opt("instanceId", v.instance.as_ref())
            .opt(
                "associationId",
                v.instance.as_ref().map(|_| association_of(&v.allocation)),
            )
            .opt("privateIpAddress", v.ip.fixed_address);
    });
    Ok(x.into_inner())
}
