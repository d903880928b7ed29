//! Host filters of the [`super::FilterScheduler`]: each removes the hosts
//! that cannot take a request. Cheap and side-effect free.

use std::fmt;

use super::{HostState, RequestSpec};

/// One scheduler filter.
pub trait HostFilter: Send + Sync + fmt::Debug {
    /// The filter's name, e.g. `RamFilter`.
    fn name(&self) -> &'static str;

    /// Whether `host` can take one instance of `spec`.
    fn passes(&self, host: &HostState, spec: &RequestSpec) -> bool;
}

/// Enabled hosts whose heartbeat is recent (Nova's `ComputeFilter`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ComputeFilter;

impl HostFilter for ComputeFilter {
    fn name(&self) -> &'static str {
        "ComputeFilter"
    }

    fn passes(&self, host: &HostState, _: &RequestSpec) -> bool {
        host.enabled && host.up
    }
}

/// `total * ratio - used >= requested`, as Nova's overcommit filters.
fn fits(total: u64, used: u64, ratio: f64, want: u64) -> bool {
    // f64 is exact for the integers of any real host (< 2^53).
    total as f64 * ratio - used as f64 >= want as f64
}

/// Enough RAM, with an overcommit ratio (Nova default 1.5).
#[derive(Debug, Clone, Copy)]
pub struct RamFilter {
    /// `ram_allocation_ratio`.
    pub ratio: f64,
}

impl Default for RamFilter {
    fn default() -> Self {
        Self { ratio: 1.5 }
    }
}

impl HostFilter for RamFilter {
    fn name(&self) -> &'static str {
        "RamFilter"
    }

    fn passes(&self, h: &HostState, s: &RequestSpec) -> bool {
        fits(
            h.total.memory_mb,
            h.used.memory_mb,
            self.ratio,
            s.resources.memory_mb,
        )
    }
}

/// Enough disk, with an overcommit ratio (Nova default 1.0).
#[derive(Debug, Clone, Copy)]
pub struct DiskFilter {
    /// `disk_allocation_ratio`.
    pub ratio: f64,
}

impl Default for DiskFilter {
    fn default() -> Self {
        Self { ratio: 1.0 }
    }
}

impl HostFilter for DiskFilter {
    fn name(&self) -> &'static str {
        "DiskFilter"
    }

    fn passes(&self, h: &HostState, s: &RequestSpec) -> bool {
        fits(
            h.total.disk_gb,
            h.used.disk_gb,
            self.ratio,
            s.resources.disk_gb,
        )
    }
}

/// Enough vCPUs, with an overcommit ratio (Nova default 16.0).
#[derive(Debug, Clone, Copy)]
pub struct CoreFilter {
    /// `cpu_allocation_ratio`.
    pub ratio: f64,
}

impl Default for CoreFilter {
    fn default() -> Self {
        Self { ratio: 16.0 }
    }
}

impl HostFilter for CoreFilter {
    fn name(&self) -> &'static str {
        "CoreFilter"
    }

    fn passes(&self, h: &HostState, s: &RequestSpec) -> bool {
        fits(
            u64::from(h.total.vcpus),
            u64::from(h.used.vcpus),
            self.ratio,
            u64::from(s.resources.vcpus),
        )
    }
}

/// In the requested availability zone, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct AvailabilityZoneFilter;

impl HostFilter for AvailabilityZoneFilter {
    fn name(&self) -> &'static str {
        "AvailabilityZoneFilter"
    }

    fn passes(&self, h: &HostState, s: &RequestSpec) -> bool {
        s.availability_zone.as_ref().is_none_or(|z| *z == h.zone)
    }
}

/// Holds one of the `same_host` instances, if the hint is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct SameHostFilter;

impl HostFilter for SameHostFilter {
    fn name(&self) -> &'static str {
        "SameHostFilter"
    }

    fn passes(&self, h: &HostState, s: &RequestSpec) -> bool {
        let want = &s.hints.same_host;
        want.is_empty() || want.iter().any(|i| h.instances.contains(i))
    }
}

/// Holds none of the `different_host` instances.
#[derive(Debug, Clone, Copy, Default)]
pub struct DifferentHostFilter;

impl HostFilter for DifferentHostFilter {
    fn name(&self) -> &'static str {
        "DifferentHostFilter"
    }

    fn passes(&self, h: &HostState, s: &RequestSpec) -> bool {
        !s.hints
            .different_host
            .iter()
            .any(|i| h.instances.contains(i))
    }
}

/// Not in `ignore_hosts`, and the `requested_host` if one is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostNameFilter;

impl HostFilter for HostNameFilter {
    fn name(&self) -> &'static str {
        "HostNameFilter"
    }

    fn passes(&self, h: &HostState, s: &RequestSpec) -> bool {
        !s.ignore_hosts.contains(&h.host) && s.requested_host.as_ref().is_none_or(|r| *r == h.host)
    }
}

/// The default filter list, with Nova's default ratios.
pub fn default_filters() -> Vec<Box<dyn HostFilter>> {
    vec![
        Box::new(ComputeFilter),
        Box::new(HostNameFilter),
        Box::new(AvailabilityZoneFilter),
        Box::new(RamFilter::default()),
        Box::new(DiskFilter::default()),
        Box::new(CoreFilter::default()),
        Box::new(SameHostFilter),
        Box::new(DifferentHostFilter),
    ]
}
