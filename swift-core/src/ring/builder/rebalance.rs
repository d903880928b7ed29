//! Rebalance: gather the replicas that must or should move, then place
//! each on the device that best keeps replicas apart and balance even.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::tiers::{Tree, NONE};
use super::{RebalanceOptions, RebalanceReport, RingBuilder};
use crate::error::{Error, Result};

/// Passes that shed replicas from overweight devices; later passes only
/// run while the previous one moved something.
const PASSES: usize = 3;

/// One replica slot to (re)place.
#[derive(Debug, Clone, Copy)]
struct Slot {
    part: u32,
    replica: u8,
}

impl RingBuilder {
    /// Assigns partition replicas to devices.
    ///
    /// Replicas on removed devices always move. Other replicas move to fix
    /// dispersion (two replicas in a tier that should hold one) or balance
    /// (a device above its weighted share), but a partition moves at most
    /// once per `min_part_hours` (and then only one replica per rebalance).
    /// The result depends only on the builder state and `opts`.
    ///
    /// Fails with [`Error::InvalidConfig`] when no device has weight.
    pub fn rebalance(&mut self, opts: &RebalanceOptions) -> Result<RebalanceReport> {
        if !self.devices().any(|d| d.weight > 0.0) {
            return Err(Error::config("no devices with weight above 0"));
        }
        let parts = self.partition_count();
        if self.table.len() != self.replicas || self.table.iter().any(|r| r.len() != parts) {
            self.table = vec![vec![NONE; parts]; self.replicas];
            self.last_move = vec![0; parts];
        }
        if self.last_move.len() != parts {
            self.last_move = vec![0; parts];
        }
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let old = self.table.clone();
        let assigned: Vec<i64> = self.parts_per_device().iter().map(|&c| c as i64).collect();
        let mut tree = Tree::new(&self.devices, self.replicas, parts, &assigned);
        let mut moved_now = vec![false; parts];

        // Replicas on removed devices (and first placement) must move.
        let mut slots = Vec::new();
        for (r, row) in self.table.iter_mut().enumerate() {
            for (p, dev) in row.iter_mut().enumerate() {
                if *dev == NONE || !tree.has(*dev) {
                    slots.push(Slot {
                        part: p as u32,
                        replica: r as u8,
                    });
                    moved_now[p] = true;
                    *dev = NONE;
                }
            }
        }
        self.gather_dispersion(&mut tree, opts.now, &mut moved_now, &mut slots);
        slots.shuffle(&mut rng);
        self.place(&mut tree, &slots);
        for _ in 0..PASSES {
            if self.shed_overweight(&mut tree, opts.now, &old, &mut rng, &mut moved_now) == 0 {
                break;
            }
        }

        let mut moved = 0;
        for (row, old_row) in self.table.iter().zip(&old) {
            for (p, (new, was)) in row.iter().zip(old_row).enumerate() {
                if new != was {
                    moved += 1;
                    self.last_move[p] = opts.now;
                }
            }
        }
        Ok(RebalanceReport {
            moved,
            balance: self.balance(),
        })
    }

    fn movable(&self, part: usize, now: u64, moved_now: &[bool]) -> bool {
        let wait = u64::from(self.min_part_hours) * 3600;
        if wait == 0 {
            return true;
        }
        !moved_now[part] && now.saturating_sub(self.last_move[part]) >= wait
    }

    /// The devices of a partition's replicas, skipping unassigned slots.
    fn placed(&self, part: usize, out: &mut Vec<u16>) {
        out.clear();
        out.extend(
            self.table
                .iter()
                .filter_map(|row| row.get(part).copied())
                .filter(|&d| d != NONE),
        );
    }

    /// Takes one replica of each movable partition that breaks a tier cap.
    fn gather_dispersion(
        &mut self,
        tree: &mut Tree,
        now: u64,
        moved_now: &mut [bool],
        slots: &mut Vec<Slot>,
    ) {
        let mut placed = Vec::with_capacity(self.replicas);
        for p in 0..self.partition_count() {
            if !self.movable(p, now, moved_now) {
                continue;
            }
            self.placed(p, &mut placed);
            // Among violating replicas, take the one on the device that
            // most exceeds its target.
            let worst = (0..self.replicas)
                .filter(|&r| {
                    let d = self.table[r][p];
                    d != NONE && tree.violates(d, &placed)
                })
                .min_by_key(|&r| tree.want[usize::from(self.table[r][p])]);
            if let Some(r) = worst {
                let from = self.table[r][p];
                tree.adjust(from, 1);
                self.table[r][p] = NONE;
                moved_now[p] = true;
                slots.push(Slot {
                    part: p as u32,
                    replica: r as u8,
                });
            }
        }
    }

    /// Moves replicas off devices above their target, each straight to
    /// the best device if that one is below its target, visiting
    /// partitions in a seeded random order. A replica already moved in
    /// this rebalance may move again (it is still one move); others only
    /// when their partition may move. Returns the number of moves.
    fn shed_overweight(
        &mut self,
        tree: &mut Tree,
        now: u64,
        old: &[Vec<u16>],
        rng: &mut ChaCha8Rng,
        moved_now: &mut [bool],
    ) -> usize {
        if !tree.want.iter().any(|&w| w < 0) {
            return 0;
        }
        let mut order: Vec<u32> = (0..self.partition_count() as u32).collect();
        order.shuffle(rng);
        let mut placed = Vec::with_capacity(self.replicas);
        let mut moves = 0;
        for p in order {
            let p = p as usize;
            for (r, old_row) in old.iter().enumerate() {
                let d = self.table[r][p];
                if d == NONE || tree.want[usize::from(d)] >= 0 {
                    continue;
                }
                let again = old_row.get(p) != Some(&d);
                if !again && !self.movable(p, now, moved_now) {
                    continue;
                }
                self.table[r][p] = NONE;
                tree.adjust(d, 1);
                self.placed(p, &mut placed);
                let to = tree
                    .choose_wanting(&placed)
                    .filter(|&c| c != d)
                    .unwrap_or(d);
                tree.adjust(to, -1);
                self.table[r][p] = to;
                if to != d {
                    moved_now[p] = true;
                    moves += 1;
                }
            }
        }
        moves
    }

    /// Places gathered slots on the best device for each.
    fn place(&mut self, tree: &mut Tree, slots: &[Slot]) {
        let mut placed = Vec::with_capacity(self.replicas);
        for s in slots {
            let p = s.part as usize;
            self.placed(p, &mut placed);
            let Some(dev) = tree.choose(&placed) else {
                continue;
            };
            tree.adjust(dev, -1);
            self.table[usize::from(s.replica)][p] = dev;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ring::{DeviceSpec, RebalanceOptions, RingBuilder};

    fn builder(devices: u8, replicas: usize) -> RingBuilder {
        let mut b = RingBuilder::create(5, replicas, 1).unwrap();
        for z in 0..devices {
            b.add(DeviceSpec::new(
                1,
                z,
                "10.0.0.1",
                6200 + u16::from(z),
                "sda",
                1.0,
            ))
            .unwrap();
        }
        b
    }

    #[test]
    fn fewer_devices_than_replicas_still_fills_every_slot() {
        let mut b = builder(2, 3);
        b.rebalance(&RebalanceOptions::at(10, 0)).unwrap();
        let ring = b.build();
        assert!(ring.replica2part2dev.iter().flatten().all(|&d| d < 2));
        assert_eq!(ring.primary_nodes(3).len(), 2);
    }

    #[test]
    fn zero_weight_drains_and_removal_is_immediate() {
        const T: u64 = 1_000_000;
        let mut b = builder(5, 3);
        b.rebalance(&RebalanceOptions::at(T, 0)).unwrap();
        b.set_weight(4, 0.0).unwrap();
        // Within min_part_hours nothing moves but removals.
        assert_eq!(
            b.rebalance(&RebalanceOptions::at(T + 10, 0)).unwrap().moved,
            0
        );
        b.pretend_min_part_hours_passed();
        b.rebalance(&RebalanceOptions::at(T + 20, 0)).unwrap();
        assert_eq!(b.parts_per_device()[4], 0);
        let held = b.parts_per_device()[3];
        assert_eq!(held, 24);
        b.remove(3).unwrap();
        let moved = b.rebalance(&RebalanceOptions::at(T + 30, 0)).unwrap().moved;
        assert_eq!(moved, held);
        assert_eq!(b.parts_per_device()[3], 0);
        let err = RingBuilder::create(4, 3, 0)
            .unwrap()
            .rebalance(&RebalanceOptions::at(0, 0));
        assert!(err.is_err());
    }
}
