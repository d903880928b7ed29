//! Create/Delete/DescribeSecurityGroups and Authorize/Revoke ingress.
//! Groups are `sg-` ids; rules come as `IpPermissions.N.*` or the flat
//! `IpProtocol, FromPort, ToPort, CidrIp` of older tools.

use nova_core::model::{Ec2Kind, IpProtocol, RuleSource, SecurityGroup, SecurityGroupRule};

use super::error::{Ec2Error, Ec2Result};
use super::ids::resolve;
use super::parse::{apply_filters, Params};
use super::xml::Xml;
use super::{returns_true, Call};

fn group_error(e: nova_core::Error) -> Ec2Error {
    Ec2Error::from(e)
        .not_found_as("InvalidGroup.NotFound")
        .duplicate_as("InvalidGroup.Duplicate")
        .conflict_as("InvalidGroup.InUse")
}

async fn sg_id(c: &Call<'_>, g: &SecurityGroup) -> Ec2Result<String> {
    Ok(c.api.db().ec2_id(Ec2Kind::SecurityGroup, &g.id).await?)
}

/// The caller's group named by an `sg-` id or a name.
async fn group(c: &Call<'_>, id: Option<&str>, name: Option<&str>) -> Ec2Result<SecurityGroup> {
    match (id, name) {
        (Some(id), _) => {
            let uuid = resolve(
                c,
                id,
                &[Ec2Kind::SecurityGroup],
                "InvalidGroupId.Malformed",
                "InvalidGroup.NotFound",
            )
            .await?;
            c.api
                .get_security_group(&c.ctx, &uuid)
                .await
                .map_err(group_error)
        }
        (None, Some(name)) => c
            .api
            .find_security_group(&c.ctx, name)
            .await
            .map_err(group_error),
        (None, None) => Err(Ec2Error::missing("GroupName")),
    }
}

async fn target(c: &Call<'_>) -> Ec2Result<SecurityGroup> {
    group(c, c.params.get("GroupId"), c.params.get("GroupName")).await
}

pub(crate) async fn create(c: &Call<'_>) -> Ec2Result<String> {
    let name = c.params.required("GroupName")?;
    let description = c.params.required("GroupDescription")?;
    let g = c
        .api
        .create_security_group(&c.ctx, name, description)
        .await
        .map_err(group_error)?;
    let mut x = Xml::new();
    x.leaf("return", true).leaf("groupId", sg_id(c, &g).await?);
    Ok(x.into_inner())
}

pub(crate) async fn delete(c: &Call<'_>) -> Ec2Result<String> {
    let g = target(c).await?;
    c.api
        .delete_security_group(&c.ctx, &g.id)
        .await
        .map_err(|e| match e {
            nova_core::Error::Conflict { .. } if g.name == "default" => Ec2Error::client(
                "CannotDelete",
                "The default security group cannot be deleted",
            ),
            nova_core::Error::Conflict { .. } => Ec2Error::client(
                "DependencyViolation",
                format!("Security group '{}' is in use", g.name),
            ),
            e => group_error(e),
        })?;
    Ok(returns_true())
}

fn port(p: &Params, name: &str, default: i32) -> Ec2Result<i32> {
    match p.int(name)? {
        Some(n) => i32::try_from(n).map_err(|_| Ec2Error::invalid(name, &n.to_string())),
        None => Ok(default),
    }
}

/// The rules one request names: every `IpPermissions.N` (its `IpRanges.M`
/// and `Groups.M` each give one rule), or the flat form.
async fn rules(c: &Call<'_>, owner: &SecurityGroup) -> Ec2Result<Vec<SecurityGroupRule>> {
    let mut perms = c.params.structs("IpPermissions");
    if perms.is_empty() {
        let mut flat = Vec::new();
        for k in ["IpProtocol", "FromPort", "ToPort", "CidrIp"] {
            if let Some(v) = c.params.get(k) {
                flat.push((k.to_owned(), v.to_owned()));
            }
        }
        if let Some(g) = c.params.get("SourceSecurityGroupName") {
            flat.push(("Groups.1.GroupName".to_owned(), g.to_owned()));
        }
        if let Some(v) = c.params.get("CidrIp") {
            flat.push(("IpRanges.1.CidrIp".to_owned(), v.to_owned()));
        }
        perms.push(Params::new(flat));
    }
    let mut out = Vec::new();
    for p in perms {
        let proto_name = p.required("IpProtocol")?;
        let proto = IpProtocol::parse(proto_name)
            .map_err(|_| Ec2Error::invalid("IpProtocol", proto_name))?;
        let (from, to) = match proto {
            IpProtocol::Icmp => (port(&p, "FromPort", -1)?, port(&p, "ToPort", -1)?),
            _ => (port(&p, "FromPort", 1)?, port(&p, "ToPort", 65535)?),
        };
        let mut sources = Vec::new();
        for r in p.structs("IpRanges") {
            let cidr = r.required("CidrIp")?;
            sources.push(RuleSource::Cidr(
                cidr.parse()
                    .map_err(|_| Ec2Error::invalid("CidrIp", cidr))?,
            ));
        }
        for g in p.structs("Groups") {
            let src = group(c, g.get("GroupId"), g.get("GroupName")).await?;
            if src.project_id != owner.project_id {
                return Err(Ec2Error::invalid("Groups", &src.name));
            }
            sources.push(RuleSource::Group(src.id));
        }
        if sources.is_empty() {
            sources.push(RuleSource::Cidr(
                "0.0.0.0/0"
                    .parse()
                    .map_err(|_| Ec2Error::invalid("CidrIp", "0.0.0.0/0"))?,
            ));
        }
        for s in sources {
            let rule = SecurityGroupRule::new(proto, from, to, s)
                .map_err(|e| Ec2Error::client("InvalidParameterValue", e.to_string()))?;
            out.push(rule);
        }
    }
    Ok(out)
}

pub(crate) async fn authorize(c: &Call<'_>) -> Ec2Result<String> {
    let g = target(c).await?;
    for r in rules(c, &g).await? {
        c.api
            .authorize_ingress(&c.ctx, &g.id, r)
            .await
            .map_err(|e| group_error(e).duplicate_as("InvalidPermission.Duplicate"))?;
    }
    Ok(returns_true())
}

pub(crate) async fn revoke(c: &Call<'_>) -> Ec2Result<String> {
    let g = target(c).await?;
    for r in rules(c, &g).await? {
        c.api
            .revoke_ingress(&c.ctx, &g.id, &r)
            .await
            .map_err(|e| group_error(e).not_found_as("InvalidPermission.NotFound"))?;
    }
    Ok(returns_true())
}

/// A group with its `sg-` id and those of its rules' source groups.
struct View {
    id: String,
    group: SecurityGroup,
    /// Per rule: `(sg- id, name)` of a group source.
    sources: Vec<Option<(String, String)>>,
}

pub(crate) async fn describe(c: &Call<'_>) -> Ec2Result<String> {
    let all = c
        .api
        .list_security_groups(&c.ctx)
        .await
        .map_err(group_error)?;
    let mut views = Vec::with_capacity(all.len());
    for g in &all {
        let mut sources = Vec::new();
        for r in &g.rules {
            sources.push(match &r.source {
                RuleSource::Group(id) => match all.iter().find(|s| &s.id == id) {
                    Some(s) => Some((sg_id(c, s).await?, s.name.clone())),
                    None => None,
                },
                RuleSource::Cidr(_) => None,
            });
        }
        views.push(View {
            id: sg_id(c, g).await?,
            group: g.clone(),
            sources,
        });
    }
    for n in c.params.list("GroupName") {
        if !views.iter().any(|v| v.group.name == n) {
            return Err(Ec2Error::client(
                "InvalidGroup.NotFound",
                format!("The security group '{n}' does not exist"),
            ));
        }
    }
    for i in c.params.list("GroupId") {
        if !views.iter().any(|v| v.id == i) {
            return Err(Ec2Error::client(
                "InvalidGroup.NotFound",
                format!("The security group '{i}' does not exist"),
            ));
        }
    }
    let (names, ids) = (c.params.list("GroupName"), c.params.list("GroupId"));
    if !names.is_empty() || !ids.is_empty() {
        views.retain(|v| names.contains(&v.group.name) || ids.contains(&v.id));
    }
    let views = apply_filters(
        views,
        &c.params
            .filters_of(&["group-name", "group-id", "description", "owner-id"])?,
        |v, name| match name {
            "group-name" => Some(vec![v.group.name.clone()]),
            "group-id" => Some(vec![v.id.clone()]),
            "description" => Some(vec![v.group.description.clone()]),
            "owner-id" => Some(vec![v.group.project_id.to_string()]),
            _ => None,
        },
    )?;
    let mut x = Xml::new();
    x.list("securityGroupInfo", &views, |x, v| {
        x.leaf("ownerId", v.group.project_id.as_str())
            .leaf("groupId", &v.id)
            .leaf("groupName", &v.group.name)
            .leaf("groupDescription", &v.group.description)
            .list(
                "ipPermissions",
                v.group.rules.iter().zip(&v.sources),
                |x, (r, src)| {
                    x.leaf("ipProtocol", r.protocol.as_str())
                        .leaf("fromPort", r.from_port)
                        .leaf("toPort", r.to_port)
                        .list("groups", src.iter(), |x, (id, name)| {
                            x.leaf("userId", v.group.project_id.as_str())
                                .leaf("groupId", id)
                                .leaf("groupName", name);
                        })
                        .list(
                            "ipRanges",
                            match &r.source {
                                RuleSource::Cidr(c) => Some(c.to_string()),
                                RuleSource::Group(_) => None,
                            },
                            |x, cidr| {
                                x.leaf("cidrIp", cidr);
                            },
                        );
                },
            )
            .empty("ipPermissionsEgress")
            .empty("tagSet");
    });
    Ok(x.into_inner())
}
