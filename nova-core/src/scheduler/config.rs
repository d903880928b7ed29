//! Typed scheduler configuration: which scheduler, which filters and
//! weighers, and the overcommit ratios.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::filter::{
    AvailabilityZoneFilter, ComputeFilter, CoreFilter, DifferentHostFilter, DiskFilter, HostFilter,
    HostNameFilter, RamFilter, SameHostFilter,
};
use super::weigher::{CpuWeigher, HostWeigher, RamWeigher};
use super::{ChanceScheduler, FilterScheduler, Scheduler, SimpleScheduler, ZoneScheduler};
use crate::error::{Error, Result};

/// Which scheduler to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulerKind {
    /// [`ChanceScheduler`].
    Chance,
    /// [`SimpleScheduler`].
    Simple,
    /// [`ZoneScheduler`].
    Zone,
    /// [`FilterScheduler`] (the default).
    #[default]
    Filter,
}

/// Scheduler settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Which scheduler.
    #[serde(default)]
    pub kind: SchedulerKind,
    /// Filters of the filter scheduler, by Nova name, in order.
    #[serde(default = "default_filter_names")]
    pub filters: Vec<String>,
    /// Weighers of the filter scheduler, by Nova name.
    #[serde(default = "default_weigher_names")]
    pub weighers: Vec<String>,
    /// RAM overcommit.
    #[serde(default = "default_ram_ratio")]
    pub ram_allocation_ratio: f64,
    /// vCPU overcommit.
    #[serde(default = "default_cpu_ratio")]
    pub cpu_allocation_ratio: f64,
    /// Disk overcommit.
    #[serde(default = "default_disk_ratio")]
    pub disk_allocation_ratio: f64,
    /// Multiplier of the RAM weigher (negative stacks instances).
    #[serde(default = "default_multiplier")]
    pub ram_weight_multiplier: f64,
    /// Seed for the random schedulers (tests); entropy when absent.
    #[serde(default)]
    pub seed: Option<u64>,
}

fn default_filter_names() -> Vec<String> {
    [
        "ComputeFilter",
        "HostNameFilter",
        "AvailabilityZoneFilter",
        "RamFilter",
        "DiskFilter",
        "CoreFilter",
        "SameHostFilter",
        "DifferentHostFilter",
    ]
    .map(String::from)
    .to_vec()
}

fn default_weigher_names() -> Vec<String> {
    vec!["RAMWeigher".into()]
}

fn default_ram_ratio() -> f64 {
    1.5
}

fn default_cpu_ratio() -> f64 {
    16.0
}

fn default_disk_ratio() -> f64 {
    1.0
}

fn default_multiplier() -> f64 {
    1.0
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            kind: SchedulerKind::default(),
            filters: default_filter_names(),
            weighers: default_weigher_names(),
            ram_allocation_ratio: default_ram_ratio(),
            cpu_allocation_ratio: default_cpu_ratio(),
            disk_allocation_ratio: default_disk_ratio(),
            ram_weight_multiplier: default_multiplier(),
            seed: None,
        }
    }
}

impl SchedulerConfig {
    /// Checks ratios are positive and every name is known.
    pub fn validate(&self) -> Result<()> {
        self.build().map(drop)
    }

    fn filter(&self, name: &str) -> Result<Box<dyn HostFilter>> {
        Ok(match name {
            "ComputeFilter" => Box::new(ComputeFilter),
            "HostNameFilter" => Box::new(HostNameFilter),
            "AvailabilityZoneFilter" => Box::new(AvailabilityZoneFilter),
            "RamFilter" => Box::new(RamFilter {
                ratio: self.ram_allocation_ratio,
            }),
            "DiskFilter" => Box::new(DiskFilter {
                ratio: self.disk_allocation_ratio,
            }),
            "CoreFilter" => Box::new(CoreFilter {
                ratio: self.cpu_allocation_ratio,
            }),
            "SameHostFilter" => Box::new(SameHostFilter),
            "DifferentHostFilter" => Box::new(DifferentHostFilter),
            other => return Err(Error::config(format!("unknown scheduler filter {other:?}"))),
        })
    }

    fn weigher(&self, name: &str) -> Result<Box<dyn HostWeigher>> {
        Ok(match name {
            "RAMWeigher" => Box::new(RamWeigher {
                multiplier: self.ram_weight_multiplier,
            }),
            "CPUWeigher" => Box::new(CpuWeigher::default()),
            other => {
                return Err(Error::config(format!(
                    "unknown scheduler weigher {other:?}"
                )))
            }
        })
    }

    /// Builds the configured scheduler; [`Error::InvalidConfig`] for an
    /// unknown name or a ratio that is not positive.
    pub fn build(&self) -> Result<Arc<dyn Scheduler>> {
        for (name, r) in [
            ("ram_allocation_ratio", self.ram_allocation_ratio),
            ("cpu_allocation_ratio", self.cpu_allocation_ratio),
            ("disk_allocation_ratio", self.disk_allocation_ratio),
        ] {
            if !(r > 0.0 && r.is_finite()) {
                return Err(Error::config(format!("{name} must be positive")));
            }
        }
        let filters = self
            .filters
            .iter()
            .map(|n| self.filter(n))
            .collect::<Result<Vec<_>>>()?;
        let weighers = self
            .weighers
            .iter()
            .map(|n| self.weigher(n))
            .collect::<Result<Vec<_>>>()?;
        Ok(match self.kind {
            SchedulerKind::Chance => Arc::new(ChanceScheduler::new(self.seed)),
            SchedulerKind::Simple => Arc::new(SimpleScheduler),
            SchedulerKind::Zone => Arc::new(ZoneScheduler::new(self.seed)),
            SchedulerKind::Filter => Arc::new(FilterScheduler::new(filters, weighers)),
        })
    }
}
