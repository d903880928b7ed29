//! Schedulers: pick a compute host for a request. The [`Scheduler`] trait,
//! the [`ChanceScheduler`], [`SimpleScheduler`], [`ZoneScheduler`] and the
//! [`FilterScheduler`] with its [`HostFilter`]s and [`HostWeigher`]s.
//!
//! Decisions are pure and synchronous: the scheduler service builds
//! [`HostState`]s from the database and heartbeats, then asks.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{ComputeHost, HostName, InstanceId, Resources, ZoneName};

mod basic;
pub mod config;
#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod filter;
mod filter_scheduler;
pub mod weigher;

pub use basic::{ChanceScheduler, SimpleScheduler, ZoneScheduler};
pub use config::{SchedulerConfig, SchedulerKind};
pub use filter::HostFilter;
pub use filter_scheduler::FilterScheduler;
pub use weigher::HostWeigher;

/// A host as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostState {
    /// Host name.
    pub host: HostName,
    /// Its availability zone.
    pub zone: ZoneName,
    /// Resources it offers.
    pub total: Resources,
    /// Resources its instances take.
    pub used: Resources,
    /// Instances on it.
    pub instances: BTreeSet<InstanceId>,
    /// The compute service is enabled.
    pub enabled: bool,
    /// Its heartbeat is recent.
    pub up: bool,
}

impl HostState {
    /// The state of `h` at `now`, with `instances` on it.
    pub fn of(
        h: &ComputeHost,
        now: SystemTime,
        down_time: Duration,
        instances: BTreeSet<InstanceId>,
    ) -> Self {
        Self {
            host: h.host.clone(),
            zone: h.zone.clone(),
            total: h.total,
            used: h.used,
            instances,
            enabled: h.enabled,
            up: h.is_up(now, down_time),
        }
    }

    /// Resources still free.
    pub fn free(&self) -> Resources {
        self.total.minus(self.used)
    }

    /// Records that an instance of `spec` was placed here, so the next pick
    /// of a multi-instance request sees it.
    pub fn consume(&mut self, spec: &RequestSpec) {
        self.used = self.used.plus(spec.resources);
        if let Some(id) = spec.instance_id {
            self.instances.insert(id);
        }
    }
}

/// Placement hints (`os:scheduler_hints`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerHints {
    /// Place on a host that holds one of these instances.
    pub same_host: Vec<InstanceId>,
    /// Place on a host that holds none of these instances.
    pub different_host: Vec<InstanceId>,
}

/// What to place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestSpec {
    /// The instance, when known.
    pub instance_id: Option<InstanceId>,
    /// Size of one instance.
    pub resources: Resources,
    /// How many instances (min/max count); each gets a host.
    pub num_instances: u32,
    /// Requested availability zone.
    pub availability_zone: Option<ZoneName>,
    /// Only this host (live migration `--host`, admin `zone:host`).
    pub requested_host: Option<HostName>,
    /// Never these hosts (e.g. the source of a migration).
    pub ignore_hosts: Vec<HostName>,
    /// Hints.
    pub hints: SchedulerHints,
}

impl RequestSpec {
    /// One instance of `resources`.
    pub fn new(resources: Resources) -> Self {
        Self {
            resources,
            num_instances: 1,
            ..Self::default()
        }
    }
}

/// The hosts any scheduler may consider: enabled, up, not ignored, and the
/// requested host when there is one.
pub fn candidate(h: &HostState, spec: &RequestSpec) -> bool {
    h.enabled
        && h.up
        && !spec.ignore_hosts.contains(&h.host)
        && spec.requested_host.as_ref().is_none_or(|r| *r == h.host)
}

/// The error for an empty choice, with Nova's message.
pub fn no_valid_host(detail: impl fmt::Display) -> Error {
    Error::NoValidHost {
        reason: format!("There are not enough hosts available ({detail})."),
    }
}

/// Chooses compute hosts. Object-safe; shared as `Arc<dyn Scheduler>`.
/// Implementations never choose a disabled or down host.
pub trait Scheduler: Send + Sync + fmt::Debug + 'static {
    /// The scheduler's name, e.g. `chance`.
    fn name(&self) -> &'static str;

    /// Picks one host for one instance of `spec`;
    /// [`Error::NoValidHost`] when none fits.
    fn select_host(&self, hosts: &[HostState], spec: &RequestSpec) -> Result<HostName>;

    /// Picks `spec.num_instances` hosts (at least one), counting each
    /// placed instance against its host before the next pick; all or
    /// nothing: [`Error::NoValidHost`] if any pick fails.
    fn select_hosts(&self, hosts: &[HostState], spec: &RequestSpec) -> Result<Vec<HostName>> {
        let mut hosts = hosts.to_vec();
        let n = spec.num_instances.max(1);
        let mut picks = Vec::with_capacity(usize::try_from(n).unwrap_or(1));
        for _ in 0..n {
            let pick = self.select_host(&hosts, spec)?;
            if let Some(h) = hosts.iter_mut().find(|h| h.host == pick) {
                h.consume(spec);
            }
            picks.push(pick);
        }
        Ok(picks)
    }
}

#[cfg(test)]
mod tests;
