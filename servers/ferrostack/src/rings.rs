//! The rings of the embedded cluster: one device `d1` per storage node,
//! node `n` (1-based) in zone `n`. Addresses are re-applied on each start
//! so a cluster on port 0 (tests) keeps its data across restarts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::bail;
use swift_core::ring::{Ring, RingKind};

/// Partition power of the embedded rings.
pub(crate) const PART_POWER: u8 = 10;
/// Replicas of every account, container and object.
pub(crate) const REPLICAS: usize = 3;
/// The one device of every embedded node.
pub(crate) const DEVICE: &str = "d1";
/// The three rings.
pub(crate) const KINDS: [RingKind; 3] = [RingKind::Account, RingKind::Container, RingKind::Object];

/// `DIR/rings/<kind>.ring`.
pub(crate) fn ring_file(ring_dir: &Path, kind: RingKind) -> PathBuf {
    ring_dir.join(format!("{}.ring", swift_server::config::ring_name(kind)))
}

/// `DIR/rings/<kind>.builder`.
pub(crate) fn builder_file(ring_dir: &Path, kind: RingKind) -> PathBuf {
    ring_dir.join(format!("{}.builder", swift_server::config::ring_name(kind)))
}

/// The zone of node `index` (0-based).
pub(crate) fn zone_of(index: usize) -> u8 {
    u8::try_from(index + 1).unwrap_or(u8::MAX)
}

/// Points the device of each node at the address it listens on now.
/// Returns whether anything changed. Fails when the ring does not match
/// the node count (it was made for another layout).
pub(crate) fn sync_addresses(ring: &mut Ring, addrs: &[SocketAddr]) -> anyhow::Result<bool> {
    let present = ring.devices.iter().flatten().count();
    if present != addrs.len() {
        bail!(
            "the rings hold {present} devices but {} storage nodes are configured; use a new data dir",
            addrs.len()
        );
    }
    let mut changed = false;
    for (i, addr) in addrs.iter().enumerate() {
        let zone = zone_of(i);
        let Some(dev) = ring.devices.iter_mut().flatten().find(|d| d.zone == zone) else {
            bail!("the rings have no device in zone {zone} (node {})", i + 1);
        };
        let ip = addr.ip().to_string();
        if dev.ip != ip || dev.port != addr.port() {
            dev.ip = ip;
            dev.port = addr.port();
            changed = true;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use swift_core::ring::Device;

    fn ring() -> Ring {
        let dev = |id: u16, zone: u8| {
            Some(Device {
                id,
                region: 1,
                zone,
                ip: "127.0.0.1".into(),
                port: 6200 + u16::from(zone),
                device: DEVICE.into(),
                weight: 100.0,
                meta: String::new(),
            })
        };
        Ring {
            part_power: 1,
            devices: vec![dev(0, 1), dev(1, 2), dev(2, 3)],
            replica2part2dev: vec![vec![0, 1], vec![1, 2], vec![2, 0]],
        }
    }

    #[test]
    fn sync_updates_ports_and_keeps_placement() {
        let mut r = ring();
        let addrs: Vec<SocketAddr> = ["127.0.0.1:6201", "127.0.0.1:6202", "127.0.0.1:6203"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert!(!sync_addresses(&mut r, &addrs).unwrap());
        let moved: Vec<SocketAddr> = ["127.0.0.1:40001", "127.0.0.1:6202", "127.0.0.1:40003"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert!(sync_addresses(&mut r, &moved).unwrap());
        assert_eq!(r.device(0).unwrap().port, 40001);
        assert_eq!(r.device(2).unwrap().port, 40003);
        assert_eq!(r.replica2part2dev, ring().replica2part2dev);
        assert!(sync_addresses(&mut r, &moved[..2]).is_err());
    }
}
