//! What `swift-compare` measured, and its plain-text rendering with the
//! ratio ours : reference next to every figure.

use serde::Serialize;

use crate::limits::Limits;
use crate::ring_bench::RebalanceResult;
use crate::stats::PhaseStats;
use crate::systems::Peaks;

/// The same measurement on both systems.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pair<T> {
    /// ferrostack.
    pub ours: T,
    /// Reference Swift.
    pub reference: T,
}

/// One system's container-listing figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ListingSide {
    /// Objects in the container when listed.
    pub objects: usize,
    /// 0-byte PUT ops/s into the empty container.
    pub put_empty_ops: f64,
    /// 0-byte PUT ops/s for the last objects, at `objects`.
    pub put_full_ops: f64,
    /// Seconds of the full paginated listing.
    pub list_secs: f64,
    /// Names listed per second.
    pub list_per_sec: f64,
}

/// Where the run happened.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Machine {
    /// `nproc`.
    pub cpus: usize,
    /// CPU model name from /proc/cpuinfo.
    pub model: String,
    /// /proc/loadavg at the start.
    pub load_start: String,
    /// /proc/loadavg at the end.
    pub load_end: String,
}

impl Machine {
    /// The CPU facts now; `load_end` is filled in later.
    pub fn now() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
            .unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            model,
            load_start: loadavg(),
            load_end: String::new(),
        }
    }
}

/// The first three fields of /proc/loadavg.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Report {
    /// Machine facts.
    pub machine: Option<Machine>,
    /// Large-object machine limits.
    pub limits: Option<Limits>,
    /// Small objects: (round, phase) pairs in run order.
    pub small: Vec<(usize, Pair<PhaseStats>)>,
    /// Large object PUT and GET.
    pub large: Vec<Pair<PhaseStats>>,
    /// Container listing.
    pub listing: Option<Pair<ListingSide>>,
    /// Ring rebalance.
    pub ring: Option<Pair<RebalanceResult>>,
    /// Peak RSS during the small-object phases.
    pub memory: Option<Pair<Peaks>>,
    /// Steps that failed (the run exits non-zero when not empty).
    pub failures: Vec<String>,
}

fn ratio(ours: f64, reference: f64) -> String {
    if reference > 0.0 {
        format!("{:.2}x", ours / reference)
    } else {
        "-".into()
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Report {
    /// The plain-text tables.
    pub fn render(&self) -> String {
        let mut o = String::new();
        if let Some(m) = &self.machine {
            o += &format!(
                "machine: {} x {}; load average start {} / end {}\n",
                m.cpus, m.model, m.load_start, m.load_end
            );
        }
        if !self.small.is_empty() {
            o += "\nsmall objects (ops/s, p50/p99 ms)\n";
            o += &format!(
                "{:<5} {:<7} {:>24} {:>24} {:>8}\n",
                "round", "op", "ours", "reference", "ratio"
            );
            for (round, p) in &self.small {
                let cell = |s: &PhaseStats| {
                    format!("{:.0} ({:.1}/{:.1})", s.ops_per_sec, s.p50_ms, s.p99_ms)
                };
                o += &format!(
                    "{:<5} {:<7} {:>24} {:>24} {:>8}\n",
                    round,
                    p.ours.op,
                    cell(&p.ours),
                    cell(&p.reference),
                    ratio(p.ours.ops_per_sec, p.reference.ops_per_sec)
                );
            }
        }
        if let Some(l) = &self.limits {
            o += &format!(
                "\nmachine limits (MB/s): loopback TCP {:.0}, disk write+fsync {:.0}, MD5 {:.0}; \
                 4 KiB file+fsync {:.0}/s sequential\n",
                l.loopback_mb_s, l.disk_fsync_mb_s, l.md5_mb_s, l.fsync_4k_per_sec
            );
        }
        if !self.large.is_empty() {
            let limits = self.limits.unwrap_or(Limits {
                loopback_mb_s: 0.0,
                disk_fsync_mb_s: 0.0,
                md5_mb_s: 0.0,
                fsync_4k_per_sec: 0.0,
            });
            o += "large object (MB/s; limit: PUT min(loopback, MD5, disk/3 replicas), GET loopback)\n";
            for p in &self.large {
                let limit = if p.ours.op == "PUT" {
                    limits
                        .loopback_mb_s
                        .min(limits.md5_mb_s)
                        .min(limits.disk_fsync_mb_s / 3.0)
                } else {
                    limits.loopback_mb_s
                };
                let pct = |v: f64| {
                    if limit > 0.0 {
                        format!("{:.0}%", 100.0 * v / limit)
                    } else {
                        "-".into()
                    }
                };
                o += &format!(
                    "  {:<4} ours {:>8.1} ({} of {:.0})  reference {:>8.1} ({})  ratio {}\n",
                    p.ours.op,
                    p.ours.mb_per_sec,
                    pct(p.ours.mb_per_sec),
                    limit,
                    p.reference.mb_per_sec,
                    pct(p.reference.mb_per_sec),
                    ratio(p.ours.mb_per_sec, p.reference.mb_per_sec)
                );
            }
        }
        if let Some(l) = &self.listing {
            let (a, b) = (&l.ours, &l.reference);
            o += &format!(
                "\ncontainer listing (ours {} objects, reference {})\n",
                a.objects, b.objects
            );
            o += &format!(
                "  listing names/s     ours {:>10.0}  reference {:>10.0}  ratio {}\n",
                a.list_per_sec,
                b.list_per_sec,
                ratio(a.list_per_sec, b.list_per_sec)
            );
            o += &format!(
                "  PUT ops/s empty     ours {:>10.1}  reference {:>10.1}  ratio {}\n",
                a.put_empty_ops,
                b.put_empty_ops,
                ratio(a.put_empty_ops, b.put_empty_ops)
            );
            o += &format!(
                "  PUT ops/s at N      ours {:>10.1}  reference {:>10.1}  ratio {}\n",
                a.put_full_ops,
                b.put_full_ops,
                ratio(a.put_full_ops, b.put_full_ops)
            );
        }
        if let Some(r) = &self.ring {
            o += &format!(
                "\nring rebalance: ours {:.2} s (balance {:.2})  swift-ring-builder {:.2} s (balance {:.2})  speed-up {}\n",
                r.ours.secs,
                r.ours.balance,
                r.reference.secs,
                r.reference.balance,
                ratio(r.reference.secs, r.ours.secs)
            );
        }
        if let Some(m) = &self.memory {
            o += "\npeak RSS during the small-object phases (MiB, processes)\n";
            let total = |p: &Peaks| p.values().map(|v| v.0).sum::<u64>();
            for (who, peaks) in [("ours", &m.ours), ("reference", &m.reference)] {
                for (label, (kib, n)) in peaks {
                    o += &format!("  {who:<9} {label:<36} {:>8.1} ({n})\n", mib(*kib));
                }
            }
            o += &format!(
                "  total: ours {:.1} MiB, reference {:.1} MiB, ratio {}\n",
                mib(total(&m.ours)),
                mib(total(&m.reference)),
                ratio(total(&m.ours) as f64, total(&m.reference) as f64)
            );
        }
        for f in &self.failures {
            o += &format!("FAILED: {f}\n");
        }
        o
    }
}
