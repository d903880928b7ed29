//! [`FilterScheduler`]: filters remove hosts, weighers rank the rest.

use super::filter::{default_filters, HostFilter};
use super::weigher::{normalize, HostWeigher, RamWeigher};
use super::{candidate, no_valid_host, HostState, RequestSpec, Scheduler};
use crate::error::Result;
use crate::model::HostName;

/// Nova's filter scheduler: a host must pass every filter; the highest
/// total weight wins, ties going to the smallest host name so that the
/// same inputs always give the same host.
#[derive(Debug)]
pub struct FilterScheduler {
    filters: Vec<Box<dyn HostFilter>>,
    weighers: Vec<Box<dyn HostWeigher>>,
}

impl Default for FilterScheduler {
    /// The default filters and the RAM weigher.
    fn default() -> Self {
        Self::new(default_filters(), vec![Box::new(RamWeigher::default())])
    }
}

impl FilterScheduler {
    /// A scheduler with these filters and weighers.
    pub fn new(filters: Vec<Box<dyn HostFilter>>, weighers: Vec<Box<dyn HostWeigher>>) -> Self {
        Self { filters, weighers }
    }

    /// The filters in order.
    pub fn filters(&self) -> &[Box<dyn HostFilter>] {
        &self.filters
    }

    /// Hosts passing every filter (and the base rule: enabled, up, not
    /// ignored); [`crate::Error::NoValidHost`] naming the filter that
    /// removed the last host.
    pub fn filter_hosts<'a>(
        &self,
        hosts: &'a [HostState],
        spec: &RequestSpec,
    ) -> Result<Vec<&'a HostState>> {
        let mut left: Vec<&HostState> = hosts.iter().filter(|h| candidate(h, spec)).collect();
        if left.is_empty() {
            return Err(no_valid_host(format!(
                "0 of {} hosts are enabled, up and allowed",
                hosts.len()
            )));
        }
        for f in &self.filters {
            left.retain(|h| f.passes(h, spec));
            if left.is_empty() {
                return Err(no_valid_host(format!("{} returned 0 hosts", f.name())));
            }
        }
        Ok(left)
    }

    /// The hosts with their total weights, best first.
    pub fn weigh<'a>(
        &self,
        hosts: Vec<&'a HostState>,
        spec: &RequestSpec,
    ) -> Vec<(&'a HostState, f64)> {
        let mut totals = vec![0.0; hosts.len()];
        for w in &self.weighers {
            let raw: Vec<f64> = hosts.iter().map(|h| w.weigh(h, spec)).collect();
            for (t, n) in totals.iter_mut().zip(normalize(&raw)) {
                *t += w.multiplier() * n;
            }
        }
        let mut ranked: Vec<_> = hosts.into_iter().zip(totals).collect();
        ranked.sort_by(|(ha, wa), (hb, wb)| wb.total_cmp(wa).then_with(|| ha.host.cmp(&hb.host)));
        ranked
    }
}

impl Scheduler for FilterScheduler {
    fn name(&self) -> &'static str {
        "filter"
    }

    fn select_host(&self, hosts: &[HostState], spec: &RequestSpec) -> Result<HostName> {
        let left = self.filter_hosts(hosts, spec)?;
        let ranked = self.weigh(left, spec);
        ranked
            .first()
            .map(|(h, _)| h.host.clone())
            .ok_or_else(|| no_valid_host("no weighed host"))
    }
}
