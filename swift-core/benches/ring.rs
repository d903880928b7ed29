//! Ring lookup and rebalance benchmarks.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use swift_core::hash::HashConfig;
use swift_core::ring::{DeviceSpec, RebalanceOptions, RingBuilder};

/// 100 devices over 5 zones, 20 hosts per zone, mixed weights.
fn builder(part_power: u8) -> RingBuilder {
    let mut b = RingBuilder::create(part_power, 3, 1).unwrap();
    for i in 0..100u16 {
        let zone = (i % 5) as u8 + 1;
        let ip = format!("10.0.{zone}.{}", i / 5);
        let weight = 100.0 + f64::from(i % 3) * 50.0;
        b.add(DeviceSpec::new(1, zone, ip, 6200, "sdb", weight))
            .unwrap();
    }
    b
}

fn lookup(c: &mut Criterion) {
    let mut b = builder(18);
    b.rebalance(&RebalanceOptions::at(1_700_000_000, 1))
        .unwrap();
    let ring = b.build();
    let hash = HashConfig::new("prefix", "suffix");
    let names: Vec<String> = (0..1024).map(|i| format!("object-{i}")).collect();
    let mut i = 0usize;
    c.bench_function("ring/partition_for+primary_nodes", |bench| {
        bench.iter(|| {
            i = (i + 1) % names.len();
            let part = ring.partition_for(&hash, "AUTH_test", Some("photos"), Some(&names[i]));
            black_box(ring.primary_nodes(part).len())
        })
    });
    let mut part = 0u32;
    c.bench_function("ring/handoff_nodes", |bench| {
        bench.iter(|| {
            part = (part + 7919) % ring.partition_count();
            black_box(ring.handoff_nodes(part).len())
        })
    });
}

fn rebalance(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring");
    group.sample_size(10);
    group.bench_function("rebalance 2^18 parts x3, 100 devices, 5 zones", |bench| {
        bench.iter_batched(
            || builder(18),
            |mut b| {
                let r = b
                    .rebalance(&RebalanceOptions::at(1_700_000_000, 1))
                    .unwrap();
                black_box(r.balance)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, lookup, rebalance);
criterion_main!(benches);
