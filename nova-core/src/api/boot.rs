//! Booting servers: validation, atomic quota, records, the scheduler cast.

use base64::Engine as _;

use super::{require_admin, BootRequest, ComputeApi, RequestContext};
use crate::bus::Topic;
use crate::db::InstanceFilter;
use crate::error::{Error, Result};
use crate::model::{
    new_reservation_id, Flavor, HostName, Instance, QuotaResource, Resources, ZoneName,
};
use crate::scheduler::RequestSpec;
use crate::service::rpc::{self, RunInstances};

/// The instances/cores/ram quota one instance of `flavor` takes.
pub(crate) fn instance_quota(flavor_vcpus: u32, ram_mb: u64, n: u64) -> Vec<(QuotaResource, u64)> {
    vec![
        (QuotaResource::Instances, n),
        (
            QuotaResource::Cores,
            u64::from(flavor_vcpus).saturating_mul(n),
        ),
        (QuotaResource::Ram, ram_mb.saturating_mul(n)),
    ]
}

/// The quota an existing instance holds.
pub(crate) fn quota_of(i: &Instance) -> Vec<(QuotaResource, u64)> {
    instance_quota(i.resources.vcpus, i.resources.memory_mb, 1)
}
impl ComputeApi {
    /// Boots servers: validates, reserves quota for all of them at once
    /// (QuotaExceeded otherwise), records them `building/scheduling` and
    /// casts to the scheduler. Returns the new records. A repeated request
    /// with the same `client_token` returns the servers of the first one.
    pub async fn create_servers(
        &self,
        ctx: &RequestContext,
        req: BootRequest,
    ) -> Result<Vec<Instance>> {
        if let Some(token) = &req.client_token {
            let earlier = self.by_client_token(ctx, token).await?;
            if !earlier.is_empty() {
                return Ok(earlier);
            }
        }
        let (min, max) = (
            req.min_count.max(1),
            req.max_count.max(req.min_count.max(1)),
        );
        if max > self.config.max_count_per_request {
            return Err(Error::invalid(format!(
                "max_count {max} is more than the allowed {}",
                self.config.max_count_per_request
            )));
        }
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(Error::invalid("server name must be 1 to 255 characters"));
        }
        let flavor = match self.get_flavor(ctx, &req.flavor).await {
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid(format!(
                    "Flavor {} could not be found",
                    req.flavor
                )))
            }
            other => other?,
        };
        if flavor.disabled {
            return Err(Error::invalid(format!("flavor {} is disabled", flavor.id)));
        }
        self.check_image(ctx, req.image.as_deref(), &flavor).await?;
        if let Some(k) = &req.key_name {
            if let Err(Error::NotFound { .. }) = self.db.get_key_pair(&ctx.user_id, k).await {
                return Err(Error::invalid(format!("Invalid key_name provided: {k}")));
            }
        }
        let (zone, forced_host) = self.parse_zone(ctx, req.availability_zone.as_deref())?;
        if req.availability_zone.is_some() && zone != self.config.default_zone {
            let known = self
                .db
                .list_services()
                .await?
                .iter()
                .any(|h| h.zone == zone);
            if !known {
                return Err(Error::invalid(format!(
                    "The requested availability zone is not available: {zone}"
                )));
            }
        }
        let user_data = req
            .user_data
            .as_ref()
            .map(|d| base64::engine::general_purpose::STANDARD.encode(d));

        // Reserve as many as fit, at least `min`: all or nothing each try.
        let mut count = max;
        loop {
            let deltas = instance_quota(flavor.vcpus, flavor.ram_mb, u64::from(count));
            match self.db.reserve_quota(&ctx.project_id, &deltas).await {
                Ok(()) => break,
                Err(e @ Error::QuotaExceeded { .. }) if count <= min => return Err(e),
                Err(Error::QuotaExceeded { .. }) => count -= 1,
                Err(e) => return Err(e),
            }
        }
        let deltas = instance_quota(flavor.vcpus, flavor.ram_mb, u64::from(count));

        let reservation_id = new_reservation_id();
        let security_groups = if req.security_groups.is_empty() {
            vec!["default".to_owned()]
        } else {
            req.security_groups.clone()
        };
        let mut created = Vec::new();
        for n in 0..count {
            let display = if count > 1 {
                format!("{name}-{}", n + 1)
            } else {
                name.to_owned()
            };
            let mut i = Instance::new(
                display,
                ctx.project_id.clone(),
                ctx.user_id.clone(),
                &flavor,
                req.image.clone(),
            );
            i.key_name = req.key_name.clone();
            i.availability_zone = Some(zone.clone());
            i.metadata = req.metadata.clone();
            i.user_data = user_data.clone();
            i.reservation_id = reservation_id.clone();
            i.launch_index = n;
            i.security_groups = security_groups.clone();
            i.client_token = req.client_token.clone();
            if let Err(e) = self.db.create_instance(&i).await {
                for c in &created {
                    let c: &Instance = c;
                    let _ = self.db.delete_instance(&c.id).await;
                }
                let _ = self.db.rollback_quota(&ctx.project_id, &deltas).await;
                if let (Error::AlreadyExists { .. }, Some(token)) = (&e, &req.client_token) {
                    return self.by_client_token(ctx, token).await;
                }
                return Err(e);
            }
            created.push(i);
        }
        self.db.commit_quota(&ctx.project_id, &deltas).await?;

        let mut spec = RequestSpec::new(Resources::of_flavor(&flavor));
        spec.num_instances = count;
        spec.availability_zone = Some(zone);
        spec.requested_host = forced_host;
        spec.hints = req.hints.clone();
        let msg = RunInstances {
            ctx: ctx.clone(),
            instance_ids: created.iter().map(|i| i.id).collect(),
            spec,
        };
        rpc::cast(&*self.bus, &Topic::scheduler(), rpc::RUN_INSTANCES, &msg).await?;
        Ok(created)
    }

    async fn by_client_token(&self, ctx: &RequestContext, token: &str) -> Result<Vec<Instance>> {
        let f = InstanceFilter {
            project_id: Some(ctx.project_id.clone()),
            client_token: Some(token.to_owned()),
            ..InstanceFilter::default()
        };
        let mut found = self.db.list_instances(&f).await?;
        found.sort_by_key(|i| i.launch_index);
        Ok(found)
    }

    async fn check_image(
        &self,
        ctx: &RequestContext,
        image: Option<&str>,
        flavor: &Flavor,
    ) -> Result<()> {
        let Some(image) = image else {
            return Err(Error::invalid("an image is required to boot"));
        };
        let info = match self.images.show(ctx, image).await {
            Err(Error::NotFound { .. }) => {
                return Err(Error::invalid(format!("Image {image} could not be found.")))
            }
            other => other?,
        };
        if info.status != "active" {
            return Err(Error::invalid(format!(
                "Image {image} is not active (status {})",
                info.status
            )));
        }
        if flavor.ram_mb < info.min_ram {
            return Err(Error::invalid(format!(
                "Flavor's memory is too small for requested image ({} < {} MB)",
                flavor.ram_mb, info.min_ram
            )));
        }
        if flavor.root_gb > 0 && flavor.root_gb < info.min_disk {
            return Err(Error::invalid(format!(
                "Flavor's disk is too small for requested image ({} < {} GB)",
                flavor.root_gb, info.min_disk
            )));
        }
        Ok(())
    }

    /// `zone` or `zone:host` (the host part is for admins only).
    fn parse_zone(
        &self,
        ctx: &RequestContext,
        az: Option<&str>,
    ) -> Result<(ZoneName, Option<HostName>)> {
        let Some(az) = az.filter(|s| !s.is_empty()) else {
            return Ok((self.config.default_zone.clone(), None));
        };
        match az.split_once(':') {
            Some((zone, host)) => {
                require_admin(ctx, "os_compute_api:servers:create:forced_host")?;
                let zone = if zone.is_empty() {
                    self.config.default_zone.clone()
                } else {
                    ZoneName::new(zone)?
                };
                let host = (!host.is_empty())
                    .then(|| HostName::new(host))
                    .transpose()?;
                Ok((zone, host))
            }
            None => Ok((ZoneName::new(az)?, None)),
        }
    }
}
