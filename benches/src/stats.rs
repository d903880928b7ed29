//! Latency statistics of one phase of a load run.

use std::time::Duration;

use serde::Serialize;

/// The measured outcome of one operation kind (PUT, GET, DELETE).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PhaseStats {
    /// Operation name.
    pub op: String,
    /// Successful operations.
    pub ok: usize,
    /// Failed operations (non-2xx, transport errors, wrong length).
    pub errors: usize,
    /// Wall-clock time of the phase, in seconds.
    pub secs: f64,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Payload megabytes (10^6 bytes) per second moved by successful ops.
    pub mb_per_sec: f64,
    /// Median latency of successful ops, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Worst latency, milliseconds.
    pub max_ms: f64,
}

/// The value at percentile `p` (0..=100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl PhaseStats {
    /// Summarises one phase from its successful latencies.
    pub fn new(
        op: &str,
        mut latencies: Vec<Duration>,
        errors: usize,
        wall: Duration,
        bytes_per_op: usize,
    ) -> Self {
        latencies.sort_unstable();
        let ok = latencies.len();
        let secs = wall.as_secs_f64().max(1e-9);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Self {
            op: op.to_string(),
            ok,
            errors,
            secs,
            ops_per_sec: ok as f64 / secs,
            mb_per_sec: (ok * bytes_per_op) as f64 / 1e6 / secs,
            p50_ms: ms(percentile(&latencies, 50.0)),
            p99_ms: ms(percentile(&latencies, 99.0)),
            max_ms: ms(latencies.last().copied().unwrap_or_default()),
        }
    }
}

/// A plain-text table of the phases.
pub fn table(phases: &[PhaseStats]) -> String {
    let mut out = format!(
        "{:<7} {:>8} {:>7} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}\n",
        "op", "ok", "errors", "secs", "ops/s", "MB/s", "p50 ms", "p99 ms", "max ms"
    );
    for p in phases {
        out.push_str(&format!(
            "{:<7} {:>8} {:>7} {:>8.2} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
            p.op, p.ok, p.errors, p.secs, p.ops_per_sec, p.mb_per_sec, p.p50_ms, p.p99_ms, p.max_ms
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(percentile(&v[..1], 99.0), Duration::from_millis(1));
    }

    #[test]
    fn phase_stats_compute_rates() {
        let lat = vec![
            Duration::from_millis(30),
            Duration::from_millis(10),
            Duration::from_millis(20),
        ];
        let s = PhaseStats::new("PUT", lat, 1, Duration::from_secs(2), 1_000_000);
        assert_eq!(s.ok, 3);
        assert_eq!(s.errors, 1);
        assert!((s.ops_per_sec - 1.5).abs() < 1e-9);
        assert!((s.mb_per_sec - 1.5).abs() < 1e-9);
        assert!((s.p50_ms - 20.0).abs() < 1e-9);
        assert!((s.max_ms - 30.0).abs() < 1e-9);
        let t = table(&[s]);
        assert!(t.lines().nth(1).unwrap().starts_with("PUT"));
    }
}
