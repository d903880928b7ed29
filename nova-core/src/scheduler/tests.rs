use proptest::prelude::*;

use super::conformance::{self, host};
use super::filter::default_filters;
use super::weigher::RamWeigher;
use super::*;
use crate::model::ZoneName;

fn all_schedulers() -> Vec<Box<dyn Scheduler>> {
    vec![
        Box::new(ChanceScheduler::new(Some(7))),
        Box::new(SimpleScheduler),
        Box::new(ZoneScheduler::new(Some(7))),
        Box::new(FilterScheduler::default()),
    ]
}

#[test]
fn every_scheduler_conforms() {
    for s in all_schedulers() {
        conformance::run_all(s.as_ref());
    }
}

fn spec(mem: u64) -> RequestSpec {
    RequestSpec::new(Resources {
        vcpus: 1,
        memory_mb: mem,
        disk_gb: 1,
    })
}

fn in_zone(name: &str, zone: &str) -> HostState {
    let mut h = host(name, 100);
    h.zone = ZoneName::new(zone).unwrap();
    h
}

#[test]
fn zone_scheduler_stays_in_the_zone() {
    let s = ZoneScheduler::new(Some(1));
    let hosts = [
        in_zone("a", "east"),
        in_zone("b", "west"),
        in_zone("c", "west"),
    ];
    let mut req = spec(1);
    req.availability_zone = Some(ZoneName::new("east").unwrap());
    for _ in 0..20 {
        assert_eq!(s.select_host(&hosts, &req).unwrap().as_str(), "a");
    }
    req.availability_zone = Some(ZoneName::new("north").unwrap());
    assert!(s.select_host(&hosts, &req).is_err());
    let f = FilterScheduler::default();
    req.availability_zone = Some(ZoneName::new("west").unwrap());
    assert_ne!(f.select_host(&hosts, &req).unwrap().as_str(), "a");
}

#[test]
fn chance_scheduler_spreads_over_hosts() {
    let s = ChanceScheduler::new(Some(3));
    let hosts = [host("a", 100), host("b", 100), host("c", 100)];
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        seen.insert(s.select_host(&hosts, &spec(1)).unwrap());
    }
    assert_eq!(seen.len(), 3);
}

#[test]
fn simple_scheduler_picks_least_loaded() {
    let mut a = host("a", 100);
    a.used.vcpus = 3;
    let mut b = host("b", 100);
    b.used.vcpus = 1;
    let c = {
        let mut c = host("c", 100);
        c.used.vcpus = 1;
        c.used.memory_mb = 10;
        c
    };
    assert_eq!(
        SimpleScheduler
            .select_host(&[a, b, c], &spec(1))
            .unwrap()
            .as_str(),
        "b"
    );
}

#[test]
fn ram_weigher_spreads_and_negative_multiplier_stacks() {
    let mut a = host("a", 100);
    a.used.memory_mb = 1000;
    let b = host("b", 100);
    let hosts = [a, b];
    assert_eq!(
        FilterScheduler::default()
            .select_host(&hosts, &spec(1))
            .unwrap()
            .as_str(),
        "b"
    );
    let stack = FilterScheduler::new(
        default_filters(),
        vec![Box::new(RamWeigher { multiplier: -1.0 })],
    );
    assert_eq!(stack.select_host(&hosts, &spec(1)).unwrap().as_str(), "a");
}

#[test]
fn ram_filter_overcommits_by_ratio() {
    let mut h = host("a", 100);
    h.total.memory_mb = 1000;
    h.used.memory_mb = 1000;
    let f = filter::RamFilter::default();
    assert!(f.passes(&h, &spec(500)));
    assert!(!f.passes(&h, &spec(501)));
}

#[test]
fn same_and_different_host_hints() {
    let vm = InstanceId::new_v4();
    let mut a = host("a", 100);
    a.instances.insert(vm);
    let b = host("b", 100);
    let hosts = [a, b];
    let f = FilterScheduler::default();
    let mut req = spec(1);
    req.hints.same_host = vec![vm];
    assert_eq!(f.select_host(&hosts, &req).unwrap().as_str(), "a");
    let mut req = spec(1);
    req.hints.different_host = vec![vm];
    assert_eq!(f.select_host(&hosts, &req).unwrap().as_str(), "b");
}

#[test]
fn no_valid_host_names_the_filter() {
    let e = FilterScheduler::default()
        .select_host(&[host("a", 100)], &spec(u64::MAX / 4))
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("No valid host was found."), "{msg}");
    assert!(msg.contains("RamFilter returned 0 hosts"), "{msg}");
}

#[test]
fn config_builds_and_rejects() {
    let c: SchedulerConfig = serde_json::from_str(r#"{"kind":"simple"}"#).unwrap();
    assert_eq!(c.build().unwrap().name(), "simple");
    assert_eq!(SchedulerConfig::default().build().unwrap().name(), "filter");
    let mut bad = SchedulerConfig::default();
    bad.filters.push("NoSuchFilter".into());
    assert!(matches!(
        bad.validate(),
        Err(crate::Error::InvalidConfig { .. })
    ));
    let bad = SchedulerConfig {
        ram_allocation_ratio: 0.0,
        ..SchedulerConfig::default()
    };
    assert!(bad.validate().is_err());
    assert!(serde_json::from_str::<SchedulerConfig>(r#"{"nope":1}"#).is_err());
}

fn arb_host() -> impl Strategy<Value = HostState> {
    (
        0u8..8,
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        1u32..32,
        0u32..40,
        256u64..8192,
        0u64..10000,
        1u64..200,
        0u64..250,
    )
        .prop_map(
            |(n, z, enabled, up, vcpus, uv, mem, um, disk, ud)| HostState {
                host: HostName::new(format!("h{n}")).unwrap(),
                zone: ZoneName::new(format!("z{z}")).unwrap(),
                total: Resources {
                    vcpus,
                    memory_mb: mem,
                    disk_gb: disk,
                },
                used: Resources {
                    vcpus: uv,
                    memory_mb: um,
                    disk_gb: ud,
                },
                instances: Default::default(),
                enabled,
                up,
            },
        )
}

fn arb_spec() -> impl Strategy<Value = RequestSpec> {
    (
        1u32..8,
        64u64..4096,
        0u64..100,
        proptest::option::of(0u8..3),
    )
        .prop_map(|(v, m, d, z)| {
            let mut s = RequestSpec::new(Resources {
                vcpus: v,
                memory_mb: m,
                disk_gb: d,
            });
            s.availability_zone = z.map(|z| ZoneName::new(format!("z{z}")).unwrap());
            s
        })
}

proptest! {
    #[test]
    fn chosen_host_passes_every_filter(hosts in proptest::collection::vec(arb_host(), 0..12), req in arb_spec()) {
        let f = FilterScheduler::default();
        if let Ok(pick) = f.select_host(&hosts, &req) {
            let chosen: Vec<_> = hosts.iter().filter(|h| h.host == pick).collect();
            prop_assert!(chosen.iter().any(|h| f.filters().iter().all(|flt| flt.passes(h, &req))));
        } else {
            // No host passing all filters may exist when it says so.
            prop_assert!(!hosts.iter().any(|h| candidate(h, &req) && f.filters().iter().all(|flt| flt.passes(h, &req))));
        }
    }

    #[test]
    fn no_scheduler_picks_disabled_or_down(hosts in proptest::collection::vec(arb_host(), 0..12), req in arb_spec()) {
        for s in all_schedulers() {
            if let Ok(pick) = s.select_host(&hosts, &req) {
                prop_assert!(hosts.iter().any(|h| h.host == pick && h.enabled && h.up), "{} picked {pick}", s.name());
            }
        }
    }

    #[test]
    fn weighing_is_stable_under_permutation(mut hosts in proptest::collection::vec(arb_host(), 1..10), req in arb_spec()) {
        // Distinct names, so that a permutation is the same input.
        for (i, h) in hosts.iter_mut().enumerate() {
            h.host = HostName::new(format!("u{i}")).unwrap();
        }
        let f = FilterScheduler::default();
        let first = f.select_host(&hosts, &req).ok();
        hosts.reverse();
        prop_assert_eq!(first, f.select_host(&hosts, &req).ok());
    }
}
