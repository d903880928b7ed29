//! Per-project quota limits and usage, with an atomic check-and-reserve.
//!
//! A boot first [`QuotaBook::reserve`]s its instances, cores and RAM (all
//! or nothing, under one lock, so concurrent boots cannot overshoot), then
//! [`Reservation::commit`]s once the records exist; a dropped reservation
//! gives its amounts back.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::ids::ProjectId;
use crate::error::{Error, Result};

/// A resource counted by quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaResource {
    /// Instances.
    Instances,
    /// vCPUs.
    Cores,
    /// RAM in MiB.
    Ram,
    /// Volumes.
    Volumes,
    /// Volume GiB.
    Gigabytes,
    /// Floating IPs.
    FloatingIps,
}

impl QuotaResource {
    /// Every resource.
    pub const ALL: [QuotaResource; 6] = [
        Self::Instances,
        Self::Cores,
        Self::Ram,
        Self::Volumes,
        Self::Gigabytes,
        Self::FloatingIps,
    ];

    /// The quota-set key (`instances`, `cores`, `ram`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instances => "instances",
            Self::Cores => "cores",
            Self::Ram => "ram",
            Self::Volumes => "volumes",
            Self::Gigabytes => "gigabytes",
            Self::FloatingIps => "floating_ips",
        }
    }
}

/// A project's limits; `None` means unlimited (Nova's `-1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaLimits(pub BTreeMap<QuotaResource, Option<u64>>);

impl Default for QuotaLimits {
    /// Nova's and Cinder's defaults: 10 instances, 20 cores, 51200 MiB,
    /// 10 volumes, 1000 GiB, 10 floating IPs.
    fn default() -> Self {
        use QuotaResource as Q;
        Self(BTreeMap::from([
            (Q::Instances, Some(10)),
            (Q::Cores, Some(20)),
            (Q::Ram, Some(51200)),
            (Q::Volumes, Some(10)),
            (Q::Gigabytes, Some(1000)),
            (Q::FloatingIps, Some(10)),
        ]))
    }
}

impl QuotaLimits {
    /// The limit of `r` (`None` = unlimited).
    pub fn get(&self, r: QuotaResource) -> Option<u64> {
        self.0.get(&r).copied().flatten()
    }

    /// Sets the limit of `r`.
    pub fn set(&mut self, r: QuotaResource, limit: Option<u64>) {
        self.0.insert(r, limit);
    }
}

/// How much of each resource a project uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuotaUsage {
    /// Committed use.
    pub in_use: u64,
    /// Reserved by requests in flight.
    pub reserved: u64,
}

#[derive(Debug, Default)]
struct ProjectQuota {
    limits: Option<QuotaLimits>,
    usage: HashMap<QuotaResource, QuotaUsage>,
}

#[derive(Debug, Default)]
struct Book {
    defaults: QuotaLimits,
    projects: HashMap<ProjectId, ProjectQuota>,
}

/// Limits and usage of every project, shared by all requests.
#[derive(Debug, Clone, Default)]
pub struct QuotaBook {
    inner: Arc<Mutex<Book>>,
}

/// Amounts held for a request until committed; dropping it uncommitted
/// gives them back.
#[must_use = "a dropped reservation is rolled back"]
pub struct Reservation {
    book: QuotaBook,
    project: ProjectId,
    deltas: Vec<(QuotaResource, u64)>,
    done: bool,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("project", &self.project)
            .field("deltas", &self.deltas)
            .field("done", &self.done)
            .finish()
    }
}

impl QuotaBook {
    /// A book where every project starts with `defaults`.
    pub fn new(defaults: QuotaLimits) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Book {
                defaults,
                projects: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        // A panic while holding the lock leaves consistent counters (every
        // update is a single assignment), so the poison can be ignored.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Overrides `project`'s limits.
    pub fn set_limits(&self, project: &ProjectId, limits: QuotaLimits) {
        self.lock()
            .projects
            .entry(project.clone())
            .or_default()
            .limits = Some(limits);
    }

    /// `project`'s limits (its own or the defaults).
    pub fn limits(&self, project: &ProjectId) -> QuotaLimits {
        let book = self.lock();
        book.projects
            .get(project)
            .and_then(|p| p.limits.clone())
            .unwrap_or_else(|| book.defaults.clone())
    }

    /// `project`'s use of `r`.
    pub fn usage(&self, project: &ProjectId, r: QuotaResource) -> QuotaUsage {
        let book = self.lock();
        book.projects
            .get(project)
            .and_then(|p| p.usage.get(&r).copied())
            .unwrap_or_default()
    }

    /// Atomically checks every delta against the limits (counting use and
    /// other reservations) and reserves all of them, or none:
    /// [`Error::QuotaExceeded`] names the first resource over its limit.
    pub fn reserve(
        &self,
        project: &ProjectId,
        deltas: &[(QuotaResource, u64)],
    ) -> Result<Reservation> {
        let mut book = self.lock();
        let limits = book
            .projects
            .get(project)
            .and_then(|p| p.limits.clone())
            .unwrap_or_else(|| book.defaults.clone());
        let pq = book.projects.entry(project.clone()).or_default();
        let mut sums: BTreeMap<QuotaResource, u64> = BTreeMap::new();
        for &(r, n) in deltas {
            let s = sums.entry(r).or_default();
            *s = s.saturating_add(n);
        }
        for (&r, &n) in &sums {
            let u = pq.usage.get(&r).copied().unwrap_or_default();
            let used = u.in_use.saturating_add(u.reserved);
            if let Some(limit) = limits.get(r) {
                if used.saturating_add(n) > limit {
                    return Err(Error::QuotaExceeded {
                        resource: r.as_str().into(),
                        requested: n,
                        used,
                        limit,
                    });
                }
            }
        }
        for (&r, &n) in &sums {
            let u = pq.usage.entry(r).or_default();
            u.reserved = u.reserved.saturating_add(n);
        }
        Ok(Reservation {
            book: self.clone(),
            project: project.clone(),
            deltas: sums.into_iter().collect(),
            done: false,
        })
    }

    /// Gives back committed use (e.g. when an instance is deleted).
    pub fn release(&self, project: &ProjectId, deltas: &[(QuotaResource, u64)]) {
        let mut book = self.lock();
        let pq = book.projects.entry(project.clone()).or_default();
        for &(r, n) in deltas {
            let u = pq.usage.entry(r).or_default();
            u.in_use = u.in_use.saturating_sub(n);
        }
    }

    fn settle(&self, project: &ProjectId, deltas: &[(QuotaResource, u64)], commit: bool) {
        let mut book = self.lock();
        let pq = book.projects.entry(project.clone()).or_default();
        for &(r, n) in deltas {
            let u = pq.usage.entry(r).or_default();
            u.reserved = u.reserved.saturating_sub(n);
            if commit {
                u.in_use = u.in_use.saturating_add(n);
            }
        }
    }
}

impl Reservation {
    /// Turns the reserved amounts into use.
    pub fn commit(mut self) {
        self.book.settle(&self.project, &self.deltas, true);
        self.done = true;
    }

    /// Gives the reserved amounts back.
    pub fn rollback(mut self) {
        self.book.settle(&self.project, &self.deltas, false);
        self.done = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            self.book.settle(&self.project, &self.deltas, false);
        }
    }
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
