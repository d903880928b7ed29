//! PostgreSQL backend: a pool of connections (sql-support's `PgPool`),
//! schema migrations at open under an advisory lock, the same tables,
//! checks and errors as the SQLite backend. Every method is one
//! transaction (READ COMMITTED); the races the trait rules out are closed
//! with single conditional statements, row locks (`FOR UPDATE`, in a fixed
//! order) and `FOR UPDATE SKIP LOCKED` for address allocation.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::SystemTime;

use async_trait::async_trait;
use sql_support::pg::{PgPool, PooledClient};
use sql_support::PgUrl;

use super::{from_sql, schema, InstanceFilter, NovaDb};
use crate::error::{Error, Result};
use crate::model::{
    ComputeHost, FixedIp, Flavor, FlavorId, FloatingIp, FloatingIpId, HostName, Instance,
    InstanceId, Ipv4Cidr, KeyPair, Network, NetworkId, ProjectId, QuotaLimits, QuotaResource,
    QuotaUsage, TaskState, UserId, Volume, VolumeAttachment, VolumeId,
};
use crate::model::{Ec2Kind, SecurityGroup, SecurityGroupRule};

mod compute;
mod ec2;
mod net;
mod quota;
mod rows;
mod volumes;

pub(crate) const BACKEND: &str = "postgres";

pub(crate) fn pg_err(e: sql_support::pg::tokio_postgres::Error) -> Error {
    from_sql(BACKEND, sql_support::Error::Postgres(e))
}

/// Compute state in a PostgreSQL database, shared by every node.
#[derive(Debug, Clone)]
pub struct PostgresNovaDb {
    pool: PgPool,
}

impl PostgresNovaDb {
    /// Connects to `url` (`postgres://user:password@host:port/db`) and
    /// applies pending migrations (safe when several processes open the
    /// database at once). [`Error::InvalidConfig`] for a malformed URL, bad
    /// credentials, a missing database or a schema newer than this build;
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub async fn connect(url: &PgUrl) -> Result<Self> {
        let pool = PgPool::connect(url)
            .await
            .map_err(|e| from_sql(BACKEND, e))?;
        pool.migrate(schema::COMPONENT, schema::MIGRATIONS)
            .await
            .map_err(|e| from_sql(BACKEND, e))?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<PooledClient> {
        self.pool.get().await.map_err(|e| from_sql(BACKEND, e))
    }
}

/// Runs one call in a transaction: commits on `Ok`, rolls back (on drop)
/// on `Err`.
macro_rules! in_tx {
    ($self:ident, $tx:ident => $call:expr) => {{
        let mut client = $self.client().await?;
        let $tx = client.transaction().await.map_err(pg_err)?;
        let out = $call.await?;
        $tx.commit().await.map_err(pg_err)?;
        Ok(out)
    }};
}

#[async_trait]
impl NovaDb for PostgresNovaDb {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn create_instance(&self, instance: &Instance) -> Result<()> {
        let i = instance.clone();
        in_tx!(self, tx => compute::create_instance(&tx, &i))
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        let id = *id;
        in_tx!(self, tx => compute::get_instance(&tx, &id))
    }

    async fn update_instance(
        &self,
        instance: &Instance,
        expected_task_state: Option<TaskState>,
    ) -> Result<Instance> {
        let i = instance.clone();
        in_tx!(self, tx => compute::update_instance(&tx, i, expected_task_state))
    }

    async fn delete_instance(&self, id: &InstanceId) -> Result<()> {
        let id = *id;
        in_tx!(self, tx => compute::delete_instance(&tx, &id))
    }

    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<Instance>> {
        let f = filter.clone();
        in_tx!(self, tx => compute::list_instances(&tx, &f))
    }

    async fn create_flavor(&self, flavor: &Flavor) -> Result<()> {
        let f = flavor.clone();
        in_tx!(self, tx => compute::create_flavor(&tx, &f))
    }

    async fn get_flavor(&self, id: &FlavorId) -> Result<Flavor> {
        let id = id.clone();
        in_tx!(self, tx => compute::get_flavor(&tx, &id))
    }

    async fn list_flavors(&self) -> Result<Vec<Flavor>> {
        in_tx!(self, tx => compute::list_flavors(&tx))
    }

    async fn delete_flavor(&self, id: &FlavorId) -> Result<()> {
        let id = id.clone();
        in_tx!(self, tx => compute::delete_flavor(&tx, &id))
    }

    async fn create_key_pair(&self, key: &KeyPair) -> Result<()> {
        let k = key.clone();
        in_tx!(self, tx => compute::create_key_pair(&tx, &k))
    }

    async fn get_key_pair(&self, user: &UserId, name: &str) -> Result<KeyPair> {
        let (u, n) = (user.clone(), name.to_owned());
        in_tx!(self, tx => compute::get_key_pair(&tx, &u, &n))
    }

    async fn list_key_pairs(&self, user: &UserId) -> Result<Vec<KeyPair>> {
        let u = user.clone();
        in_tx!(self, tx => compute::list_key_pairs(&tx, &u))
    }

    async fn delete_key_pair(&self, user: &UserId, name: &str) -> Result<()> {
        let (u, n) = (user.clone(), name.to_owned());
        in_tx!(self, tx => compute::delete_key_pair(&tx, &u, &n))
    }

    async fn update_service(&self, host: &ComputeHost) -> Result<()> {
        let h = host.clone();
        in_tx!(self, tx => compute::update_service(&tx, &h))
    }

    async fn record_heartbeat(&self, host: &HostName, at: SystemTime) -> Result<()> {
        let h = host.clone();
        in_tx!(self, tx => compute::record_heartbeat(&tx, &h, at))
    }

    async fn get_service(&self, host: &HostName) -> Result<ComputeHost> {
        let h = host.clone();
        in_tx!(self, tx => compute::get_service(&tx, &h))
    }

    async fn list_services(&self) -> Result<Vec<ComputeHost>> {
        in_tx!(self, tx => compute::list_services(&tx))
    }

    async fn create_network(&self, network: &Network, reserved: &[Ipv4Addr]) -> Result<()> {
        let (n, r) = (network.clone(), reserved.to_vec());
        in_tx!(self, tx => net::create_network(&tx, &n, &r))
    }

    async fn get_network(&self, id: &NetworkId) -> Result<Network> {
        let id = *id;
        in_tx!(self, tx => net::get_network(&tx, &id))
    }

    async fn list_networks(&self) -> Result<Vec<Network>> {
        in_tx!(self, tx => net::list_networks(&tx))
    }

    async fn delete_network(&self, id: &NetworkId) -> Result<()> {
        let id = *id;
        in_tx!(self, tx => net::delete_network(&tx, &id))
    }

    async fn allocate_fixed_ip(
        &self,
        network: &NetworkId,
        instance: &InstanceId,
        mac: &str,
    ) -> Result<FixedIp> {
        let (n, i, m) = (*network, *instance, mac.to_owned());
        in_tx!(self, tx => net::allocate_fixed_ip(&tx, n, i, m))
    }

    async fn release_fixed_ip(&self, network: &NetworkId, address: Ipv4Addr) -> Result<()> {
        let n = *network;
        in_tx!(self, tx => net::release_fixed_ip(&tx, &n, address))
    }

    async fn fixed_ips_of(&self, instance: &InstanceId) -> Result<Vec<FixedIp>> {
        let i = *instance;
        in_tx!(self, tx => net::fixed_ips_of(&tx, &i))
    }

    async fn fixed_ips_in(&self, network: &NetworkId) -> Result<Vec<FixedIp>> {
        let n = *network;
        in_tx!(self, tx => net::fixed_ips_in(&tx, &n))
    }

    async fn create_floating_ips(&self, pool: &str, range: Ipv4Cidr) -> Result<u64> {
        let p = pool.to_owned();
        in_tx!(self, tx => net::create_floating_ips(&tx, &p, range))
    }

    async fn allocate_floating_ip(&self, pool: &str, project: &ProjectId) -> Result<FloatingIp> {
        let (p, pr) = (pool.to_owned(), project.clone());
        in_tx!(self, tx => net::allocate_floating_ip(&tx, &p, &pr))
    }

    async fn get_floating_ip(&self, id: &FloatingIpId) -> Result<FloatingIp> {
        let id = *id;
        in_tx!(self, tx => net::get_floating_ip(&tx, &id))
    }

    async fn associate_floating_ip(
        &self,
        id: &FloatingIpId,
        instance: &InstanceId,
        fixed: Ipv4Addr,
    ) -> Result<FloatingIp> {
        let (id, i) = (*id, *instance);
        in_tx!(self, tx => net::associate_floating_ip(&tx, &id, &i, fixed))
    }

    async fn disassociate_floating_ip(&self, id: &FloatingIpId) -> Result<FloatingIp> {
        let id = *id;
        in_tx!(self, tx => net::disassociate_floating_ip(&tx, &id))
    }

    async fn release_floating_ip(&self, id: &FloatingIpId) -> Result<()> {
        let id = *id;
        in_tx!(self, tx => net::release_floating_ip(&tx, &id))
    }

    async fn floating_pools(&self) -> Result<Vec<String>> {
        in_tx!(self, tx => net::floating_pools(&tx))
    }

    async fn list_floating_ips(&self, project: Option<&ProjectId>) -> Result<Vec<FloatingIp>> {
        let p = project.cloned();
        in_tx!(self, tx => net::list_floating_ips(&tx, p.as_ref()))
    }

    async fn create_volume(&self, volume: &Volume) -> Result<()> {
        let v = volume.clone();
        in_tx!(self, tx => volumes::create_volume(&tx, &v))
    }

    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        let id = *id;
        in_tx!(self, tx => volumes::get_volume(&tx, &id))
    }

    async fn update_volume(&self, volume: &Volume) -> Result<()> {
        let v = volume.clone();
        in_tx!(self, tx => volumes::update_volume(&tx, &v))
    }

    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        let id = *id;
        in_tx!(self, tx => volumes::delete_volume(&tx, &id))
    }

    async fn list_volumes(&self, project: Option<&ProjectId>) -> Result<Vec<Volume>> {
        let p = project.cloned();
        in_tx!(self, tx => volumes::list_volumes(&tx, p.as_ref()))
    }

    async fn attach_volume(&self, id: &VolumeId, attachment: &VolumeAttachment) -> Result<Volume> {
        let (id, a) = (*id, attachment.clone());
        in_tx!(self, tx => volumes::attach_volume(&tx, &id, &a))
    }

    async fn detach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        let (id, i) = (*id, *instance);
        in_tx!(self, tx => volumes::detach_volume(&tx, &id, &i))
    }

    async fn set_quota_limits(&self, project: &ProjectId, limits: &QuotaLimits) -> Result<()> {
        let (p, l) = (project.clone(), limits.clone());
        in_tx!(self, tx => quota::set_limits(&tx, &p, &l))
    }

    async fn quota_limits(&self, project: &ProjectId) -> Result<QuotaLimits> {
        let p = project.clone();
        in_tx!(self, tx => quota::limits(&tx, &p))
    }

    async fn quota_usage(
        &self,
        project: &ProjectId,
    ) -> Result<BTreeMap<QuotaResource, QuotaUsage>> {
        let p = project.clone();
        in_tx!(self, tx => quota::usage(&tx, &p))
    }

    async fn reserve_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        in_tx!(self, tx => quota::reserve(&tx, &p, &d))
    }

    async fn commit_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        in_tx!(self, tx => quota::adjust(&tx, &p, &d, quota::Adjust::Commit))
    }

    async fn rollback_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        in_tx!(self, tx => quota::adjust(&tx, &p, &d, quota::Adjust::Rollback))
    }

    async fn release_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        in_tx!(self, tx => quota::adjust(&tx, &p, &d, quota::Adjust::Release))
    }

    async fn create_security_group(&self, group: &SecurityGroup) -> Result<()> {
        let g = group.clone();
        in_tx!(self, tx => ec2::create_group(&tx, &g))
    }

    async fn get_security_group(&self, id: &str) -> Result<SecurityGroup> {
        let id = id.to_owned();
        in_tx!(self, tx => ec2::get_group(&tx, &id))
    }

    async fn list_security_groups(
        &self,
        project: Option<&ProjectId>,
    ) -> Result<Vec<SecurityGroup>> {
        let p = project.cloned();
        in_tx!(self, tx => ec2::list_groups(&tx, p.as_ref()))
    }

    async fn delete_security_group(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        in_tx!(self, tx => ec2::delete_group(&tx, &id))
    }

    async fn add_security_group_rule(
        &self,
        group: &str,
        rule: &SecurityGroupRule,
    ) -> Result<SecurityGroup> {
        let (g, r) = (group.to_owned(), rule.clone());
        in_tx!(self, tx => ec2::add_rule(&tx, &g, &r))
    }

    async fn remove_security_group_rule(&self, group: &str, rule: &str) -> Result<SecurityGroup> {
        let (g, r) = (group.to_owned(), rule.to_owned());
        in_tx!(self, tx => ec2::remove_rule(&tx, &g, &r))
    }

    async fn set_instance_security_groups(
        &self,
        instance: &InstanceId,
        groups: &[String],
    ) -> Result<()> {
        let (i, g) = (*instance, groups.to_vec());
        in_tx!(self, tx => ec2::set_members(&tx, &i, &g))
    }

    async fn instance_security_groups(&self, instance: &InstanceId) -> Result<Vec<SecurityGroup>> {
        let i = *instance;
        in_tx!(self, tx => ec2::groups_of(&tx, &i))
    }

    async fn ec2_id(&self, kind: Ec2Kind, uuid: &str) -> Result<String> {
        let u = uuid.to_owned();
        in_tx!(self, tx => ec2::ec2_id(&tx, kind, &u))
    }

    async fn bind_ec2_id(&self, kind: Ec2Kind, uuid: &str, ec2_id: &str) -> Result<String> {
        let (u, e) = (uuid.to_owned(), ec2_id.to_owned());
        in_tx!(self, tx => ec2::bind(&tx, kind, &u, &e))
    }

    async fn resolve_ec2_id(&self, ec2_id: &str) -> Result<(Ec2Kind, String)> {
        let e = ec2_id.to_owned();
        in_tx!(self, tx => ec2::resolve(&tx, &e))
    }
}

#[cfg(test)]
mod tests;
