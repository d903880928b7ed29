//! The simple schedulers: [`ChanceScheduler`], [`SimpleScheduler`] and
//! [`ZoneScheduler`]. Each considers only enabled, live, allowed hosts
//! with enough free resources (no overcommit).

use std::sync::{Mutex, MutexGuard};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::{candidate, no_valid_host, HostState, RequestSpec, Scheduler};
use crate::error::Result;
use crate::model::HostName;

fn fitting<'a>(hosts: &'a [HostState], spec: &RequestSpec) -> Vec<&'a HostState> {
    hosts
        .iter()
        .filter(|h| candidate(h, spec) && h.free().fits(spec.resources))
        .collect()
}

#[derive(Debug)]
struct Rng(Mutex<StdRng>);

impl Rng {
    fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_entropy(),
        };
        Self(Mutex::new(rng))
    }

    fn lock(&self) -> MutexGuard<'_, StdRng> {
        // The RNG state stays valid whatever panicked.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pick(&self, hosts: &[&HostState]) -> Option<HostName> {
        hosts.choose(&mut *self.lock()).map(|h| h.host.clone())
    }
}

/// A random host among those that fit.
#[derive(Debug)]
pub struct ChanceScheduler {
    rng: Rng,
}

impl ChanceScheduler {
    /// Seeded (reproducible) or, with `None`, from OS entropy.
    pub fn new(seed: Option<u64>) -> Self {
        Self {
            rng: Rng::new(seed),
        }
    }
}

impl Scheduler for ChanceScheduler {
    fn name(&self) -> &'static str {
        "chance"
    }

    fn select_host(&self, hosts: &[HostState], spec: &RequestSpec) -> Result<HostName> {
        self.rng
            .pick(&fitting(hosts, spec))
            .ok_or_else(|| no_valid_host("no host fits"))
    }
}

/// A random host in the requested availability zone (any zone if none).
#[derive(Debug)]
pub struct ZoneScheduler {
    rng: Rng,
}

impl ZoneScheduler {
    /// Seeded (reproducible) or, with `None`, from OS entropy.
    pub fn new(seed: Option<u64>) -> Self {
        Self {
            rng: Rng::new(seed),
        }
    }
}

impl Scheduler for ZoneScheduler {
    fn name(&self) -> &'static str {
        "zone"
    }

    fn select_host(&self, hosts: &[HostState], spec: &RequestSpec) -> Result<HostName> {
        let mut left = fitting(hosts, spec);
        if let Some(z) = &spec.availability_zone {
            left.retain(|h| h.zone == *z);
        }
        self.rng
            .pick(&left)
            .ok_or_else(|| no_valid_host("no host fits in the zone"))
    }
}

/// The least loaded host: fewest vCPUs in use, then least RAM in use,
/// then the smallest name.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleScheduler;

impl Scheduler for SimpleScheduler {
    fn name(&self) -> &'static str {
        "simple"
    }

    fn select_host(&self, hosts: &[HostState], spec: &RequestSpec) -> Result<HostName> {
        fitting(hosts, spec)
            .into_iter()
            .min_by(|a, b| {
                (a.used.vcpus, a.used.memory_mb, &a.host).cmp(&(
                    b.used.vcpus,
                    b.used.memory_mb,
                    &b.host,
                ))
            })
            .map(|h| h.host.clone())
            .ok_or_else(|| no_valid_host("no host fits"))
    }
}
