//! Property tests of the ring builder: dispersion, balance, minimal
//! movement, min_part_hours, determinism and persistence.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use proptest::prelude::*;
use swift_core::ring::{DeviceSpec, RebalanceOptions, Ring, RingBuilder};

const T0: u64 = 1_700_000_000;

/// A device layout: (region, zone, weight) per device; each device gets its
/// own host.
#[derive(Debug, Clone)]
struct Layout {
    part_power: u8,
    replicas: usize,
    devices: Vec<(u8, u8, f64)>,
    seed: u64,
}

fn spec(i: usize, region: u8, zone: u8, weight: f64) -> DeviceSpec {
    DeviceSpec::new(
        region,
        zone,
        format!("10.{region}.{zone}.{}", i % 250),
        6200 + (i / 250) as u16,
        format!("d{i}"),
        weight,
    )
}

fn build(l: &Layout, min_part_hours: u32) -> RingBuilder {
    let mut b = RingBuilder::create(l.part_power, l.replicas, min_part_hours).unwrap();
    for (i, &(r, z, w)) in l.devices.iter().enumerate() {
        b.add(spec(i, r, z, w)).unwrap();
    }
    b.rebalance(&RebalanceOptions::at(T0, l.seed)).unwrap();
    b
}

/// Any topology: 1-2 regions, 1-5 zones, 3-16 devices, weights 1-4.
fn any_layout() -> impl Strategy<Value = Layout> {
    (4u8..=7, 1usize..=3, any::<u64>()).prop_flat_map(|(pp, replicas, seed)| {
        prop::collection::vec((1u8..=2, 1u8..=5, 1u32..=4), replicas.max(3)..=16).prop_map(
            move |devs| Layout {
                part_power: pp,
                replicas,
                devices: devs
                    .into_iter()
                    .map(|(r, z, w)| (r, z, f64::from(w)))
                    .collect(),
                seed,
            },
        )
    })
}

/// One region, `zones` zones of equal total weight, 3 replicas.
fn even_zones() -> impl Strategy<Value = Layout> {
    (4u8..=7, 3u8..=6, 1usize..=4, any::<u64>()).prop_map(|(pp, zones, per_zone, seed)| {
        let mut devices = Vec::new();
        for z in 1..=zones {
            for _ in 0..per_zone {
                devices.push((1, z, 10.0));
            }
        }
        Layout {
            part_power: pp,
            replicas: 3,
            devices,
            seed,
        }
    })
}

fn part_devs(ring: &Ring, part: usize) -> Vec<u16> {
    ring.replica2part2dev.iter().map(|row| row[part]).collect()
}

/// Replica slots whose device differs between two builders' rings.
fn moved_slots(a: &Ring, b: &Ring) -> HashSet<(usize, usize)> {
    let mut out = HashSet::new();
    for (r, (ra, rb)) in a
        .replica2part2dev
        .iter()
        .zip(&b.replica2part2dev)
        .enumerate()
    {
        for (p, (x, y)) in ra.iter().zip(rb).enumerate() {
            if x != y {
                out.insert((r, p));
            }
        }
    }
    out
}

/// Largest |parts - target| over devices.
fn max_deviation(b: &RingBuilder) -> f64 {
    let parts = b.parts_per_device();
    let wanted = b.target_parts();
    b.devices()
        .map(|d| (parts[usize::from(d.id)] as f64 - wanted[usize::from(d.id)]).abs())
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_partition_gets_distinct_devices(l in any_layout()) {
        let b = build(&l, 1);
        let ring = b.build();
        prop_assert_eq!(ring.replica_count(), l.replicas);
        for p in 0..ring.partition_count() as usize {
            let devs = part_devs(&ring, p);
            let distinct: HashSet<u16> = devs.iter().copied().collect();
            prop_assert_eq!(distinct.len(), l.replicas, "partition {} on {:?}", p, devs);
            prop_assert!(devs.iter().all(|&d| ring.device(d).is_some()));
        }
    }

    #[test]
    fn zones_are_distinct_when_there_are_enough(l in even_zones()) {
        let b = build(&l, 1);
        let ring = b.build();
        for p in 0..ring.partition_count() as usize {
            let zones: HashSet<u8> = part_devs(&ring, p)
                .iter()
                .map(|&d| ring.device(d).unwrap().zone)
                .collect();
            prop_assert_eq!(zones.len(), 3, "partition {}", p);
        }
        prop_assert!(max_deviation(&b) <= 2.0, "deviation {}", max_deviation(&b));
    }

    #[test]
    fn load_follows_weight(l in any_layout()) {
        let b = build(&l, 1);
        // Dispersion caps can cost a few partitions on tiny rings; the
        // tolerance is 3 partitions or 5% of the wanted count.
        let wanted = b.target_parts();
        let parts = b.parts_per_device();
        for d in b.devices() {
            let w = wanted[usize::from(d.id)];
            let got = parts[usize::from(d.id)] as f64;
            prop_assert!((got - w).abs() <= f64::max(3.0, 0.05 * w),
                "device {} holds {} wants {:.1}", d.id, got, w);
        }
    }

    #[test]
    fn adding_a_device_moves_about_its_share(l in any_layout(), zone in 1u8..=5, w in 1u32..=4) {
        let mut b = build(&l, 1);
        let before = b.build();
        let parts_before = b.parts_per_device();
        b.pretend_min_part_hours_passed();
        let id = b.add(spec(999, 1, zone, f64::from(w))).unwrap();
        let report = b.rebalance(&RebalanceOptions::at(T0 + 7200, l.seed)).unwrap();
        let after = b.build();
        let moved = moved_slots(&before, &after).len();
        prop_assert_eq!(moved, report.moved);
        // The fewest moves that reach the new weighted shares: the new
        // device's share plus any deficit the old ring already had.
        let need: f64 = b
            .target_parts()
            .iter()
            .enumerate()
            .map(|(i, &w)| (w - parts_before.get(i).copied().unwrap_or(0) as f64).max(0.0))
            .sum();
        let share = b.target_parts()[usize::from(id)];
        let slack = 2.0 + 0.1 * share + l.replicas as f64;
        prop_assert!(moved as f64 <= need + slack,
            "moved {} for a share of {:.1}, minimum {:.1}", moved, share, need);
    }

    #[test]
    fn same_inputs_give_the_same_ring(l in any_layout()) {
        prop_assert_eq!(build(&l, 1), build(&l, 1));
    }

    #[test]
    fn min_part_hours_is_respected(l in any_layout(), w in 1u32..=8) {
        let mut b = build(&l, 1);
        b.pretend_min_part_hours_passed();
        let r0 = b.build();
        b.add(spec(998, 1, 1, f64::from(w))).unwrap();
        b.rebalance(&RebalanceOptions::at(T0 + 10_000, l.seed)).unwrap();
        let r1 = b.build();
        let first: HashSet<usize> = moved_slots(&r0, &r1).iter().map(|&(_, p)| p).collect();
        // At most one replica of a partition moves per rebalance.
        prop_assert_eq!(first.len(), moved_slots(&r0, &r1).len());

        b.set_weight(0, 20.0).unwrap();
        b.add(spec(997, 2, 3, 5.0)).unwrap();
        b.rebalance(&RebalanceOptions::at(T0 + 10_060, l.seed)).unwrap();
        let r2 = b.build();
        let second: HashSet<usize> = moved_slots(&r1, &r2).iter().map(|&(_, p)| p).collect();
        prop_assert!(first.is_disjoint(&second));

        // Once the hours have passed, the change goes through.
        b.pretend_min_part_hours_passed();
        b.rebalance(&RebalanceOptions::at(T0 + 20_000, l.seed)).unwrap();
        prop_assert!(b.parts_per_device()[usize::from(b.devices().last().unwrap().id)] > 0);
    }

    #[test]
    fn removed_devices_are_emptied_even_within_min_part_hours(l in any_layout()) {
        prop_assume!(l.devices.len() > l.replicas);
        let mut b = build(&l, 24);
        b.remove(0).unwrap();
        b.rebalance(&RebalanceOptions::at(T0 + 1, l.seed)).unwrap();
        let ring = b.build();
        for row in &ring.replica2part2dev {
            prop_assert!(row.iter().all(|&d| d != 0 && ring.device(d).is_some()));
        }
    }

    #[test]
    fn saved_rings_and_builders_load_equal(l in any_layout()) {
        let b = build(&l, 1);
        let dir = tempfile::tempdir().unwrap();
        let bp = dir.path().join("object.builder");
        let rp = dir.path().join("object.ring");
        b.save(&bp).unwrap();
        b.build().save(&rp).unwrap();
        prop_assert_eq!(RingBuilder::load(&bp).unwrap(), b.clone());
        prop_assert_eq!(Ring::load(&rp).unwrap(), b.build());
    }
}
