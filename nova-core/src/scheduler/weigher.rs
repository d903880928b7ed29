//! Host weighers of the [`super::FilterScheduler`]: the host with the
//! highest combined weight wins.

use std::fmt;

use super::{HostState, RequestSpec};

/// One weigher; raw weights are normalised to 0..=1 over the candidate
/// hosts, then multiplied by [`HostWeigher::multiplier`].
pub trait HostWeigher: Send + Sync + fmt::Debug {
    /// The weigher's name, e.g. `RAMWeigher`.
    fn name(&self) -> &'static str;

    /// Scale of this weigher; negative to prefer low raw weights.
    fn multiplier(&self) -> f64;

    /// The raw weight of `host`.
    fn weigh(&self, host: &HostState, spec: &RequestSpec) -> f64;
}

/// Free RAM: with a positive multiplier (the default, 1.0) instances
/// spread out; with a negative one they stack up.
#[derive(Debug, Clone, Copy)]
pub struct RamWeigher {
    /// `ram_weight_multiplier`.
    pub multiplier: f64,
}

impl Default for RamWeigher {
    fn default() -> Self {
        Self { multiplier: 1.0 }
    }
}

impl HostWeigher for RamWeigher {
    fn name(&self) -> &'static str {
        "RAMWeigher"
    }

    fn multiplier(&self) -> f64 {
        self.multiplier
    }

    fn weigh(&self, h: &HostState, _: &RequestSpec) -> f64 {
        h.total.memory_mb as f64 - h.used.memory_mb as f64
    }
}

/// Free vCPUs (Nova's `CPUWeigher`).
#[derive(Debug, Clone, Copy)]
pub struct CpuWeigher {
    /// `cpu_weight_multiplier`.
    pub multiplier: f64,
}

impl Default for CpuWeigher {
    fn default() -> Self {
        Self { multiplier: 1.0 }
    }
}

impl HostWeigher for CpuWeigher {
    fn name(&self) -> &'static str {
        "CPUWeigher"
    }

    fn multiplier(&self) -> f64 {
        self.multiplier
    }

    fn weigh(&self, h: &HostState, _: &RequestSpec) -> f64 {
        f64::from(h.total.vcpus) - f64::from(h.used.vcpus)
    }
}

/// Min-max normalisation, as Nova's `normalize`: all equal gives zeros.
pub(crate) fn normalize(raw: &[f64]) -> Vec<f64> {
    let min = raw.iter().copied().fold(f64::INFINITY, f64::min);
    let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = max - min;
    raw.iter()
        .map(|w| if range > 0.0 { (w - min) / range } else { 0.0 })
        .collect()
}
