//! The conformance suite every [`Scheduler`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{HostState, RequestSpec, Scheduler};
use crate::error::Error;
use crate::model::{HostName, Resources, ZoneName};

/// Runs every scenario against `s`.
pub fn run_all(s: &dyn Scheduler) {
    empty_host_list_is_no_valid_host(s);
    never_a_disabled_or_down_host(s);
    never_a_host_without_room(s);
    select_hosts_counts_each_pick(s);
    requested_and_ignored_hosts_are_honoured(s);
}

/// A host named `name` in zone `nova` with `disk_gb` of disk and plenty
/// of the rest; enabled and up.
pub fn host(name: &str, disk_gb: u64) -> HostState {
    HostState {
        host: HostName::new(name).unwrap(),
        zone: ZoneName::default_zone(),
        total: Resources {
            vcpus: 64,
            memory_mb: 1 << 20,
            disk_gb,
        },
        used: Resources::default(),
        instances: Default::default(),
        enabled: true,
        up: true,
    }
}

fn spec(disk_gb: u64) -> RequestSpec {
    RequestSpec::new(Resources {
        vcpus: 1,
        memory_mb: 512,
        disk_gb,
    })
}

fn assert_no_valid_host(r: crate::Result<impl std::fmt::Debug>) {
    match r {
        Err(e @ Error::NoValidHost { .. }) => {
            assert!(e.to_string().starts_with("No valid host was found"), "{e}")
        }
        other => panic!("expected NoValidHost, got {other:?}"),
    }
}

/// No hosts at all: `NoValidHost`.
pub fn empty_host_list_is_no_valid_host(s: &dyn Scheduler) {
    assert_no_valid_host(s.select_host(&[], &spec(1)));
}

/// Disabled and down hosts are never chosen, however roomy.
pub fn never_a_disabled_or_down_host(s: &dyn Scheduler) {
    let mut disabled = host("disabled", 10_000);
    disabled.enabled = false;
    let mut down = host("down", 10_000);
    down.up = false;
    let ok = host("ok", 10);
    let hosts = [disabled.clone(), ok, down.clone()];
    for _ in 0..50 {
        assert_eq!(s.select_host(&hosts, &spec(1)).unwrap().as_str(), "ok");
    }
    assert_no_valid_host(s.select_host(&[disabled, down], &spec(1)));
}

/// A host too small for the request is never chosen.
pub fn never_a_host_without_room(s: &dyn Scheduler) {
    let hosts = [host("small", 5), host("big", 50)];
    for _ in 0..50 {
        assert_eq!(s.select_host(&hosts, &spec(10)).unwrap().as_str(), "big");
    }
    assert_no_valid_host(s.select_host(&hosts[..1], &spec(10)));
}

/// Each pick of a multi-instance request uses up room on its host.
pub fn select_hosts_counts_each_pick(s: &dyn Scheduler) {
    let hosts = [host("a", 10), host("b", 10)];
    let mut two = spec(10);
    two.num_instances = 2;
    let mut picks = s.select_hosts(&hosts, &two).unwrap();
    picks.sort();
    let names: Vec<&str> = picks.iter().map(|h| h.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let mut three = spec(10);
    three.num_instances = 3;
    assert_no_valid_host(s.select_hosts(&hosts, &three));
}

/// `requested_host` restricts the choice; `ignore_hosts` removes hosts.
pub fn requested_and_ignored_hosts_are_honoured(s: &dyn Scheduler) {
    let mut down = host("h3", 100);
    down.up = false;
    let hosts = [host("h1", 100), host("h2", 100), down];
    let mut req = spec(1);
    req.requested_host = Some(HostName::new("h2").unwrap());
    for _ in 0..20 {
        assert_eq!(s.select_host(&hosts, &req).unwrap().as_str(), "h2");
    }
    req.requested_host = Some(HostName::new("h3").unwrap());
    assert_no_valid_host(s.select_host(&hosts, &req));
    let mut req = spec(1);
    req.ignore_hosts = vec![HostName::new("h1").unwrap()];
    for _ in 0..20 {
        assert_eq!(s.select_host(&hosts, &req).unwrap().as_str(), "h2");
    }
}
