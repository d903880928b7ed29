//! Networks, IPv4 CIDRs, fixed and floating IPs.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::{FloatingIpId, InstanceId, NetworkId, ProjectId};
use crate::error::{Error, Result};

/// An IPv4 network in CIDR form, e.g. `10.0.0.0/24` (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    /// Builds a CIDR; [`Error::InvalidInput`] if `prefix > 32` or host bits
    /// of `addr` are set.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(Error::invalid(format!(
                "prefix /{prefix} is longer than 32"
            )));
        }
        let c = Self {
            network: addr,
            prefix,
        };
        if u32::from(addr) & !c.mask() != 0 {
            return Err(Error::invalid(format!("{addr}/{prefix} has host bits set")));
        }
        Ok(c)
    }

    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The network address (first address).
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The broadcast address (last address).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !self.mask())
    }

    /// The netmask, e.g. `255.255.255.0`.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }

    /// Number of addresses, network and broadcast included.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// Whether `a` lies inside.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & self.mask() == u32::from(self.network)
    }

    /// The address at `offset` from the network address, if inside.
    pub fn nth(&self, offset: u64) -> Option<Ipv4Addr> {
        if offset >= self.size() {
            return None;
        }
        let base = u64::from(u32::from(self.network));
        u32::try_from(base + offset).ok().map(Ipv4Addr::from)
    }

    /// Offset of `a` from the network address, if inside.
    pub fn offset_of(&self, a: Ipv4Addr) -> Option<u64> {
        self.contains(a)
            .then(|| u64::from(u32::from(a) - u32::from(self.network)))
    }

    /// The `index`-th subnet of length `prefix` inside this one.
    pub fn subnet(&self, prefix: u8, index: u64) -> Option<Ipv4Cidr> {
        if prefix < self.prefix || prefix > 32 {
            return None;
        }
        let step = 1u64 << (32 - u32::from(prefix));
        let start = self.nth(index.checked_mul(step)?)?;
        Ipv4Cidr::new(start, prefix).ok()
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid(format!("{s:?} is not an IPv4 CIDR"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        Self::new(addr, prefix)
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(c: Ipv4Cidr) -> String {
        c.to_string()
    }
}

/// How a network is wired on the hosts (nova-network's managers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// An existing bridge; addresses injected into the guest.
    Flat,
    /// A bridge with dnsmasq serving DHCP on each host.
    FlatDhcp,
    /// A VLAN, bridge and subnet per project.
    Vlan,
}

/// An admin-defined (or VLAN-carved) network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Its id.
    pub id: NetworkId,
    /// Label shown in server `addresses`.
    pub label: String,
    /// Wiring mode.
    pub mode: NetworkMode,
    /// Address range.
    pub cidr: Ipv4Cidr,
    /// Gateway (by default the first host address).
    pub gateway: Ipv4Addr,
    /// Bridge the guests plug into.
    pub bridge: String,
    /// Host interface the bridge (or VLAN) sits on.
    pub bridge_interface: Option<String>,
    /// VLAN id (VLAN mode).
    pub vlan: Option<u16>,
    /// DNS servers handed to guests.
    pub dns: Vec<Ipv4Addr>,
    /// Owning project (VLAN networks); `None` = shared.
    pub project_id: Option<ProjectId>,
}

impl Network {
    /// A shared network with the first host address as gateway;
    /// [`Error::InvalidInput`] when the CIDR has no room for a gateway
    /// and a guest (shorter than /30).
    pub fn new(
        label: impl Into<String>,
        mode: NetworkMode,
        cidr: Ipv4Cidr,
        bridge: impl Into<String>,
    ) -> Result<Self> {
        if cidr.prefix() > 30 {
            return Err(Error::invalid(format!("{cidr} is too small for a network")));
        }
        let gateway = cidr
            .nth(1)
            .ok_or_else(|| Error::invalid(format!("{cidr} has no gateway address")))?;
        Ok(Self {
            id: NetworkId::new_v4(),
            label: label.into(),
            mode,
            cidr,
            gateway,
            bridge: bridge.into(),
            bridge_interface: None,
            vlan: None,
            dns: Vec::new(),
            project_id: None,
        })
    }
}

/// A fixed IP leased to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    /// The address.
    pub address: Ipv4Addr,
    /// Its network.
    pub network_id: NetworkId,
    /// The instance holding it.
    pub instance_id: InstanceId,
    /// The guest NIC's MAC address.
    pub mac: String,
}

/// A floating (public) IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIp {
    /// Its id.
    pub id: FloatingIpId,
    /// The public address.
    pub address: Ipv4Addr,
    /// The pool (network label) it comes from.
    pub pool: String,
    /// Project it is allocated to; `None` = free in the pool.
    pub project_id: Option<ProjectId>,
    /// Fixed address it is associated with (DNAT target).
    pub fixed_address: Option<Ipv4Addr>,
    /// Instance owning that fixed address.
    pub instance_id: Option<InstanceId>,
}

/// A random MAC in OpenStack's `fa:16:3e` prefix.
pub fn random_mac<R: rand::Rng + ?Sized>(rng: &mut R) -> String {
    let b: [u8; 3] = rng.gen();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_computes_edges() {
        let c: Ipv4Cidr = "10.0.0.0/24".parse().unwrap();
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 0, 0, 255));
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.size(), 256);
        assert_eq!(c.nth(1), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(c.nth(256), None);
        assert!(c.contains(Ipv4Addr::new(10, 0, 0, 77)));
        assert!(!c.contains(Ipv4Addr::new(10, 0, 1, 0)));
        assert_eq!(c.offset_of(Ipv4Addr::new(10, 0, 0, 9)), Some(9));
        assert_eq!(c.to_string(), "10.0.0.0/24");
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert_eq!(all.size(), 1 << 32);
        assert_eq!(all.broadcast(), Ipv4Addr::BROADCAST);
    }

    #[test]
    fn cidr_rejects_garbage() {
        for bad in [
            "10.0.0.0",
            "10.0.0.1/24",
            "10.0.0.0/33",
            "x/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn subnets_are_carved_in_order() {
        let c: Ipv4Cidr = "10.0.0.0/16".parse().unwrap();
        assert_eq!(c.subnet(24, 0).unwrap().to_string(), "10.0.0.0/24");
        assert_eq!(c.subnet(24, 5).unwrap().to_string(), "10.0.5.0/24");
        assert_eq!(c.subnet(24, 256), None);
        assert_eq!(c.subnet(8, 0), None);
    }

    #[test]
    fn network_defaults_gateway_and_refuses_tiny_cidrs() {
        let n = Network::new(
            "private",
            NetworkMode::FlatDhcp,
            "10.1.0.0/24".parse().unwrap(),
            "br100",
        )
        .unwrap();
        assert_eq!(n.gateway, Ipv4Addr::new(10, 1, 0, 1));
        assert!(
            Network::new("x", NetworkMode::Flat, "10.1.0.0/31".parse().unwrap(), "br").is_err()
        );
    }

    #[test]
    fn macs_use_openstack_prefix() {
        let m = random_mac(&mut rand::thread_rng());
        assert!(m.starts_with("fa:16:3e:"));
        assert_eq!(m.len(), 17);
    }
}
