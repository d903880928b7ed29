//! Floating IP pools: allocate to a project, associate with an instance's
//! fixed IP (NAT through [`LinuxNet`]), disassociate, release.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::linux_net::LinuxNet;
use crate::error::{Error, Result};
use crate::model::{FloatingIp, FloatingIpId, InstanceId, Ipv4Cidr, ProjectId};

#[derive(Debug, Default)]
struct State {
    pools: BTreeMap<String, Ipv4Cidr>,
    ips: BTreeMap<Ipv4Addr, FloatingIp>,
}

/// Every floating IP pool of the cloud. Calls are serialised.
#[derive(Debug)]
pub struct FloatingIps {
    net: Arc<dyn LinuxNet>,
    state: Mutex<State>,
}

fn not_found(a: Ipv4Addr) -> Error {
    Error::not_found(format!("floating ip {a}"))
}

impl FloatingIps {
    /// No pools yet.
    pub fn new(net: Arc<dyn LinuxNet>) -> Self {
        Self {
            net,
            state: Mutex::new(State::default()),
        }
    }

    /// Adds pool `name` with every address of `cidr` except its network
    /// and broadcast addresses (all of a /31 or /32).
    /// [`Error::AlreadyExists`] for a known name, [`Error::Conflict`] when
    /// the range overlaps another pool.
    pub async fn add_pool(&self, name: &str, cidr: Ipv4Cidr) -> Result<u64> {
        let mut st = self.state.lock().await;
        if st.pools.contains_key(name) {
            return Err(Error::already_exists(format!("floating ip pool {name}")));
        }
        if let Some((other, _)) = st
            .pools
            .iter()
            .find(|(_, c)| c.contains(cidr.network()) || cidr.contains(c.network()))
        {
            return Err(Error::conflict(format!("{cidr} overlaps pool {other}")));
        }
        let edges = cidr.prefix() <= 30;
        let mut added = 0;
        for off in 0..cidr.size() {
            let Some(a) = cidr.nth(off) else { break };
            if edges && (a == cidr.network() || a == cidr.broadcast()) {
                continue;
            }
            st.ips.insert(
                a,
                FloatingIp {
                    id: FloatingIpId::new_v4(),
                    address: a,
                    pool: name.to_owned(),
                    project_id: None,
                    fixed_address: None,
                    instance_id: None,
                },
            );
            added += 1;
        }
        st.pools.insert(name.to_owned(), cidr);
        Ok(added)
    }

    /// The pool names.
    pub async fn pools(&self) -> Vec<String> {
        self.state.lock().await.pools.keys().cloned().collect()
    }

    /// Gives `project` the lowest free address of `pool`.
    /// [`Error::NotFound`] for an unknown pool, [`Error::NoMoreAddresses`]
    /// when it is exhausted. (Quota is the caller's.)
    pub async fn allocate(&self, project: &ProjectId, pool: &str) -> Result<FloatingIp> {
        let mut st = self.state.lock().await;
        if !st.pools.contains_key(pool) {
            return Err(Error::not_found(format!("floating ip pool {pool}")));
        }
        let ip = st
            .ips
            .values_mut()
            .find(|f| f.pool == pool && f.project_id.is_none())
            .ok_or_else(|| Error::NoMoreAddresses { pool: pool.into() })?;
        ip.project_id = Some(project.clone());
        Ok(ip.clone())
    }

    /// The project's floating IPs, by address.
    pub async fn list(&self, project: &ProjectId) -> Vec<FloatingIp> {
        let st = self.state.lock().await;
        st.ips
            .values()
            .filter(|f| f.project_id.as_ref() == Some(project))
            .cloned()
            .collect()
    }

    /// One of the project's floating IPs; another project's is
    /// [`Error::NotFound`] too.
    pub async fn get(&self, project: &ProjectId, address: Ipv4Addr) -> Result<FloatingIp> {
        let st = self.state.lock().await;
        st.ips
            .get(&address)
            .filter(|f| f.project_id.as_ref() == Some(project))
            .cloned()
            .ok_or_else(|| not_found(address))
    }

    /// Points `address` at `fixed` of `instance` and adds the NAT.
    /// Idempotent for the same target; [`Error::Conflict`] when it points
    /// elsewhere; [`Error::NotFound`] unless `project` holds it.
    pub async fn associate(
        &self,
        project: &ProjectId,
        address: Ipv4Addr,
        fixed: Ipv4Addr,
        instance: InstanceId,
    ) -> Result<FloatingIp> {
        let mut st = self.state.lock().await;
        let ip = owned(&mut st, project, address)?;
        match ip.fixed_address {
            Some(f) if f == fixed => return Ok(ip.clone()),
            Some(f) => {
                return Err(Error::conflict(format!(
                    "floating ip {address} is associated with {f}"
                )))
            }
            None => {}
        }
        self.net.add_floating_ip(address, fixed).await?;
        let ip = owned(&mut st, project, address)?;
        ip.fixed_address = Some(fixed);
        ip.instance_id = Some(instance);
        Ok(ip.clone())
    }

    /// Removes the NAT of `address`; [`Error::Conflict`] when it is not
    /// associated.
    pub async fn disassociate(&self, project: &ProjectId, address: Ipv4Addr) -> Result<FloatingIp> {
        let mut st = self.state.lock().await;
        let ip = owned(&mut st, project, address)?;
        let Some(fixed) = ip.fixed_address else {
            return Err(Error::conflict(format!(
                "floating ip {address} is not associated"
            )));
        };
        self.net.remove_floating_ip(address, fixed).await?;
        let ip = owned(&mut st, project, address)?;
        ip.fixed_address = None;
        ip.instance_id = None;
        Ok(ip.clone())
    }

    /// Returns `address` to its pool, disassociating it first if needed.
    pub async fn release(&self, project: &ProjectId, address: Ipv4Addr) -> Result<()> {
        let mut st = self.state.lock().await;
        let ip = owned(&mut st, project, address)?;
        if let Some(fixed) = ip.fixed_address {
            self.net.remove_floating_ip(address, fixed).await?;
        }
        let ip = owned(&mut st, project, address)?;
        ip.fixed_address = None;
        ip.instance_id = None;
        ip.project_id = None;
        Ok(())
    }

    /// Disassociates every floating IP of `instance` (on delete); returns
    /// how many.
    pub async fn disassociate_instance(&self, instance: &InstanceId) -> Result<usize> {
        let mut st = self.state.lock().await;
        let mut n = 0;
        for ip in st
            .ips
            .values_mut()
            .filter(|f| f.instance_id.as_ref() == Some(instance))
        {
            if let Some(fixed) = ip.fixed_address.take() {
                self.net.remove_floating_ip(ip.address, fixed).await?;
            }
            ip.instance_id = None;
            n += 1;
        }
        Ok(n)
    }
}

fn owned<'a>(
    st: &'a mut State,
    project: &ProjectId,
    address: Ipv4Addr,
) -> Result<&'a mut FloatingIp> {
    st.ips
        .get_mut(&address)
        .filter(|f| f.project_id.as_ref() == Some(project))
        .ok_or_else(|| not_found(address))
}
