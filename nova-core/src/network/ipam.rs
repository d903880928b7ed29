//! Fixed-IP address management for one network: never the network,
//! gateway or broadcast address, never the same address twice. Pure and
//! synchronous.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::model::{InstanceId, Ipv4Cidr};

/// The addresses of one CIDR and who holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipam {
    cidr: Ipv4Cidr,
    reserved: BTreeSet<Ipv4Addr>,
    leased: BTreeMap<Ipv4Addr, InstanceId>,
    /// Offset where the next search starts, so released addresses are
    /// reused last (as DHCP servers do).
    cursor: u64,
}

impl Ipam {
    /// An allocator over `cidr` that never hands out its network,
    /// broadcast and `gateway` addresses nor any of `extra_reserved`.
    pub fn new(cidr: Ipv4Cidr, gateway: Ipv4Addr, extra_reserved: &[Ipv4Addr]) -> Self {
        let mut reserved: BTreeSet<Ipv4Addr> = [cidr.network(), cidr.broadcast(), gateway].into();
        reserved.extend(extra_reserved.iter().copied());
        Self {
            cidr,
            reserved,
            leased: BTreeMap::new(),
            cursor: 0,
        }
    }

    /// The range managed.
    pub fn cidr(&self) -> Ipv4Cidr {
        self.cidr
    }

    /// Addresses that can still be handed out.
    pub fn free_count(&self) -> u64 {
        let reserved_inside = self
            .reserved
            .iter()
            .filter(|a| self.cidr.contains(**a))
            .count();
        self.cidr
            .size()
            .saturating_sub(reserved_inside as u64)
            .saturating_sub(self.leased.len() as u64)
    }

    /// Whether `a` may ever be handed out.
    pub fn is_assignable(&self, a: Ipv4Addr) -> bool {
        self.cidr.contains(a) && !self.reserved.contains(&a)
    }

    /// Who holds `a`.
    pub fn holder(&self, a: Ipv4Addr) -> Option<InstanceId> {
        self.leased.get(&a).copied()
    }

    /// Leases the next free address to `instance`;
    /// [`Error::NoMoreAddresses`] when none is left.
    pub fn allocate(&mut self, instance: InstanceId) -> Result<Ipv4Addr> {
        let size = self.cidr.size();
        for step in 0..size {
            let off = (self.cursor + step) % size;
            let Some(a) = self.cidr.nth(off) else {
                continue;
            };
            if self.is_assignable(a) && !self.leased.contains_key(&a) {
                self.leased.insert(a, instance);
                self.cursor = (off + 1) % size;
                return Ok(a);
            }
        }
        Err(Error::NoMoreAddresses {
            pool: self.cidr.to_string(),
        })
    }

    /// Leases exactly `a`: [`Error::InvalidInput`] if it is outside the
    /// range or reserved, [`Error::Conflict`] if it is leased.
    pub fn allocate_specific(&mut self, a: Ipv4Addr, instance: InstanceId) -> Result<()> {
        if !self.is_assignable(a) {
            return Err(Error::invalid(format!(
                "{a} is not assignable in {}",
                self.cidr
            )));
        }
        if let Some(h) = self.leased.get(&a) {
            return Err(Error::conflict(format!(
                "{a} is already leased to instance {h}"
            )));
        }
        self.leased.insert(a, instance);
        Ok(())
    }

    /// Gives `a` back; [`Error::NotFound`] if it was not leased.
    pub fn release(&mut self, a: Ipv4Addr) -> Result<InstanceId> {
        self.leased
            .remove(&a)
            .ok_or_else(|| Error::not_found(format!("fixed ip {a}")))
    }

    /// Gives back every address of `instance`, returning them.
    pub fn release_instance(&mut self, instance: &InstanceId) -> Vec<Ipv4Addr> {
        let mine: Vec<Ipv4Addr> = self
            .leased
            .iter()
            .filter(|(_, i)| *i == instance)
            .map(|(a, _)| *a)
            .collect();
        for a in &mine {
            self.leased.remove(a);
        }
        mine
    }

    /// The current leases, by address.
    pub fn leases(&self) -> &BTreeMap<Ipv4Addr, InstanceId> {
        &self.leased
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ipam(cidr: &str) -> Ipam {
        let c: Ipv4Cidr = cidr.parse().unwrap();
        Ipam::new(c, c.nth(1).unwrap(), &[])
    }

    #[test]
    fn a_slash_29_has_five_guest_addresses() {
        let mut m = ipam("10.0.0.0/29");
        assert_eq!(m.free_count(), 5);
        let got: Vec<_> = (0..5)
            .map(|_| m.allocate(InstanceId::new_v4()).unwrap())
            .collect();
        let want: Vec<Ipv4Addr> = (2..=6).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        assert_eq!(got, want);
        let e = m.allocate(InstanceId::new_v4()).unwrap_err();
        assert!(matches!(e, Error::NoMoreAddresses { .. }), "{e:?}");
    }

    #[test]
    fn release_by_instance_and_specific_leases() {
        let mut m = ipam("10.0.0.0/24");
        let vm = InstanceId::new_v4();
        let a = m.allocate(vm).unwrap();
        m.allocate_specific(Ipv4Addr::new(10, 0, 0, 50), vm)
            .unwrap();
        assert!(m
            .allocate_specific(Ipv4Addr::new(10, 0, 0, 50), vm)
            .is_err());
        assert!(m.allocate_specific(Ipv4Addr::new(10, 0, 0, 1), vm).is_err());
        assert!(m
            .allocate_specific(Ipv4Addr::new(10, 0, 0, 255), vm)
            .is_err());
        assert!(m.allocate_specific(Ipv4Addr::new(10, 0, 1, 5), vm).is_err());
        assert_eq!(m.holder(a), Some(vm));
        let mut gone = m.release_instance(&vm);
        gone.sort();
        assert_eq!(gone, vec![a, Ipv4Addr::new(10, 0, 0, 50)]);
        assert!(m.release(a).is_err());
        assert_eq!(m.free_count(), 253);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc,
        Release(usize),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        proptest::collection::vec(
            prop_oneof![3 => Just(Op::Alloc), 1 => (0usize..64).prop_map(Op::Release)],
            0..200,
        )
    }

    proptest! {
        #[test]
        fn never_reserved_never_twice(prefix in 24u8..=30, ops in ops()) {
            let c = Ipv4Cidr::new(Ipv4Addr::new(192, 168, 4, 0), prefix).unwrap();
            let gw = c.nth(1).unwrap();
            let mut m = Ipam::new(c, gw, &[]);
            let initial = m.free_count();
            let mut held: Vec<Ipv4Addr> = Vec::new();
            for op in ops {
                match op {
                    Op::Alloc => {
                        if let Ok(a) = m.allocate(InstanceId::new_v4()) {
                            prop_assert!(a != c.network() && a != c.broadcast() && a != gw);
                            prop_assert!(c.contains(a));
                            prop_assert!(!held.contains(&a), "{a} handed out twice");
                            held.push(a);
                        } else {
                            prop_assert_eq!(m.free_count(), 0);
                        }
                    }
                    Op::Release(i) if !held.is_empty() => {
                        let a = held.swap_remove(i % held.len());
                        m.release(a).unwrap();
                    }
                    Op::Release(_) => {}
                }
                prop_assert_eq!(m.free_count() + held.len() as u64, initial);
            }
            for a in held.drain(..) {
                m.release(a).unwrap();
            }
            prop_assert_eq!(m.free_count(), initial);
        }
    }
}
