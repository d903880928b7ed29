//! DescribeAvailabilityZones and DescribeRegions.

use super::error::Ec2Result;
use super::parse::apply_filters;
use super::xml::Xml;
use super::Call;

pub(crate) async fn availability_zones(c: &Call<'_>) -> Ec2Result<String> {
    let mut zones: Vec<(String, bool)> = c
        .api
        .availability_zones(&c.ctx)
        .await?
        .into_iter()
        .map(|z| (z.name.to_string(), z.available))
        .collect();
    if zones.is_empty() {
        zones.push((c.api.config().default_zone.to_string(), true));
    }
    let wanted = c.params.list("ZoneName");
    if !wanted.is_empty() {
        zones.retain(|(z, _)| wanted.contains(z));
    }
    let zones = apply_filters(
        zones,
        &c.params
            .filters_of(&["zone-name", "state", "region-name"])?,
        |(z, up), name| match name {
            "zone-name" => Some(vec![z.clone()]),
            "state" => Some(vec![
                if *up { "available" } else { "unavailable" }.to_owned()
            ]),
            "region-name" => Some(vec![c.region.to_owned()]),
            _ => None,
        },
    )?;
    let mut x = Xml::new();
    x.list("availabilityZoneInfo", zones, |x, (z, up)| {
        x.leaf("zoneName", z)
            .leaf("zoneState", if up { "available" } else { "unavailable" })
            .leaf("regionName", c.region)
            .empty("messageSet");
    });
    Ok(x.into_inner())
}

pub(crate) fn regions(c: &Call<'_>) -> Ec2Result<String> {
    let wanted = c.params.list("RegionName");
    let mut x = Xml::new();
    let show = wanted.is_empty() || wanted.iter().any(|r| r == c.region);
    x.list("regionInfo", show.then_some(()), |x, ()| {
        x.leaf("regionName", c.region)
            .leaf("regionEndpoint", &c.host);
    });
    Ok(x.into_inner())
}
