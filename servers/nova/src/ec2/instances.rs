//! RunInstances, DescribeInstances, the power actions, TerminateInstances
//! and GetConsoleOutput.

use base64::Engine as _;
use nova_core::api::{BootRequest, ServerFilter};
use nova_core::model::{Ec2Kind, Instance, InstanceId};

use super::error::{Ec2Error, Ec2Result};
use super::ids::{instance_id, resolve};
use super::instances_view::{
    filter_values, state_of, views, write_reservation, InstanceView, INSTANCE_FILTERS,
};
use super::parse::apply_filters;
use super::time::iso;
use super::xml::Xml;
use super::{returns_true, Call};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn instance_error(e: nova_core::Error) -> Ec2Error {
    Ec2Error::from(e)
        .not_found_as("InvalidInstanceID.NotFound")
        .conflict_as("IncorrectInstanceState")
}

async fn image_uuid(c: &Call<'_>, ami: &str) -> Ec2Result<String> {
    resolve(
        c,
        ami,
        &[Ec2Kind::Image],
        "InvalidAMIID.Malformed",
        "InvalidAMIID.NotFound",
    )
    .await
}

pub(crate) async fn run(c: &Call<'_>) -> Ec2Result<String> {
    let p = &c.params;
    let image_ec2 = p.required("ImageId")?;
    let image = match image_uuid(c, image_ec2).await {
        // Ids are handed out by DescribeImages; an image never described
        // gets its id now (ami- ids of Glance images are ours to give).
        Err(e) if e.code == "InvalidAMIID.NotFound" => {
            super::images::assign_ids(c).await?;
            image_uuid(c, image_ec2).await?
        }
        other => other?,
    };
    let min = p
        .int("MinCount")?
        .ok_or_else(|| Ec2Error::missing("MinCount"))?;
    let max = p
        .int("MaxCount")?
        .ok_or_else(|| Ec2Error::missing("MaxCount"))?;
    let min = u32::try_from(min).ok().filter(|n| *n >= 1);
    let min = min.ok_or_else(|| Ec2Error::invalid("MinCount", p.get("MinCount").unwrap_or("")))?;
    let max = u32::try_from(max).ok().filter(|n| *n >= min);
    let max = max.ok_or_else(|| Ec2Error::invalid("MaxCount", p.get("MaxCount").unwrap_or("")))?;
    let instance_type = p.get("InstanceType").unwrap_or("m1.small");
    c.api
        .get_flavor(&c.ctx, instance_type)
        .await
        .map_err(|e| Ec2Error::from(e).not_found_as("InvalidParameterValue"))?;
    let user_data = match p.get("UserData") {
        Some(d) => Some(
            B64.decode(d.trim())
                .map_err(|_| Ec2Error::invalid("UserData", "<not base64>"))?,
        ),
        None => None,
    };
    if let Some(k) = p.get("KeyName") {
        c.api
            .get_key_pair(&c.ctx, k)
            .await
            .map_err(|e| Ec2Error::from(e).not_found_as("InvalidKeyPair.NotFound"))?;
    }
    let mut groups: Vec<String> = p.list("SecurityGroup");
    for id in p.list("SecurityGroupId") {
        let uuid = resolve(
            c,
            &id,
            &[Ec2Kind::SecurityGroup],
            "InvalidGroupId.Malformed",
            "InvalidGroup.NotFound",
        )
        .await?;
        groups.push(uuid);
    }
    let groups = c
        .api
        .resolve_security_groups(&c.ctx, &groups)
        .await
        .map_err(|e| Ec2Error::from(e).not_found_as("InvalidGroup.NotFound"))?;
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    let req = BootRequest {
        name: "ec2-instance".into(),
        flavor: instance_type.to_owned(),
        image: Some(image),
        key_name: p.get("KeyName").map(str::to_owned),
        min_count: min,
        max_count: max,
        user_data,
        availability_zone: p.get("Placement.AvailabilityZone").map(str::to_owned),
        security_groups: names.clone(),
        client_token: p
            .get("ClientToken")
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        ..BootRequest::default()
    };
    let created = c.api.create_servers(&c.ctx, req).await.map_err(|e| {
        Ec2Error::from(e)
            .not_found_as("InvalidParameterValue")
            .conflict_as("InvalidParameterValue")
    })?;
    for i in &created {
        c.api
            .set_server_security_groups(&c.ctx, &i.id, &names)
            .await?;
    }
    let reservation = created
        .first()
        .map(|i| i.reservation_id.clone())
        .unwrap_or_default();
    let vs = views(c, created).await?;
    let refs: Vec<&InstanceView> = vs.iter().collect();
    let mut x = Xml::new();
    write_reservation(&mut x, &reservation, c.ctx.project_id.as_str(), &refs);
    Ok(x.into_inner())
}

/// The caller's instances named by `InstanceId.N` (all when none), with
/// `InvalidInstanceID.NotFound` naming the unknown ones.
async fn selected(c: &Call<'_>) -> Ec2Result<Vec<Instance>> {
    let wanted = c.params.list("InstanceId");
    let mut ids = Vec::with_capacity(wanted.len());
    for w in &wanted {
        ids.push(instance_id(c, w).await?);
    }
    let all = c.api.list_servers(&c.ctx, &ServerFilter::default()).await?;
    if ids.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for (id, name) in ids.iter().zip(&wanted) {
        match all.iter().find(|i| &i.id == id) {
            Some(i) => out.push(i.clone()),
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(Ec2Error::client(
            "InvalidInstanceID.NotFound",
            format!("The instance IDs '{}' do not exist", missing.join(", ")),
        ));
    }
    Ok(out)
}

pub(crate) async fn describe(c: &Call<'_>) -> Ec2Result<String> {
    let filters = c.params.filters_of(&INSTANCE_FILTERS)?;
    let mut instances = selected(c).await?;
    // Oldest first, so pages stay stable while instances are added.
    instances.reverse();
    let vs = apply_filters(views(c, instances).await?, &filters, filter_values)?;
    let start = match c.params.get("NextToken") {
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= vs.len())
            .ok_or_else(|| Ec2Error::invalid("NextToken", t))?,
        None => 0,
    };
    let max = match c.params.int("MaxResults")? {
        Some(n) if !c.params.list("InstanceId").is_empty() => {
            return Err(Ec2Error::client(
                "InvalidParameterCombination",
                format!("MaxResults ({n}) cannot be combined with InstanceId"),
            ))
        }
        Some(n) if (5..=1000).contains(&n) => usize::try_from(n).unwrap_or(1000),
        Some(n) => return Err(Ec2Error::invalid("MaxResults", &n.to_string())),
        None => usize::MAX,
    };
    let end = start.saturating_add(max).min(vs.len());
    let page = &vs[start..end];
    // Group by reservation, in order of first appearance.
    let mut reservations: Vec<(String, Vec<&InstanceView>)> = Vec::new();
    for v in page {
        let r = &v.instance.reservation_id;
        match reservations.iter_mut().find(|(id, _)| id == r) {
            Some((_, items)) => items.push(v),
            None => reservations.push((r.clone(), vec![v])),
        }
    }
    let mut x = Xml::new();
    let owner = c.ctx.project_id.as_str();
    x.list("reservationSet", &reservations, |x, (r, items)| {
        write_reservation(x, r, owner, items)
    });
    if end < vs.len() {
        x.leaf("nextToken", end);
    }
    Ok(x.into_inner())
}

/// Runs `act` on every `InstanceId.N`, answering with their state change.
async fn state_change<'c, F, Fut>(c: &'c Call<'c>, act: F) -> Ec2Result<String>
where
    F: Fn(&'c Call<'c>, InstanceId) -> Fut,
    Fut: std::future::Future<Output = nova_core::Result<()>>,
{
    let names = c.params.list("InstanceId");
    if names.is_empty() {
        return Err(Ec2Error::missing("InstanceId"));
    }
    let instances = selected(c).await?;
    let mut changes = Vec::new();
    for (i, name) in instances.iter().zip(&names) {
        act(c, i.id).await.map_err(instance_error)?;
        let after = c
            .api
            .get_server(&c.ctx, &i.id)
            .await
            .map_err(instance_error);
        let current = match &after {
            Ok(a) => state_of(a),
            Err(_) => (48, "terminated"),
        };
        changes.push((name.clone(), state_of(i), current));
    }
    let mut x = Xml::new();
    x.list("instancesSet", &changes, |x, (id, prev, cur)| {
        x.leaf("instanceId", id)
            .node("currentState", |x| {
                x.leaf("code", cur.0).leaf("name", cur.1);
            })
            .node("previousState", |x| {
                x.leaf("code", prev.0).leaf("name", prev.1);
            });
    });
    Ok(x.into_inner())
}

pub(crate) async fn terminate(c: &Call<'_>) -> Ec2Result<String> {
    state_change(
        c,
        |c, id| async move { c.api.delete_server(&c.ctx, &id).await },
    )
    .await
}

pub(crate) async fn start(c: &Call<'_>) -> Ec2Result<String> {
    state_change(c, |c, id| async move { c.api.start(&c.ctx, &id).await }).await
}

pub(crate) async fn stop(c: &Call<'_>) -> Ec2Result<String> {
    c.params.bool("Force")?;
    state_change(c, |c, id| async move { c.api.stop(&c.ctx, &id).await }).await
}

pub(crate) async fn reboot(c: &Call<'_>) -> Ec2Result<String> {
    if c.params.list("InstanceId").is_empty() {
        return Err(Ec2Error::missing("InstanceId"));
    }
    for i in selected(c).await? {
        c.api
            .reboot(&c.ctx, &i.id, false)
            .await
            .map_err(instance_error)?;
    }
    Ok(returns_true())
}

pub(crate) async fn console_output(c: &Call<'_>) -> Ec2Result<String> {
    let name = c.params.required("InstanceId")?;
    let id = instance_id(c, name).await?;
    let log = c
        .api
        .console_output(&c.ctx, &id, None)
        .await
        .map_err(instance_error)?;
    let mut x = Xml::new();
    x.leaf("instanceId", name)
        .leaf("timestamp", iso(std::time::SystemTime::now()))
        .leaf("output", B64.encode(log.as_bytes()));
    Ok(x.into_inner())
}
