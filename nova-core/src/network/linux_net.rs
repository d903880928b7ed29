//! Host effects of the network managers: the [`LinuxNet`] trait (bridges,
//! VLAN interfaces, DHCP host entries, NAT rules) and
//! [`RecordingLinuxNet`], which only records what it was asked to do.
//! A real implementation drives `ip`, `bridge`, dnsmasq and iptables.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::Ipv4Cidr;

/// A static DHCP lease (`dhcp-host=` line of dnsmasq).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DhcpHost {
    /// Guest MAC.
    pub mac: String,
    /// Leased address.
    pub address: Ipv4Addr,
    /// Guest host name.
    pub hostname: String,
}

/// One effect, as [`RecordingLinuxNet`] logs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetEffect {
    /// `ensure_vlan`.
    Vlan {
        /// VLAN id.
        id: u16,
        /// Parent interface.
        parent: String,
    },
    /// `ensure_bridge`.
    Bridge {
        /// Bridge name.
        name: String,
        /// Interface enslaved to it.
        interface: Option<String>,
        /// Gateway address set on it, with prefix.
        gateway: Option<(Ipv4Addr, u8)>,
    },
    /// `update_dhcp` (the full host list of the bridge).
    Dhcp {
        /// Bridge dnsmasq serves.
        bridge: String,
        /// All static leases, sorted.
        hosts: Vec<DhcpHost>,
    },
    /// `ensure_snat`.
    Snat {
        /// Guest range masqueraded.
        cidr: Ipv4Cidr,
    },
    /// `add_floating_ip`.
    FloatingAdd {
        /// Public address.
        floating: Ipv4Addr,
        /// Guest address.
        fixed: Ipv4Addr,
    },
    /// `remove_floating_ip`.
    FloatingRemove {
        /// Public address.
        floating: Ipv4Addr,
        /// Guest address.
        fixed: Ipv4Addr,
    },
}

/// What is in place on the host, as [`LinuxNet::snapshot`] reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetSnapshot {
    /// Bridges with their enslaved interface.
    pub bridges: BTreeMap<String, Option<String>>,
    /// VLAN interfaces (`vlan<id>`) by id, with their parent.
    pub vlans: BTreeMap<u16, String>,
    /// Static DHCP leases per bridge.
    pub dhcp: BTreeMap<String, BTreeSet<DhcpHost>>,
    /// Masqueraded guest ranges.
    pub snat: BTreeSet<Ipv4Cidr>,
    /// Floating → fixed DNAT/SNAT pairs (public address bound).
    pub floating: BTreeMap<Ipv4Addr, Ipv4Addr>,
}

/// The interface name of VLAN `id`.
pub fn vlan_interface(id: u16) -> String {
    format!("vlan{id}")
}

/// Applies network state to one host. Every method is idempotent: asking
/// for what is already in place succeeds and changes nothing. Object-safe.
#[async_trait]
pub trait LinuxNet: Send + Sync + fmt::Debug + 'static {
    /// Creates VLAN interface `vlan<id>` on `parent` and brings it up.
    async fn ensure_vlan(&self, id: u16, parent: &str) -> Result<String>;

    /// Creates bridge `name`, enslaves `interface`, sets `gateway`
    /// (address/prefix) on it, and brings it up.
    async fn ensure_bridge(
        &self,
        name: &str,
        interface: Option<&str>,
        gateway: Option<(Ipv4Addr, u8)>,
    ) -> Result<()>;

    /// Replaces the static DHCP leases served on `bridge` with `hosts`
    /// (and reloads dnsmasq); an empty list keeps dnsmasq with no leases.
    async fn update_dhcp(&self, bridge: &str, hosts: &[DhcpHost]) -> Result<()>;

    /// Masquerades traffic from `cidr` leaving the host.
    async fn ensure_snat(&self, cidr: Ipv4Cidr) -> Result<()>;

    /// Binds `floating` on the public interface and adds DNAT to `fixed`
    /// and SNAT from it. Replaces an earlier target of `floating`.
    async fn add_floating_ip(&self, floating: Ipv4Addr, fixed: Ipv4Addr) -> Result<()>;

    /// Removes what [`LinuxNet::add_floating_ip`] added; absent is `Ok`.
    async fn remove_floating_ip(&self, floating: Ipv4Addr, fixed: Ipv4Addr) -> Result<()>;

    /// What is in place now.
    async fn snapshot(&self) -> Result<NetSnapshot>;
}

/// A [`LinuxNet`] that changes nothing and records every request in
/// order, for tests.
#[derive(Debug, Default)]
pub struct RecordingLinuxNet {
    inner: Mutex<(Vec<NetEffect>, NetSnapshot)>,
}

impl RecordingLinuxNet {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, (Vec<NetEffect>, NetSnapshot)> {
        // Each update is one push/insert; poison leaves valid data.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every effect asked for so far, in order.
    pub fn effects(&self) -> Vec<NetEffect> {
        self.lock().0.clone()
    }

    /// Returns and forgets the effects recorded so far.
    pub fn take(&self) -> Vec<NetEffect> {
        std::mem::take(&mut self.lock().0)
    }
}

#[async_trait]
impl LinuxNet for RecordingLinuxNet {
    async fn ensure_vlan(&self, id: u16, parent: &str) -> Result<String> {
        let mut g = self.lock();
        g.0.push(NetEffect::Vlan {
            id,
            parent: parent.into(),
        });
        g.1.vlans.insert(id, parent.into());
        Ok(vlan_interface(id))
    }

    async fn ensure_bridge(
        &self,
        name: &str,
        interface: Option<&str>,
        gateway: Option<(Ipv4Addr, u8)>,
    ) -> Result<()> {
        let mut g = self.lock();
        g.0.push(NetEffect::Bridge {
            name: name.into(),
            interface: interface.map(Into::into),
            gateway,
        });
        g.1.bridges.insert(name.into(), interface.map(Into::into));
        Ok(())
    }

    async fn update_dhcp(&self, bridge: &str, hosts: &[DhcpHost]) -> Result<()> {
        let mut g = self.lock();
        let set: BTreeSet<DhcpHost> = hosts.iter().cloned().collect();
        g.0.push(NetEffect::Dhcp {
            bridge: bridge.into(),
            hosts: set.iter().cloned().collect(),
        });
        g.1.dhcp.insert(bridge.into(), set);
        Ok(())
    }

    async fn ensure_snat(&self, cidr: Ipv4Cidr) -> Result<()> {
        let mut g = self.lock();
        g.0.push(NetEffect::Snat { cidr });
        g.1.snat.insert(cidr);
        Ok(())
    }

    async fn add_floating_ip(&self, floating: Ipv4Addr, fixed: Ipv4Addr) -> Result<()> {
        let mut g = self.lock();
        g.0.push(NetEffect::FloatingAdd { floating, fixed });
        g.1.floating.insert(floating, fixed);
        Ok(())
    }

    async fn remove_floating_ip(&self, floating: Ipv4Addr, fixed: Ipv4Addr) -> Result<()> {
        let mut g = self.lock();
        g.0.push(NetEffect::FloatingRemove { floating, fixed });
        if g.1.floating.get(&floating) == Some(&fixed) {
            g.1.floating.remove(&floating);
        }
        Ok(())
    }

    async fn snapshot(&self) -> Result<NetSnapshot> {
        Ok(self.lock().1.clone())
    }
}
