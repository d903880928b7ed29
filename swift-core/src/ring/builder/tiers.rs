//! Targets and the failure-domain tree used by rebalance.
//!
//! Each device gets a wanted share of replica slots in proportion to its
//! weight (capped at one replica of every partition when there are enough
//! devices), rounded to integers that sum to exactly `parts * replicas`.
//! Each tier (region, zone, host, device) gets a cap: the most replicas of
//! one partition it should hold, `ceil` of its share of the replicas.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::ring::Device;

/// Marks an unassigned slot in a replica table.
pub(crate) const NONE: u16 = u16::MAX;

/// Levels above the device: region, zone, host.
pub(super) const LEVELS: usize = 3;

/// One region, zone or host.
#[derive(Debug, Clone)]
pub(super) struct Node {
    /// Node indices of the next level down, or device ids for hosts.
    pub(super) children: Vec<u32>,
    /// Most replicas of one partition this node should hold.
    pub(super) cap: u16,
    /// Fewest replicas of one partition this node should hold.
    pub(super) min: u16,
    /// Sum of the targets of the devices below.
    pub(super) target: i64,
    /// Sum of the remaining want of the devices below.
    pub(super) want: i64,
}

/// Devices grouped by failure domain, with per-device targets and wants.
#[derive(Debug, Clone)]
pub(super) struct Tree {
    /// `levels[0]` regions, `levels[1]` zones, `levels[2]` hosts.
    pub(super) levels: [Vec<Node>; LEVELS],
    /// Indices of all regions.
    roots: Vec<u32>,
    /// For each device id: its region, zone and host node (absent devices:
    /// `u32::MAX`).
    pub(super) dev_tier: Vec<[u32; LEVELS]>,
    /// Most replicas of one partition a device should hold.
    pub(super) dev_cap: Vec<u16>,
    /// Fewest replicas of one partition a device should hold.
    pub(super) dev_min: Vec<u16>,
    /// Slots each device should hold.
    pub(super) target: Vec<i64>,
    /// Remaining want: `target - assigned`.
    pub(super) want: Vec<i64>,
}

/// Replica share per device (`share * parts` is its wanted slot count),
/// capped at one replica per partition when enough devices have weight.
pub(super) fn shares(devices: &[Option<Device>], replicas: usize) -> (Vec<f64>, bool) {
    let mut share = vec![0.0; devices.len()];
    let weighted: Vec<usize> = devices
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().filter(|d| d.weight > 0.0).map(|_| i))
        .collect();
    let cap = weighted.len() >= replicas;
    if weighted.is_empty() {
        return (share, cap);
    }
    let mut fixed = vec![false; devices.len()];
    let mut left = replicas as f64;
    // Water-filling: a device cannot hold two replicas of a partition, so a
    // device whose share exceeds 1 gets exactly 1 and the rest is spread
    // over the others by weight.
    loop {
        let total: f64 = weighted
            .iter()
            .filter(|&&i| !fixed[i])
            .map(|&i| weight(devices, i))
            .sum();
        if total <= 0.0 {
            break;
        }
        let mut again = false;
        for &i in weighted.iter().filter(|&&i| !fixed[i]) {
            let s = left * weight(devices, i) / total;
            share[i] = s;
            if cap && s > 1.0 {
                again = true;
            }
        }
        if !again {
            break;
        }
        for &i in &weighted {
            if !fixed[i] && share[i] > 1.0 {
                fixed[i] = true;
                share[i] = 1.0;
                left -= 1.0;
            }
        }
    }
    (share, cap)
}

fn weight(devices: &[Option<Device>], i: usize) -> f64 {
    devices
        .get(i)
        .and_then(Option::as_ref)
        .map_or(0.0, |d| d.weight.max(0.0))
}

fn cap_of(share: f64, replicas: usize) -> u16 {
    let c = (share - 1e-9).ceil().max(0.0) as usize;
    c.min(replicas) as u16
}

fn min_of(share: f64) -> u16 {
    (share + 1e-9).floor().max(0.0) as u16
}

impl Tree {
    /// Builds the tree, targets and wants from the devices and the number
    /// of slots each currently holds.
    pub(super) fn new(
        devices: &[Option<Device>],
        replicas: usize,
        parts: usize,
        assigned: &[i64],
    ) -> Tree {
        let (share, capped) = shares(devices, replicas);
        let n = devices.len();

        // Integer targets: floor, then the remainder by largest fraction;
        // ties go to devices already holding more, so a rebalance with
        // unchanged weights moves nothing.
        let wanted: Vec<f64> = share.iter().map(|s| s * parts as f64).collect();
        let mut target: Vec<i64> = wanted.iter().map(|w| w.floor() as i64).collect();
        let total_slots = if share.iter().any(|&s| s > 0.0) {
            (parts * replicas) as i64
        } else {
            0
        };
        let mut rest = total_slots - target.iter().sum::<i64>();
        let mut order: Vec<usize> = (0..n).filter(|&i| share[i] > 0.0).collect();
        order.sort_by(|&a, &b| {
            let fa = wanted[a] - wanted[a].floor();
            let fb = wanted[b] - wanted[b].floor();
            fb.total_cmp(&fa)
                .then(assigned[b].cmp(&assigned[a]))
                .then(a.cmp(&b))
        });
        // Capped targets must not exceed `parts`; skip devices already there.
        while rest > 0 {
            let before = rest;
            for &i in &order {
                if rest == 0 {
                    break;
                }
                if target[i] < parts as i64 || !capped {
                    target[i] += 1;
                    rest -= 1;
                }
            }
            if rest == before {
                break;
            }
        }

        // Tier nodes, in sorted key order so the tree does not depend on
        // device insertion order beyond ids.
        let mut regions: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
        for (i, d) in devices.iter().enumerate() {
            if let Some(d) = d {
                regions.entry(d.region).or_default().push(i);
            }
        }
        let mut levels: [Vec<Node>; LEVELS] = [Vec::new(), Vec::new(), Vec::new()];
        let mut dev_tier = vec![[u32::MAX; LEVELS]; n];
        let node = |children: Vec<u32>, ids: &[usize]| {
            let s: f64 = ids.iter().map(|&i| share[i]).sum();
            let w: i64 = ids.iter().map(|&i| target[i] - assigned[i]).sum();
            Node {
                children,
                target: ids.iter().map(|&i| target[i]).sum(),
                cap: cap_of(s, replicas),
                min: min_of(s),
                want: w,
            }
        };
        for ids in regions.values() {
            let mut zones: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
            for &i in ids {
                if let Some(d) = &devices[i] {
                    zones.entry(d.zone).or_default().push(i);
                }
            }
            let region_idx = levels[0].len() as u32;
            let mut zone_children = Vec::new();
            for zids in zones.values() {
                let mut hosts: BTreeMap<(&str, u16), Vec<usize>> = BTreeMap::new();
                for &i in zids {
                    if let Some(d) = &devices[i] {
                        hosts.entry((d.ip.as_str(), d.port)).or_default().push(i);
                    }
                }
                let zone_idx = levels[1].len() as u32;
                zone_children.push(zone_idx);
                let mut host_children = Vec::new();
                for hids in hosts.values() {
                    let host_idx = levels[2].len() as u32;
                    host_children.push(host_idx);
                    for &i in hids {
                        dev_tier[i] = [region_idx, zone_idx, host_idx];
                    }
                    let devs = hids.iter().map(|&i| i as u32).collect();
                    levels[2].push(node(devs, hids));
                }
                levels[1].push(node(host_children, zids));
            }
            levels[0].push(node(zone_children, ids));
        }
        let dev_cap = (0..n)
            .map(|i| {
                if capped {
                    cap_of(share[i], 1)
                } else {
                    cap_of(share[i], replicas)
                }
            })
            .collect();
        let dev_min = share.iter().map(|&s| min_of(s)).collect();
        let want = (0..n).map(|i| target[i] - assigned[i]).collect();
        Tree {
            roots: (0..levels[0].len() as u32).collect(),
            levels,
            dev_tier,
            dev_cap,
            dev_min,
            target,
            want,
        }
    }

    /// Records one more (`delta = -1`) or one fewer (`delta = 1`) slot on a
    /// device.
    pub(super) fn adjust(&mut self, dev: u16, delta: i64) {
        let d = usize::from(dev);
        let Some(tiers) = self.dev_tier.get(d).copied() else {
            return;
        };
        if tiers[0] == u32::MAX {
            return;
        }
        self.want[d] += delta;
        for (level, &idx) in tiers.iter().enumerate() {
            if let Some(node) = self.levels[level].get_mut(idx as usize) {
                node.want += delta;
            }
        }
    }

    /// Whether a device is present in the tree.
    pub(super) fn has(&self, dev: u16) -> bool {
        self.dev_tier
            .get(usize::from(dev))
            .is_some_and(|t| t[0] != u32::MAX)
    }

    /// Whether replica `dev` of a partition whose replicas sit on `placed`
    /// (including `dev` itself) exceeds the cap of some tier.
    pub(super) fn violates(&self, dev: u16, placed: &[u16]) -> bool {
        let d = usize::from(dev);
        if !self.has(dev) {
            return true;
        }
        let same_dev = placed.iter().filter(|&&p| p == dev).count();
        if same_dev > usize::from(self.dev_cap[d]) {
            return true;
        }
        let tiers = self.dev_tier[d];
        (0..LEVELS).any(|level| {
            let count = placed
                .iter()
                .filter(|&&p| self.tier_of(p, level) == Some(tiers[level]))
                .count();
            count > usize::from(self.levels[level][tiers[level] as usize].cap)
        })
    }

    fn tier_of(&self, dev: u16, level: usize) -> Option<u32> {
        self.dev_tier
            .get(usize::from(dev))
            .map(|t| t[level])
            .filter(|&t| t != u32::MAX)
    }

    /// The best device for one more replica of a partition whose other
    /// replicas sit on `placed`: walk down region, zone, host, device,
    /// picking at each level the best [`Candidate`].
    pub(super) fn choose(&self, placed: &[u16]) -> Option<u16> {
        let mut candidates: &[u32] = &self.roots;
        for level in 0..LEVELS {
            let best = candidates
                .iter()
                .map(|&idx| self.candidate(level, idx, placed))
                .min_by(Candidate::cmp)?;
            candidates = &self.levels[level][best.idx as usize].children;
        }
        candidates
            .iter()
            .map(|&dev| self.candidate(LEVELS, dev, placed))
            .min_by(Candidate::cmp)
            .map(|c| c.idx as u16)
    }
}

impl Tree {
    fn candidate(&self, level: usize, idx: u32, placed: &[u16]) -> Candidate {
        let (cap, min, want, target) = if level < LEVELS {
            let n = &self.levels[level][idx as usize];
            (n.cap, n.min, n.want, n.target)
        } else {
            let d = idx as usize;
            (
                self.dev_cap[d],
                self.dev_min[d],
                self.want[d],
                self.target[d],
            )
        };
        let count = if level < LEVELS {
            placed
                .iter()
                .filter(|&&p| self.tier_of(p, level) == Some(idx))
                .count()
        } else {
            placed.iter().filter(|&&p| u32::from(p) == idx).count()
        };
        Candidate {
            count,
            cap,
            min,
            want,
            target,
            idx,
        }
    }

    /// Like [`Tree::choose`], but only a device below its target whose
    /// every tier is under its cap for the partition; searches all such
    /// devices, best first.
    pub(super) fn choose_wanting(&self, placed: &[u16]) -> Option<u16> {
        self.search(0, &self.roots, placed)
    }

    fn search(&self, level: usize, nodes: &[u32], placed: &[u16]) -> Option<u16> {
        let mut cands: Vec<Candidate> = nodes
            .iter()
            .map(|&i| self.candidate(level, i, placed))
            .filter(|c| c.count < usize::from(c.cap) && (level < LEVELS || c.want > 0))
            .collect();
        cands.sort_by(Candidate::cmp);
        if level == LEVELS {
            return cands.first().map(|c| c.idx as u16);
        }
        cands.iter().find_map(|c| {
            let children = &self.levels[level][c.idx as usize].children;
            self.search(level + 1, children, placed)
        })
    }
}

/// A node considered for one more replica of a partition.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// Replicas of the partition already in the node.
    count: usize,
    cap: u16,
    min: u16,
    want: i64,
    target: i64,
    idx: u32,
}

impl Candidate {
    /// Better first: under its cap; below its minimum (a node whose share
    /// is a whole replica of every partition must get one); still wanting;
    /// the largest fraction of its target still wanted (so tiers fill at
    /// the same pace and late partitions still find room where their caps
    /// allow); least used by the partition; most wanting; lowest index.
    fn cmp(a: &Self, b: &Self) -> Ordering {
        let flags = |c: &Self| {
            (
                c.count >= usize::from(c.cap),
                c.count >= usize::from(c.min),
                c.want <= 0,
            )
        };
        flags(a)
            .cmp(&flags(b))
            .then_with(|| {
                if a.want > 0 && b.want > 0 {
                    // a.want / a.target > b.want / b.target, without floats.
                    // Both factors are at most parts * replicas < 2^28.
                    let l = a.want * b.target;
                    let r = b.want * a.target;
                    r.cmp(&l)
                } else {
                    Ordering::Equal
                }
            })
            .then(a.count.cmp(&b.count))
            .then(b.want.cmp(&a.want))
            .then(a.idx.cmp(&b.idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: u16, zone: u8, weight: f64) -> Option<Device> {
        Some(Device {
            id,
            region: 1,
            zone,
            ip: format!("10.0.0.{id}"),
            port: 6200,
            device: "sda".into(),
            weight,
            meta: String::new(),
        })
    }

    #[test]
    fn shares_are_capped_at_one_replica() {
        let devs = vec![
            dev(0, 1, 100.0),
            dev(1, 2, 1.0),
            dev(2, 3, 1.0),
            dev(3, 4, 1.0),
        ];
        let (s, capped) = shares(&devs, 3);
        assert!(capped);
        assert!((s[0] - 1.0).abs() < 1e-9);
        assert!((s[1] - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.iter().sum::<f64>() - 3.0).abs() < 1e-9);
    }

    #[test]
    fn targets_sum_to_slots_and_caps_follow_shares() {
        let devs = vec![
            dev(0, 1, 1.0),
            dev(1, 2, 1.0),
            dev(2, 3, 1.0),
            None,
            dev(4, 3, 1.0),
        ];
        let t = Tree::new(&devs, 3, 16, &[0; 5]);
        assert_eq!(t.want.iter().sum::<i64>(), 48);
        assert_eq!(t.want[3], 0);
        // Zone 3 holds half of the weight: 1.5 replicas -> cap 2.
        assert_eq!(t.levels[1].len(), 3);
        assert_eq!(t.levels[1][2].cap, 2);
        assert_eq!(t.levels[1][0].cap, 1);
        let first = t.choose(&[]).unwrap();
        let second = t.choose(&[first]).unwrap();
        assert_ne!(first, second);
    }
}
