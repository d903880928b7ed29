//! Hosts, availability zones and quotas.

use std::time::SystemTime;

use super::{require_admin, ComputeApi, QuotaReport, RequestContext};
use crate::error::{Error, Result};
use crate::model::{zones_of, AvailabilityZone, ComputeHost, HostName, ProjectId, QuotaLimits};

impl ComputeApi {
    /// Availability zones with their hosts' state (hosts are listed for
    /// admins only).
    pub async fn availability_zones(&self, ctx: &RequestContext) -> Result<Vec<AvailabilityZone>> {
        let hosts = self.db.list_services().await?;
        let mut zones = zones_of(&hosts, SystemTime::now(), self.config.service_down_time);
        if !ctx.is_admin() {
            for z in &mut zones {
                z.hosts.clear();
            }
        }
        Ok(zones)
    }

    /// Admin: compute hosts (hypervisors and services) with `up` computed
    /// from heartbeats.
    pub async fn list_hosts(&self, ctx: &RequestContext) -> Result<Vec<(ComputeHost, bool)>> {
        require_admin(ctx, "os_compute_api:os-hypervisors")?;
        let now = SystemTime::now();
        Ok(self
            .db
            .list_services()
            .await?
            .into_iter()
            .map(|h| {
                let up = h.is_up(now, self.config.service_down_time);
                (h, up)
            })
            .collect())
    }

    /// Admin: enables or disables scheduling to a host.
    pub async fn set_host_enabled(
        &self,
        ctx: &RequestContext,
        host: &HostName,
        enabled: bool,
        reason: Option<String>,
    ) -> Result<ComputeHost> {
        require_admin(ctx, "os_compute_api:os-services:update")?;
        let mut h = self.db.get_service(host).await?;
        h.enabled = enabled;
        h.disabled_reason = if enabled { None } else { reason };
        self.db.update_service(&h).await?;
        Ok(h)
    }

    /// Limits and usage of `project` (the caller's own, or any for admin).
    pub async fn quotas(&self, ctx: &RequestContext, project: &ProjectId) -> Result<QuotaReport> {
        if !ctx.can_access(project) {
            return Err(Error::forbidden(format!(
                "Policy doesn't allow showing quotas of project {project}"
            )));
        }
        Ok(QuotaReport {
            limits: self.db.quota_limits(project).await?,
            usage: self.db.quota_usage(project).await?,
        })
    }

    /// Admin: sets limits of `project`.
    pub async fn set_quotas(
        &self,
        ctx: &RequestContext,
        project: &ProjectId,
        limits: QuotaLimits,
    ) -> Result<QuotaReport> {
        require_admin(ctx, "os_compute_api:os-quota-sets:update")?;
        self.db.set_quota_limits(project, &limits).await?;
        self.quotas(ctx, project).await
    }
}
