//! Scheduler decision over 10,000 hosts, and IPAM allocation in a /16.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use nova_core::model::{HostName, InstanceId, Ipv4Cidr, Resources, ZoneName};
use nova_core::network::Ipam;
use nova_core::scheduler::{
    ChanceScheduler, FilterScheduler, HostState, RequestSpec, Scheduler, SimpleScheduler,
};

/// 10,000 hosts over 10 zones with varied load; every 50th is disabled.
fn hosts() -> Vec<HostState> {
    (0..10_000u64)
        .map(|i| HostState {
            host: HostName::new(format!("compute-{i:05}")).unwrap(),
            zone: ZoneName::new(format!("az{}", i % 10)).unwrap(),
            total: Resources {
                vcpus: 32,
                memory_mb: 131_072,
                disk_gb: 2000,
            },
            used: Resources {
                vcpus: (i % 40) as u32,
                memory_mb: (i * 7919) % 160_000,
                disk_gb: (i * 31) % 2100,
            },
            instances: Default::default(),
            enabled: i % 50 != 0,
            up: true,
        })
        .collect()
}

fn schedulers(c: &mut Criterion) {
    let hosts = hosts();
    let spec = RequestSpec::new(Resources {
        vcpus: 2,
        memory_mb: 4096,
        disk_gb: 40,
    });
    let all: [(&str, Box<dyn Scheduler>); 3] = [
        ("filter", Box::new(FilterScheduler::default())),
        ("simple", Box::new(SimpleScheduler)),
        ("chance", Box::new(ChanceScheduler::new(Some(1)))),
    ];
    for (name, s) in all {
        c.bench_function(&format!("scheduler/{name}/10k_hosts"), |b| {
            b.iter(|| s.select_host(black_box(&hosts), black_box(&spec)).unwrap())
        });
    }
}

fn ipam(c: &mut Criterion) {
    let cidr: Ipv4Cidr = "10.0.0.0/16".parse().unwrap();
    c.bench_function("ipam/allocate_1000_in_slash16", |b| {
        b.iter_batched(
            || Ipam::new(cidr, cidr.nth(1).unwrap(), &[]),
            |mut m| {
                for _ in 0..1000 {
                    black_box(m.allocate(InstanceId::new_v4()).unwrap());
                }
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, schedulers, ipam);
criterion_main!(benches);
