//! State and host effects shared by the three network managers.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use super::ipam::Ipam;
use super::linux_net::{DhcpHost, LinuxNet};
use super::{AllocateRequest, NetworkAllocation, NetworkSpec};
use crate::error::{Error, Result};
use crate::model::network::random_mac;
use crate::model::{InstanceId, Network, NetworkId, NetworkMode};

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) net: Network,
    pub(super) ipam: Ipam,
}

#[derive(Debug, Default)]
pub(super) struct State {
    /// Networks in creation order.
    pub(super) nets: Vec<Entry>,
    pub(super) allocs: BTreeMap<InstanceId, Vec<NetworkAllocation>>,
}

impl State {
    /// Checks `spec` does not collide with an existing network.
    pub(super) fn check_free(&self, spec: &NetworkSpec) -> Result<()> {
        for e in &self.nets {
            let n = &e.net;
            let (a, b) = (n.cidr, spec.cidr);
            if a.contains(b.network()) || b.contains(a.network()) {
                return Err(Error::conflict(format!(
                    "{b} overlaps network {} ({a})",
                    n.label
                )));
            }
            if n.bridge == spec.bridge {
                return Err(Error::conflict(format!("bridge {} is taken", spec.bridge)));
            }
            if spec.vlan.is_some() && n.vlan == spec.vlan {
                return Err(Error::conflict(format!("vlan {:?} is taken", spec.vlan)));
            }
        }
        Ok(())
    }

    /// Adds a network built from `spec`.
    pub(super) fn add(&mut self, mode: NetworkMode, spec: NetworkSpec) -> Result<Network> {
        self.check_free(&spec)?;
        let mut net = Network::new(spec.label, mode, spec.cidr, spec.bridge)?;
        net.bridge_interface = spec.bridge_interface;
        net.vlan = spec.vlan;
        net.dns = spec.dns;
        net.project_id = spec.project_id;
        let ipam = Ipam::new(net.cidr, net.gateway, &[]);
        self.nets.push(Entry {
            net: net.clone(),
            ipam,
        });
        Ok(net)
    }

    fn dhcp_hosts(&self, net: &NetworkId) -> Vec<DhcpHost> {
        self.allocs
            .values()
            .flatten()
            .filter(|a| a.network_id == *net)
            .map(|a| DhcpHost {
                mac: a.mac.clone(),
                address: a.address,
                hostname: a.hostname.clone(),
            })
            .collect()
    }
}

/// The common part of a manager: its networks, leases and host effects.
#[derive(Debug)]
pub(super) struct Core {
    pub(super) mode: NetworkMode,
    pub(super) state: Mutex<State>,
    pub(super) net: Arc<dyn LinuxNet>,
}

impl Core {
    pub(super) fn new(mode: NetworkMode, net: Arc<dyn LinuxNet>) -> Self {
        Self {
            mode,
            state: Mutex::new(State::default()),
            net,
        }
    }

    pub(super) async fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().await
    }

    /// Leases one address on each of `nets` for `req`, then applies the
    /// mode's effects; on failure nothing stays leased.
    pub(super) async fn allocate(
        &self,
        st: &mut State,
        req: &AllocateRequest,
        nets: &[NetworkId],
    ) -> Result<Vec<NetworkAllocation>> {
        if st.allocs.contains_key(&req.instance_id) {
            return Err(Error::already_exists(format!(
                "fixed ips of instance {}",
                req.instance_id
            )));
        }
        if nets.is_empty() {
            return Err(Error::not_found(format!(
                "network for project {}",
                req.project_id
            )));
        }
        let mut out = Vec::new();
        for id in nets {
            let Some(e) = st.nets.iter_mut().find(|e| e.net.id == *id) else {
                continue;
            };
            match e.ipam.allocate(req.instance_id) {
                Ok(address) => out.push(NetworkAllocation {
                    network_id: e.net.id,
                    label: e.net.label.clone(),
                    address,
                    mac: random_mac(&mut rand::thread_rng()),
                    bridge: e.net.bridge.clone(),
                    cidr: e.net.cidr,
                    gateway: e.net.gateway,
                    vlan: e.net.vlan,
                    hostname: req.hostname.clone(),
                }),
                Err(err) => {
                    release(st, &req.instance_id);
                    return Err(err);
                }
            }
        }
        st.allocs.insert(req.instance_id, out.clone());
        for a in &out {
            if let Err(err) = self.plug(st, &a.network_id).await {
                release(st, &req.instance_id);
                st.allocs.remove(&req.instance_id);
                return Err(err);
            }
        }
        Ok(out)
    }

    /// Releases everything of `instance` and refreshes DHCP.
    pub(super) async fn deallocate(&self, st: &mut State, instance: &InstanceId) -> Result<()> {
        let Some(gone) = st.allocs.remove(instance) else {
            return Ok(());
        };
        release(st, instance);
        if self.mode != NetworkMode::Flat {
            for a in &gone {
                self.net
                    .update_dhcp(&a.bridge, &st.dhcp_hosts(&a.network_id))
                    .await?;
            }
        }
        Ok(())
    }

    /// The host effects of network `id` in this mode.
    async fn plug(&self, st: &State, id: &NetworkId) -> Result<()> {
        let Some(e) = st.nets.iter().find(|e| e.net.id == *id) else {
            return Ok(());
        };
        let n = &e.net;
        let gw = Some((n.gateway, n.cidr.prefix()));
        match self.mode {
            NetworkMode::Flat => {
                self.net
                    .ensure_bridge(&n.bridge, n.bridge_interface.as_deref(), None)
                    .await
            }
            NetworkMode::FlatDhcp => {
                self.net
                    .ensure_bridge(&n.bridge, n.bridge_interface.as_deref(), gw)
                    .await?;
                self.net.ensure_snat(n.cidr).await?;
                self.net.update_dhcp(&n.bridge, &st.dhcp_hosts(id)).await
            }
            NetworkMode::Vlan => {
                let (Some(vlan), Some(parent)) = (n.vlan, n.bridge_interface.as_deref()) else {
                    return Err(Error::invalid(format!(
                        "vlan network {} lacks a vlan or interface",
                        n.label
                    )));
                };
                let ifname = self.net.ensure_vlan(vlan, parent).await?;
                self.net.ensure_bridge(&n.bridge, Some(&ifname), gw).await?;
                self.net.ensure_snat(n.cidr).await?;
                self.net.update_dhcp(&n.bridge, &st.dhcp_hosts(id)).await
            }
        }
    }
}

fn release(st: &mut State, instance: &InstanceId) {
    for e in &mut st.nets {
        e.ipam.release_instance(instance);
    }
}
