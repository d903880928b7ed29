//! The three managers: [`FlatManager`], [`FlatDhcpManager`] and
//! [`VlanManager`].

use std::net::Ipv4Addr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::core::{Core, State};
use super::linux_net::LinuxNet;
use super::{AllocateRequest, NetworkAllocation, NetworkManager, NetworkSpec};
use crate::error::{Error, Result};
use crate::model::{InstanceId, Ipv4Cidr, Network, NetworkId, NetworkMode, ProjectId};

fn shared_networks(st: &State) -> Vec<NetworkId> {
    st.nets
        .iter()
        .filter(|e| e.net.project_id.is_none())
        .map(|e| e.net.id)
        .collect()
}

macro_rules! flat_manager {
    ($(#[$m:meta])* $name:ident, $mode:expr) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name {
            core: Core,
        }

        impl $name {
            /// A manager with no networks yet.
            pub fn new(net: Arc<dyn LinuxNet>) -> Self {
                Self {
                    core: Core::new($mode, net),
                }
            }
        }

        #[async_trait]
        impl NetworkManager for $name {
            fn mode(&self) -> NetworkMode {
                $mode
            }

            async fn create_network(&self, spec: NetworkSpec) -> Result<Network> {
                if spec.vlan.is_some() || spec.project_id.is_some() {
                    return Err(Error::invalid("flat networks have no vlan and no project"));
                }
                self.core.lock().await.add($mode, spec)
            }

            async fn list_networks(&self) -> Result<Vec<Network>> {
                Ok(self.core.lock().await.nets.iter().map(|e| e.net.clone()).collect())
            }

            async fn allocate_for_instance(&self, req: &AllocateRequest) -> Result<Vec<NetworkAllocation>> {
                let mut st = self.core.lock().await;
                let nets = shared_networks(&st);
                self.core.allocate(&mut st, req, &nets).await
            }

            async fn deallocate_for_instance(&self, instance: &InstanceId) -> Result<()> {
                let mut st = self.core.lock().await;
                self.core.deallocate(&mut st, instance).await
            }

            async fn allocations(&self, instance: &InstanceId) -> Result<Vec<NetworkAllocation>> {
                Ok(self.core.lock().await.allocs.get(instance).cloned().unwrap_or_default())
            }
        }
    };
}

flat_manager!(
    /// Flat networking: guests plug into an existing bridge; their address
    /// is injected, so the host only ensures the bridge.
    FlatManager,
    NetworkMode::Flat
);

flat_manager!(
    /// Flat networking with DHCP: the host puts the gateway on the bridge,
    /// masquerades the range and serves static leases with dnsmasq.
    FlatDhcpManager,
    NetworkMode::FlatDhcp
);

/// How the [`VlanManager`] carves project networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VlanConfig {
    /// First VLAN id (Nova's `vlan_start`, 100).
    pub vlan_start: u16,
    /// Range the project subnets are carved from (`fixed_range`).
    pub fixed_range: Ipv4Cidr,
    /// Prefix of each project subnet (24 = Nova's `network_size` 256).
    pub network_prefix: u8,
    /// Host interface the VLANs sit on (`vlan_interface`).
    pub vlan_interface: String,
    /// DNS servers for guests.
    pub dns: Vec<Ipv4Addr>,
}

impl VlanConfig {
    /// Checks the subnet prefix fits in the range and leaves room.
    pub fn validate(&self) -> Result<()> {
        if self.network_prefix < self.fixed_range.prefix() || self.network_prefix > 30 {
            return Err(Error::config(format!(
                "network_prefix /{} does not fit in {}",
                self.network_prefix, self.fixed_range
            )));
        }
        if self.vlan_interface.is_empty() {
            return Err(Error::config("vlan_interface is empty"));
        }
        Ok(())
    }
}

/// VLAN networking: each project gets its own VLAN, bridge `br<vlan>` and
/// subnet, carved from [`VlanConfig`] on its first boot.
#[derive(Debug)]
pub struct VlanManager {
    core: Core,
    config: VlanConfig,
}

impl VlanManager {
    /// A manager with no networks yet; [`Error::InvalidConfig`] for a bad
    /// config.
    pub fn new(config: VlanConfig, net: Arc<dyn LinuxNet>) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            core: Core::new(NetworkMode::Vlan, net),
            config,
        })
    }

    /// The project's networks, carving one if it has none.
    fn project_networks(&self, st: &mut State, project: &ProjectId) -> Result<Vec<NetworkId>> {
        let mine: Vec<NetworkId> = st
            .nets
            .iter()
            .filter(|e| e.net.project_id.as_ref() == Some(project))
            .map(|e| e.net.id)
            .collect();
        if !mine.is_empty() {
            return Ok(mine);
        }
        let c = &self.config;
        for index in 0u64.. {
            let Some(cidr) = c.fixed_range.subnet(c.network_prefix, index) else {
                break;
            };
            let Some(vlan) = u16::try_from(index)
                .ok()
                .and_then(|i| c.vlan_start.checked_add(i))
            else {
                break;
            };
            let mut spec = NetworkSpec::new("private", cidr, format!("br{vlan}"));
            spec.vlan = Some(vlan);
            spec.bridge_interface = Some(c.vlan_interface.clone());
            spec.dns = c.dns.clone();
            spec.project_id = Some(project.clone());
            if st.check_free(&spec).is_ok() {
                return Ok(vec![st.add(NetworkMode::Vlan, spec)?.id]);
            }
        }
        Err(Error::NoMoreAddresses {
            pool: format!("vlan networks in {}", c.fixed_range),
        })
    }
}

#[async_trait]
impl NetworkManager for VlanManager {
    fn mode(&self) -> NetworkMode {
        NetworkMode::Vlan
    }

    async fn create_network(&self, mut spec: NetworkSpec) -> Result<Network> {
        if spec.vlan.is_none() || spec.project_id.is_none() {
            return Err(Error::invalid(
                "a vlan network needs a vlan id and a project",
            ));
        }
        if spec.bridge_interface.is_none() {
            spec.bridge_interface = Some(self.config.vlan_interface.clone());
        }
        self.core.lock().await.add(NetworkMode::Vlan, spec)
    }

    async fn list_networks(&self) -> Result<Vec<Network>> {
        Ok(self
            .core
            .lock()
            .await
            .nets
            .iter()
            .map(|e| e.net.clone())
            .collect())
    }

    async fn allocate_for_instance(&self, req: &AllocateRequest) -> Result<Vec<NetworkAllocation>> {
        let mut st = self.core.lock().await;
        if st.allocs.contains_key(&req.instance_id) {
            return Err(Error::already_exists(format!(
                "fixed ips of instance {}",
                req.instance_id
            )));
        }
        let nets = self.project_networks(&mut st, &req.project_id)?;
        self.core.allocate(&mut st, req, &nets).await
    }

    async fn deallocate_for_instance(&self, instance: &InstanceId) -> Result<()> {
        let mut st = self.core.lock().await;
        self.core.deallocate(&mut st, instance).await
    }

    async fn allocations(&self, instance: &InstanceId) -> Result<Vec<NetworkAllocation>> {
        Ok(self
            .core
            .lock()
            .await
            .allocs
            .get(instance)
            .cloned()
            .unwrap_or_default())
    }
}
