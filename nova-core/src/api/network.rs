//! Networks, fixed IPs and floating IPs.

use std::net::Ipv4Addr;

use super::{require_admin, ComputeApi, RequestContext};
use crate::bus::Topic;
use crate::error::{Error, Result};
use crate::model::{FixedIp, FloatingIp, FloatingIpId, InstanceId, Network, QuotaResource};
use crate::service::rpc::{self, FloatingArgs};

const FLOATING_QUOTA: [(QuotaResource, u64); 1] = [(QuotaResource::FloatingIps, 1)];

impl ComputeApi {
    /// Networks the caller may use (shared ones and its project's).
    pub async fn list_networks(&self, ctx: &RequestContext) -> Result<Vec<Network>> {
        Ok(self
            .db
            .list_networks()
            .await?
            .into_iter()
            .filter(|n| {
                ctx.is_admin() || n.project_id.as_ref().is_none_or(|p| *p == ctx.project_id)
            })
            .collect())
    }

    /// Fixed IPs of a server.
    pub async fn fixed_ips(
        &self,
        ctx: &RequestContext,
        server: &InstanceId,
    ) -> Result<Vec<FixedIp>> {
        self.get_server(ctx, server).await?;
        self.db.fixed_ips_of(server).await
    }

    /// Names of the floating IP pools.
    pub async fn list_floating_pools(&self, _ctx: &RequestContext) -> Result<Vec<String>> {
        self.db.floating_pools().await
    }

    /// Allocates a floating IP from `pool` (default pool when `None`) to
    /// the caller's project (quota `floating_ips`).
    pub async fn allocate_floating_ip(
        &self,
        ctx: &RequestContext,
        pool: Option<&str>,
    ) -> Result<FloatingIp> {
        let pool = pool.unwrap_or(&self.config.default_floating_pool);
        if !self.db.floating_pools().await?.iter().any(|p| p == pool) {
            return Err(Error::not_found(format!("Floating IP pool {pool}")));
        }
        self.db
            .reserve_quota(&ctx.project_id, &FLOATING_QUOTA)
            .await?;
        match self.db.allocate_floating_ip(pool, &ctx.project_id).await {
            Ok(f) => {
                self.db
                    .commit_quota(&ctx.project_id, &FLOATING_QUOTA)
                    .await?;
                Ok(f)
            }
            Err(e) => {
                let _ = self
                    .db
                    .rollback_quota(&ctx.project_id, &FLOATING_QUOTA)
                    .await;
                Err(e)
            }
        }
    }

    /// Floating IPs of the caller's project (admin: `all_projects`).
    pub async fn list_floating_ips(
        &self,
        ctx: &RequestContext,
        all_projects: bool,
    ) -> Result<Vec<FloatingIp>> {
        if all_projects {
            require_admin(ctx, "os_compute_api:os-floating-ips:list:all_tenants")?;
            self.db.list_floating_ips(None).await
        } else {
            self.db.list_floating_ips(Some(&ctx.project_id)).await
        }
    }

    /// One floating IP of the caller's project.
    pub async fn get_floating_ip(
        &self,
        ctx: &RequestContext,
        id: &FloatingIpId,
    ) -> Result<FloatingIp> {
        match self.db.get_floating_ip(id).await {
            Ok(f) if f.project_id.as_ref().is_some_and(|p| ctx.can_access(p)) => Ok(f),
            Ok(_) | Err(Error::NotFound { .. }) => Err(Error::not_found(format!(
                "Floating IP {id} could not be found."
            ))),
            Err(e) => Err(e),
        }
    }

    /// NATs a floating IP to a server's fixed address (its first one when
    /// `fixed` is `None`); the network service applies the host effects.
    pub async fn associate_floating_ip(
        &self,
        ctx: &RequestContext,
        id: &FloatingIpId,
        server: &InstanceId,
        fixed: Option<Ipv4Addr>,
    ) -> Result<FloatingIp> {
        self.get_floating_ip(ctx, id).await?;
        self.get_server(ctx, server).await?;
        let ips = self.db.fixed_ips_of(server).await?;
        let fixed = match fixed {
            Some(a) if ips.iter().any(|f| f.address == a) => a,
            Some(a) => {
                return Err(Error::invalid(format!(
                    "fixed address {a} does not belong to server {server}"
                )))
            }
            None => ips
                .first()
                .map(|f| f.address)
                .ok_or_else(|| Error::invalid(format!("server {server} has no fixed address")))?,
        };
        let args = FloatingArgs {
            id: *id,
            instance_id: Some(*server),
            fixed: Some(fixed),
        };
        rpc::call(
            &*self.bus,
            &Topic::network(),
            rpc::ASSOCIATE_FLOATING_IP,
            &args,
            self.config.call_timeout,
        )
        .await
    }

    /// Removes the NAT of a floating IP.
    pub async fn disassociate_floating_ip(
        &self,
        ctx: &RequestContext,
        id: &FloatingIpId,
    ) -> Result<FloatingIp> {
        let f = self.get_floating_ip(ctx, id).await?;
        if f.instance_id.is_none() {
            return Err(Error::conflict(format!(
                "Floating IP {} is not associated",
                f.address
            )));
        }
        let args = FloatingArgs {
            id: *id,
            instance_id: None,
            fixed: None,
        };
        rpc::call(
            &*self.bus,
            &Topic::network(),
            rpc::DISASSOCIATE_FLOATING_IP,
            &args,
            self.config.call_timeout,
        )
        .await
    }

    /// Returns a floating IP to its pool (disassociating it first).
    pub async fn release_floating_ip(&self, ctx: &RequestContext, id: &FloatingIpId) -> Result<()> {
        let f = self.get_floating_ip(ctx, id).await?;
        if f.instance_id.is_some() {
            self.disassociate_floating_ip(ctx, id).await?;
        }
        self.db.release_floating_ip(id).await?;
        if let Some(p) = &f.project_id {
            self.db.release_quota(p, &FLOATING_QUOTA).await?;
        }
        Ok(())
    }
}
