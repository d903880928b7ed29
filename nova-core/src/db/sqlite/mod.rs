//! SQLite backend: one database file in WAL mode (or a private in-memory
//! database), queries on the blocking pool. Every method is one
//! `BEGIN IMMEDIATE` transaction, so writers from several processes on the
//! same file are serialized by SQLite's write lock and a check followed by
//! a write (address allocation, quota reservation) cannot interleave.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{schema, InstanceFilter, NovaDb};
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
mod volumes;

pub(crate) const BACKEND: &str = "sqlite";

pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::unavailable("nova database is busy")
        }
        Some(rusqlite::ErrorCode::ConstraintViolation) => Error::already_exists("row"),
        _ => Error::backend(BACKEND, e),
    }
}

/// Compute state in one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteNovaDb {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteNovaDb {
    /// Opens (creating if needed) the database at `path`, turns on WAL and
    /// applies pending migrations. [`Error::InvalidConfig`] when the schema
    /// is newer than this build.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        // Several processes opening a fresh file at once can get SQLITE_BUSY
        // without the busy handler being consulted (the switch to WAL and the
        // first schema write are lock upgrades SQLite refuses to wait on);
        // the loser retries the whole open after a short pause.
        let mut attempt = 0u32;
        loop {
            let p = path.clone();
            let opened = blocking(move || {
                let conn = Connection::open(&p).map_err(sql_err)?;
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .map_err(sql_err)?;
                conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
                    .map_err(sql_err)?;
                Self::init(conn)
            })
            .await;
            match opened {
                Err(Error::Unavailable { .. }) if attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(
                        10 + 10 * u64::from(attempt),
                    ))
                    .await;
                }
                other => return other,
            }
        }
    }

    /// A private in-memory database.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(sql_err)?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
            .map_err(sql_err)?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` in one immediate transaction on the blocking pool; commits
    /// when it returns `Ok`, rolls back otherwise.
    async fn tx<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql_err)?;
            Ok(out)
        })
        .await
    }
}

async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::backend(BACKEND, e))?
}

/// Brings the database to the newest schema in one immediate transaction,
/// so two processes opening a fresh file at once migrate it once.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .map_err(sql_err)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    let supported = i64::try_from(schema::MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > supported {
        return Err(Error::config(format!(
            "nova database schema version {current} is newer than this build ({supported})"
        )));
    }
    for (i, step) in schema::MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.execute_batch(step).map_err(sql_err)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i64::try_from(i + 1).unwrap_or(i64::MAX)],
        )
        .map_err(sql_err)?;
    }
    tx.commit().map_err(sql_err)
}

#[async_trait]
impl NovaDb for SqliteNovaDb {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn create_instance(&self, instance: &Instance) -> Result<()> {
        let i = instance.clone();
        self.tx(move |tx| compute::create_instance(tx, &i)).await
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        let id = *id;
        self.tx(move |tx| compute::get_instance(tx, &id)).await
    }

    async fn update_instance(
        &self,
        instance: &Instance,
        expected_task_state: Option<TaskState>,
    ) -> Result<Instance> {
        let i = instance.clone();
        self.tx(move |tx| compute::update_instance(tx, i, expected_task_state))
            .await
    }

    async fn delete_instance(&self, id: &InstanceId) -> Result<()> {
        let id = *id;
        self.tx(move |tx| compute::delete_instance(tx, &id)).await
    }

    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<Instance>> {
        let f = filter.clone();
        self.tx(move |tx| compute::list_instances(tx, &f)).await
    }

    async fn create_flavor(&self, flavor: &Flavor) -> Result<()> {
        let f = flavor.clone();
        self.tx(move |tx| compute::create_flavor(tx, &f)).await
    }

    async fn get_flavor(&self, id: &FlavorId) -> Result<Flavor> {
        let id = id.clone();
        self.tx(move |tx| compute::get_flavor(tx, &id)).await
    }

    async fn list_flavors(&self) -> Result<Vec<Flavor>> {
        self.tx(compute::list_flavors).await
    }

    async fn delete_flavor(&self, id: &FlavorId) -> Result<()> {
        let id = id.clone();
        self.tx(move |tx| compute::delete_flavor(tx, &id)).await
    }

    async fn create_key_pair(&self, key: &KeyPair) -> Result<()> {
        let k = key.clone();
        self.tx(move |tx| compute::create_key_pair(tx, &k)).await
    }

    async fn get_key_pair(&self, user: &UserId, name: &str) -> Result<KeyPair> {
        let (u, n) = (user.clone(), name.to_owned());
        self.tx(move |tx| compute::get_key_pair(tx, &u, &n)).await
    }

    async fn list_key_pairs(&self, user: &UserId) -> Result<Vec<KeyPair>> {
        let u = user.clone();
        self.tx(move |tx| compute::list_key_pairs(tx, &u)).await
    }

    async fn delete_key_pair(&self, user: &UserId, name: &str) -> Result<()> {
        let (u, n) = (user.clone(), name.to_owned());
        self.tx(move |tx| compute::delete_key_pair(tx, &u, &n))
            .await
    }

    async fn update_service(&self, host: &ComputeHost) -> Result<()> {
        let h = host.clone();
        self.tx(move |tx| compute::update_service(tx, &h)).await
    }

    async fn record_heartbeat(&self, host: &HostName, at: SystemTime) -> Result<()> {
        let h = host.clone();
        self.tx(move |tx| compute::record_heartbeat(tx, &h, at))
            .await
    }

    async fn get_service(&self, host: &HostName) -> Result<ComputeHost> {
        let h = host.clone();
        self.tx(move |tx| compute::get_service(tx, &h)).await
    }

    async fn list_services(&self) -> Result<Vec<ComputeHost>> {
        self.tx(compute::list_services).await
    }

    async fn create_network(&self, network: &Network, reserved: &[Ipv4Addr]) -> Result<()> {
        let (n, r) = (network.clone(), reserved.to_vec());
        self.tx(move |tx| net::create_network(tx, &n, &r)).await
    }

    async fn get_network(&self, id: &NetworkId) -> Result<Network> {
        let id = *id;
        self.tx(move |tx| net::get_network(tx, &id)).await
    }

    async fn list_networks(&self) -> Result<Vec<Network>> {
        self.tx(net::list_networks).await
    }

    async fn delete_network(&self, id: &NetworkId) -> Result<()> {
        let id = *id;
        self.tx(move |tx| net::delete_network(tx, &id)).await
    }

    async fn allocate_fixed_ip(
        &self,
        network: &NetworkId,
        instance: &InstanceId,
        mac: &str,
    ) -> Result<FixedIp> {
        let (n, i, m) = (*network, *instance, mac.to_owned());
        self.tx(move |tx| net::allocate_fixed_ip(tx, n, i, m)).await
    }

    async fn release_fixed_ip(&self, network: &NetworkId, address: Ipv4Addr) -> Result<()> {
        let n = *network;
        self.tx(move |tx| net::release_fixed_ip(tx, &n, address))
            .await
    }

    async fn fixed_ips_of(&self, instance: &InstanceId) -> Result<Vec<FixedIp>> {
        let i = *instance;
        self.tx(move |tx| net::fixed_ips_of(tx, &i)).await
    }

    async fn fixed_ips_in(&self, network: &NetworkId) -> Result<Vec<FixedIp>> {
        let n = *network;
        self.tx(move |tx| net::fixed_ips_in(tx, &n)).await
    }

    async fn create_floating_ips(&self, pool: &str, range: Ipv4Cidr) -> Result<u64> {
        let p = pool.to_owned();
        self.tx(move |tx| net::create_floating_ips(tx, &p, range))
            .await
    }

    async fn allocate_floating_ip(&self, pool: &str, project: &ProjectId) -> Result<FloatingIp> {
        let (p, pr) = (pool.to_owned(), project.clone());
        self.tx(move |tx| net::allocate_floating_ip(tx, &p, &pr))
            .await
    }

    async fn get_floating_ip(&self, id: &FloatingIpId) -> Result<FloatingIp> {
        let id = *id;
        self.tx(move |tx| net::get_floating_ip(tx, &id)).await
    }

    async fn associate_floating_ip(
        &self,
        id: &FloatingIpId,
        instance: &InstanceId,
        fixed: Ipv4Addr,
    ) -> Result<FloatingIp> {
        let (id, i) = (*id, *instance);
        self.tx(move |tx| net::associate_floating_ip(tx, &id, &i, fixed))
            .await
    }

    async fn disassociate_floating_ip(&self, id: &FloatingIpId) -> Result<FloatingIp> {
        let id = *id;
        self.tx(move |tx| net::disassociate_floating_ip(tx, &id))
            .await
    }

    async fn release_floating_ip(&self, id: &FloatingIpId) -> Result<()> {
        let id = *id;
        self.tx(move |tx| net::release_floating_ip(tx, &id)).await
    }

    async fn floating_pools(&self) -> Result<Vec<String>> {
        self.tx(net::floating_pools).await
    }

    async fn list_floating_ips(&self, project: Option<&ProjectId>) -> Result<Vec<FloatingIp>> {
        let p = project.cloned();
        self.tx(move |tx| net::list_floating_ips(tx, p.as_ref()))
            .await
    }

    async fn create_volume(&self, volume: &Volume) -> Result<()> {
        let v = volume.clone();
        self.tx(move |tx| volumes::create_volume(tx, &v)).await
    }

    async fn get_volume(&self, id: &VolumeId) -> Result<Volume> {
        let id = *id;
        self.tx(move |tx| volumes::get_volume(tx, &id)).await
    }

    async fn update_volume(&self, volume: &Volume) -> Result<()> {
        let v = volume.clone();
        self.tx(move |tx| volumes::update_volume(tx, &v)).await
    }

    async fn delete_volume(&self, id: &VolumeId) -> Result<()> {
        let id = *id;
        self.tx(move |tx| volumes::delete_volume(tx, &id)).await
    }

    async fn list_volumes(&self, project: Option<&ProjectId>) -> Result<Vec<Volume>> {
        let p = project.cloned();
        self.tx(move |tx| volumes::list_volumes(tx, p.as_ref()))
            .await
    }

    async fn attach_volume(&self, id: &VolumeId, attachment: &VolumeAttachment) -> Result<Volume> {
        let (id, a) = (*id, attachment.clone());
        self.tx(move |tx| volumes::attach_volume(tx, &id, &a)).await
    }

    async fn detach_volume(&self, id: &VolumeId, instance: &InstanceId) -> Result<Volume> {
        let (id, i) = (*id, *instance);
        self.tx(move |tx| volumes::detach_volume(tx, &id, &i)).await
    }

    async fn set_quota_limits(&self, project: &ProjectId, limits: &QuotaLimits) -> Result<()> {
        let (p, l) = (project.clone(), limits.clone());
        self.tx(move |tx| quota::set_limits(tx, &p, &l)).await
    }

    async fn quota_limits(&self, project: &ProjectId) -> Result<QuotaLimits> {
        let p = project.clone();
        self.tx(move |tx| quota::limits(tx, &p)).await
    }

    async fn quota_usage(
        &self,
        project: &ProjectId,
    ) -> Result<BTreeMap<QuotaResource, QuotaUsage>> {
        let p = project.clone();
        self.tx(move |tx| quota::usage(tx, &p)).await
    }

    async fn reserve_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        self.tx(move |tx| quota::reserve(tx, &p, &d)).await
    }

    async fn commit_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        self.tx(move |tx| quota::adjust(tx, &p, &d, quota::Adjust::Commit))
            .await
    }

    async fn rollback_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        self.tx(move |tx| quota::adjust(tx, &p, &d, quota::Adjust::Rollback))
            .await
    }

    async fn release_quota(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<()> {
        let (p, d) = (project.clone(), deltas.to_vec());
        self.tx(move |tx| quota::adjust(tx, &p, &d, quota::Adjust::Release))
            .await
    }

    async fn create_security_group(&self, group: &SecurityGroup) -> Result<()> {
        let g = group.clone();
        self.tx(move |tx| ec2::create_group(tx, &g)).await
    }

    async fn get_security_group(&self, id: &str) -> Result<SecurityGroup> {
        let id = id.to_owned();
        self.tx(move |tx| ec2::get_group(tx, &id)).await
    }

    async fn list_security_groups(
        &self,
        project: Option<&ProjectId>,
    ) -> Result<Vec<SecurityGroup>> {
        let p = project.cloned();
        self.tx(move |tx| ec2::list_groups(tx, p.as_ref())).await
    }

    async fn delete_security_group(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.tx(move |tx| ec2::delete_group(tx, &id)).await
    }

    async fn add_security_group_rule(
        &self,
        group: &str,
        rule: &SecurityGroupRule,
    ) -> Result<SecurityGroup> {
        let (g, r) = (group.to_owned(), rule.clone());
        self.tx(move |tx| ec2::add_rule(tx, &g, &r)).await
    }

    async fn remove_security_group_rule(&self, group: &str, rule: &str) -> Result<SecurityGroup> {
        let (g, r) = (group.to_owned(), rule.to_owned());
        self.tx(move |tx| ec2::remove_rule(tx, &g, &r)).await
    }

    async fn set_instance_security_groups(
        &self,
        instance: &InstanceId,
        groups: &[String],
    ) -> Result<()> {
        let (i, g) = (*instance, groups.to_vec());
        self.tx(move |tx| ec2::set_members(tx, &i, &g)).await
    }

    async fn instance_security_groups(&self, instance: &InstanceId) -> Result<Vec<SecurityGroup>> {
        let i = *instance;
        self.tx(move |tx| ec2::groups_of(tx, &i)).await
    }

    async fn ec2_id(&self, kind: Ec2Kind, uuid: &str) -> Result<String> {
        let u = uuid.to_owned();
        self.tx(move |tx| ec2::ec2_id(tx, kind, &u)).await
    }

    async fn bind_ec2_id(&self, kind: Ec2Kind, uuid: &str, ec2_id: &str) -> Result<String> {
        let (u, e) = (uuid.to_owned(), ec2_id.to_owned());
        self.tx(move |tx| ec2::bind(tx, kind, &u, &e)).await
    }

    async fn resolve_ec2_id(&self, ec2_id: &str) -> Result<(Ec2Kind, String)> {
        let e = ec2_id.to_owned();
        self.tx(move |tx| ec2::resolve(tx, &e)).await
    }
}

#[cfg(test)]
mod tests;
