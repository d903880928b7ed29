//! Nova networking: IPAM for fixed IPs ([`ipam`]), the [`NetworkManager`]
//! trait with the [`FlatManager`], [`FlatDhcpManager`] and [`VlanManager`],
//! floating IP pools ([`FloatingIps`]), and the host effects they ask for
//! through [`LinuxNet`].
//!
//! Several modes may coexist in one cloud: each manager owns its own
//! networks, and every [`Network`] records its mode.

use std::fmt;
use std::net::Ipv4Addr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{InstanceId, Ipv4Cidr, Network, NetworkId, NetworkMode, ProjectId};
use crate::virt::Vif;

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
mod core;
pub mod floating;
pub mod ipam;
pub mod linux_net;
mod managers;

pub use floating::FloatingIps;
pub use ipam::Ipam;
pub use linux_net::{DhcpHost, LinuxNet, NetEffect, NetSnapshot, RecordingLinuxNet};
pub use managers::{FlatDhcpManager, FlatManager, VlanConfig, VlanManager};

/// An admin's request for a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetworkSpec {
    /// Label shown in server `addresses`.
    pub label: String,
    /// Address range.
    pub cidr: Ipv4Cidr,
    /// Bridge name.
    pub bridge: String,
    /// Host interface under the bridge (or the VLAN).
    pub bridge_interface: Option<String>,
    /// VLAN id (VLAN mode).
    pub vlan: Option<u16>,
    /// DNS servers for guests.
    pub dns: Vec<Ipv4Addr>,
    /// Owning project (VLAN mode); `None` = shared.
    pub project_id: Option<ProjectId>,
}

impl NetworkSpec {
    /// A shared network on `bridge`.
    pub fn new(label: impl Into<String>, cidr: Ipv4Cidr, bridge: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            cidr,
            bridge: bridge.into(),
            bridge_interface: None,
            vlan: None,
            dns: Vec::new(),
            project_id: None,
        }
    }
}

/// Who asks for addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocateRequest {
    /// The instance.
    pub instance_id: InstanceId,
    /// Its project.
    pub project_id: ProjectId,
    /// Its guest host name (for DHCP).
    pub hostname: String,
}

/// One fixed IP given to an instance, with what the host needs to plug it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAllocation {
    /// The network.
    pub network_id: NetworkId,
    /// Its label.
    pub label: String,
    /// The fixed address.
    pub address: Ipv4Addr,
    /// Guest MAC.
    pub mac: String,
    /// Bridge to plug into.
    pub bridge: String,
    /// The network's range.
    pub cidr: Ipv4Cidr,
    /// Its gateway.
    pub gateway: Ipv4Addr,
    /// Its VLAN.
    pub vlan: Option<u16>,
    /// Guest host name.
    pub hostname: String,
}

impl NetworkAllocation {
    /// The interface for the hypervisor driver.
    pub fn vif(&self) -> Vif {
        Vif {
            mac: self.mac.clone(),
            address: Some(self.address),
            bridge: self.bridge.clone(),
            network: self.label.clone(),
        }
    }
}

/// Gives instances fixed IPs on its networks and asks [`LinuxNet`] for
/// the host effects of its mode. Object-safe; shared as
/// `Arc<dyn NetworkManager>`. Calls are serialised per manager.
#[async_trait]
pub trait NetworkManager: Send + Sync + fmt::Debug + 'static {
    /// The mode of every network of this manager.
    fn mode(&self) -> NetworkMode;

    /// Creates an admin-defined network. [`crate::Error::Conflict`] when
    /// its range overlaps, or its VLAN or bridge is taken;
    /// [`crate::Error::InvalidInput`] when the spec does not suit the mode.
    async fn create_network(&self, spec: NetworkSpec) -> Result<Network>;

    /// Every network of this manager, in creation order.
    async fn list_networks(&self) -> Result<Vec<Network>>;

    /// Leases one fixed IP on each network of the instance's project and
    /// applies the host effects; all or nothing.
    /// [`crate::Error::AlreadyExists`] if the instance has addresses,
    /// [`crate::Error::NotFound`] if no network serves the project,
    /// [`crate::Error::NoMoreAddresses`] if a network is full.
    async fn allocate_for_instance(&self, req: &AllocateRequest) -> Result<Vec<NetworkAllocation>>;

    /// Releases the instance's fixed IPs and removes its DHCP entries.
    /// Idempotent: an unknown instance is `Ok`.
    async fn deallocate_for_instance(&self, instance: &InstanceId) -> Result<()>;

    /// The instance's current allocations (empty if none).
    async fn allocations(&self, instance: &InstanceId) -> Result<Vec<NetworkAllocation>>;
}

#[cfg(test)]
mod tests;
