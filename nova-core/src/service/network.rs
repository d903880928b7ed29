//! [`NetworkService`]: fixed IPs for instances and floating IP NAT, with
//! the host effects of each network's mode.
//!
//! The database is the IPAM of record (it is shared by every process and
//! never hands out an address twice); this service applies what each
//! network's mode asks of the host through [`LinuxNet`], as the
//! [`crate::NetworkManager`]s do for networks they hold in memory.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Mutex;

use super::rpc::{self, AllocateArgs, DeallocateArgs, FloatingArgs};
use super::runner::{serve, Handler, ServiceHandle};
use crate::bus::{MessageBus, Topic};
use crate::db::NovaDb;
use crate::error::{Error, Result};
use crate::model::network::random_mac;
use crate::model::{FloatingIp, InstanceId, Network, NetworkId, NetworkMode};
use crate::network::{DhcpHost, LinuxNet, NetworkAllocation};

/// Consumes `network`.
#[derive(Debug)]
pub struct NetworkService {
    db: Arc<dyn NovaDb>,
    bus: Arc<dyn MessageBus>,
    net: Arc<dyn LinuxNet>,
    /// Host effects are applied one change at a time, so DHCP host lists
    /// are never written out of order.
    effects: Mutex<()>,
}

impl NetworkService {
    /// A network service applying host effects through `net`.
    pub fn new(db: Arc<dyn NovaDb>, bus: Arc<dyn MessageBus>, net: Arc<dyn LinuxNet>) -> Self {
        Self {
            db,
            bus,
            net,
            effects: Mutex::new(()),
        }
    }

    /// Starts consuming `network`.
    pub async fn start(self) -> Result<ServiceHandle> {
        let bus = Arc::clone(&self.bus);
        let mut handle = ServiceHandle::new("network");
        serve(&bus, &Topic::network(), Arc::new(self), &mut handle).await?;
        Ok(handle)
    }

    /// Leases one address on each network serving the project (its own
    /// networks when it has any, else the shared ones) and plugs them.
    /// Idempotent: an instance with addresses gets them back.
    pub async fn allocate(&self, a: &AllocateArgs) -> Result<Vec<NetworkAllocation>> {
        let _g = self.effects.lock().await;
        let nets = self.db.list_networks().await?;
        let own: Vec<&Network> = nets
            .iter()
            .filter(|n| n.project_id.as_ref() == Some(&a.project_id))
            .collect();
        let serving: Vec<&Network> = if own.is_empty() {
            nets.iter().filter(|n| n.project_id.is_none()).collect()
        } else {
            own
        };
        if serving.is_empty() {
            return Err(Error::not_found(format!(
                "network for project {}",
                a.project_id
            )));
        }
        let existing = self.db.fixed_ips_of(&a.instance_id).await?;
        let mut out = Vec::new();
        for n in serving {
            let ip = match existing.iter().find(|f| f.network_id == n.id) {
                Some(f) => f.clone(),
                None => match self
                    .db
                    .allocate_fixed_ip(&n.id, &a.instance_id, &new_mac())
                    .await
                {
                    Ok(ip) => ip,
                    Err(e) => {
                        self.release_fixed(&a.instance_id).await;
                        return Err(e);
                    }
                },
            };
            out.push(NetworkAllocation {
                network_id: n.id,
                label: n.label.clone(),
                address: ip.address,
                mac: ip.mac,
                bridge: n.bridge.clone(),
                cidr: n.cidr,
                gateway: n.gateway,
                vlan: n.vlan,
                hostname: a.hostname.clone(),
            });
            if let Err(e) = self.plug(n).await {
                self.release_fixed(&a.instance_id).await;
                return Err(e);
            }
        }
        Ok(out)
    }

    async fn release_fixed(&self, id: &InstanceId) {
        if let Ok(ips) = self.db.fixed_ips_of(id).await {
            for f in ips {
                let _ = self.db.release_fixed_ip(&f.network_id, f.address).await;
            }
        }
    }

    /// Removes the NAT of the instance's floating IPs, releases its fixed
    /// IPs and refreshes DHCP. Idempotent.
    pub async fn deallocate(&self, id: &InstanceId) -> Result<()> {
        let _g = self.effects.lock().await;
        for f in self.db.list_floating_ips(None).await? {
            if f.instance_id == Some(*id) {
                if let Some(fixed) = f.fixed_address {
                    self.net.remove_floating_ip(f.address, fixed).await?;
                }
                match self.db.disassociate_floating_ip(&f.id).await {
                    Ok(_) | Err(Error::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let ips = self.db.fixed_ips_of(id).await?;
        let mut touched: Vec<NetworkId> = Vec::new();
        for f in ips {
            self.db.release_fixed_ip(&f.network_id, f.address).await?;
            if !touched.contains(&f.network_id) {
                touched.push(f.network_id);
            }
        }
        for n in touched {
            let net = self.db.get_network(&n).await?;
            if net.mode != NetworkMode::Flat {
                self.net
                    .update_dhcp(&net.bridge, &self.dhcp_hosts(&n).await?)
                    .await?;
            }
        }
        Ok(())
    }

    async fn dhcp_hosts(&self, n: &NetworkId) -> Result<Vec<DhcpHost>> {
        let mut out = Vec::new();
        for f in self.db.fixed_ips_in(n).await? {
            let hostname = match self.db.get_instance(&f.instance_id).await {
                Ok(i) => i.name,
                Err(_) => format!("instance-{}", f.instance_id),
            };
            out.push(DhcpHost {
                mac: f.mac,
                address: f.address,
                hostname,
            });
        }
        Ok(out)
    }

    /// The host effects of network `n` in its mode.
    async fn plug(&self, n: &Network) -> Result<()> {
        let gw = Some((n.gateway, n.cidr.prefix()));
        match n.mode {
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
                self.net
                    .update_dhcp(&n.bridge, &self.dhcp_hosts(&n.id).await?)
                    .await
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
                self.net
                    .update_dhcp(&n.bridge, &self.dhcp_hosts(&n.id).await?)
                    .await
            }
        }
    }

    async fn associate(&self, a: &FloatingArgs) -> Result<FloatingIp> {
        let (Some(instance), Some(fixed)) = (a.instance_id, a.fixed) else {
            return Err(Error::invalid(
                "associate needs an instance and a fixed address",
            ));
        };
        let _g = self.effects.lock().await;
        let f = self
            .db
            .associate_floating_ip(&a.id, &instance, fixed)
            .await?;
        if let Err(e) = self.net.add_floating_ip(f.address, fixed).await {
            let _ = self.db.disassociate_floating_ip(&a.id).await;
            return Err(e);
        }
        Ok(f)
    }

    async fn disassociate(&self, a: &FloatingArgs) -> Result<FloatingIp> {
        let _g = self.effects.lock().await;
        let before = self.db.get_floating_ip(&a.id).await?;
        let f = self.db.disassociate_floating_ip(&a.id).await?;
        if let Some(fixed) = before.fixed_address {
            self.net.remove_floating_ip(before.address, fixed).await?;
        }
        Ok(f)
    }
}

fn new_mac() -> String {
    random_mac(&mut rand::thread_rng())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::backend("rpc", e))
}

#[async_trait]
impl Handler for NetworkService {
    async fn handle(self: Arc<Self>, method: String, args: Value) -> Result<Value> {
        match method.as_str() {
            rpc::ALLOCATE_FOR_INSTANCE => to_json(&self.allocate(&rpc::decode(args)?).await?),
            rpc::DEALLOCATE_FOR_INSTANCE => {
                let a: DeallocateArgs = rpc::decode(args)?;
                self.deallocate(&a.instance_id).await?;
                Ok(Value::Null)
            }
            rpc::ASSOCIATE_FLOATING_IP => to_json(&self.associate(&rpc::decode(args)?).await?),
            rpc::DISASSOCIATE_FLOATING_IP => {
                to_json(&self.disassociate(&rpc::decode(args)?).await?)
            }
            other => Err(Error::invalid(format!("network has no method {other}"))),
        }
    }
}
