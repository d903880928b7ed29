//! `swift-compare`: ferrostack's Swift against the reference OpenStack Swift
//! on this machine, in one invocation, under the same load, interleaved
//! (ours, reference, ours, reference... per phase).
//!
//! Starts `ferrostack up` (fsync on) and the reference (through
//! `benches/compare/swift-ref.sh`, which installs it into a venv when
//! missing), then measures: small objects (PUT, GET, HEAD, DELETE with N
//! clients), one large object PUT and GET next to the machine's limits,
//! container listing at N objects, ring rebalance of both ring tools, and
//! peak resident memory under load. Prints a table with the ratio
//! ours : reference. Every step is bounded; loopback only; both systems are
//! stopped (their process groups) on exit, on error and on Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use ferrostack_benches::listing::{grow_and_list, ListingPlan};
use ferrostack_benches::report::{loadavg, Machine, Pair, Report};
use ferrostack_benches::ring_bench::{rebalance, RingShape, Syntax};
use ferrostack_benches::stats::PhaseStats;
use ferrostack_benches::swift::{auth, body, phase, scratch_name, Op, PhaseSpec, Target};
use ferrostack_benches::systems::{Ours, Reference, RssSampler};

/// Side-by-side benchmark: ferrostack Swift against reference Swift.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Tiny counts (finishes in well under a minute once the reference is
    /// installed); exits non-zero if anything failed.
    #[arg(long)]
    smoke: bool,
    /// `ferrostack` binary (default: next to this program).
    #[arg(long)]
    ours_bin: Option<PathBuf>,
    /// Our ring tool `swift-ring` (default: next to this program).
    #[arg(long)]
    ring_bin: Option<PathBuf>,
    /// Control script of the reference Swift.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/compare/swift-ref.sh"))]
    ref_script: PathBuf,
    /// The reference's state dir (default $FERROSTACK_CACHE/swift-ref).
    #[arg(long)]
    ref_root: Option<PathBuf>,
    /// The reference's venv, created when missing (default REF_ROOT/venv).
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Scratch dir for our data and logs, on the disk under test (default
    /// $FERROSTACK_CACHE/swift-compare).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Our proxy's port (storage nodes: port-1879..+3).
    #[arg(long, default_value_t = 18080)]
    ours_port: u16,
    /// The reference proxy's port.
    #[arg(long, default_value_t = 28080)]
    ref_port: u16,
    /// The reference's object server port (container +1, account +2).
    #[arg(long, default_value_t = 26210)]
    ref_backend_port: u16,
    /// The reference's memcached port.
    #[arg(long, default_value_t = 21219)]
    ref_memcache_port: u16,
    /// Concurrent clients of the small-object phases.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Small-object size, bytes.
    #[arg(long, default_value_t = 4096)]
    size: usize,
    /// Small objects per phase.
    #[arg(long, default_value_t = 3000)]
    count: usize,
    /// Rounds of the small-object phases.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Time limit of each phase, seconds.
    #[arg(long, default_value_t = 120)]
    phase_secs: u64,
    /// Large object size, bytes.
    #[arg(long, default_value_t = 1 << 30)]
    large_size: usize,
    /// Objects the listed container grows to.
    #[arg(long, default_value_t = 1_000_000)]
    listing_objects: usize,
    /// Time limit for growing the container, per system, seconds (the
    /// report says how many objects were reached).
    #[arg(long, default_value_t = 1800)]
    listing_secs: u64,
    /// Skip the container-listing part (long).
    #[arg(long)]
    skip_listing: bool,
    /// Ring part power of the rebalance comparison.
    #[arg(long, default_value_t = 18)]
    ring_part_power: u8,
    /// Devices of the rebalance comparison (over 5 zones).
    #[arg(long, default_value_t = 100)]
    ring_devices: usize,
    /// Skip the ring rebalance part.
    #[arg(long)]
    skip_ring: bool,
    /// Print the report as JSON too.
    #[arg(long)]
    json: bool,
}

impl Args {
    fn apply_smoke(&mut self) {
        if self.smoke {
            self.clients = self.clients.min(4);
            self.count = self.count.min(24);
            self.rounds = 1;
            self.phase_secs = self.phase_secs.min(20);
            self.large_size = self.large_size.min(2 << 20);
            self.listing_objects = self.listing_objects.min(40);
            self.listing_secs = self.listing_secs.min(20);
            self.ring_part_power = self.ring_part_power.min(8);
            self.ring_devices = self.ring_devices.min(10);
        }
    }
}

fn cache_dir() -> PathBuf {
    std::env::var_os("FERROSTACK_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/ferrostack")))
        .unwrap_or_else(|| PathBuf::from("/tmp/ferrostack-cache"))
}

/// A program next to this one.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    Ok(std::env::current_exe()?
        .parent()
        .context("no directory of this program")?
        .join(name))
}

/// Both systems, authenticated; stopped when dropped.
#[derive(Debug)]
struct Systems {
    ours: Ours,
    reference: Reference,
}

impl Systems {
    async fn targets(&self, prefix: &str) -> anyhow::Result<Pair<Arc<Target>>> {
        let name = scratch_name(prefix);
        let mk = |url: String| {
            let name = name.clone();
            async move {
                let t = auth(&url, "test:tester", "testing", &name).await?;
                t.container_call(reqwest::Method::PUT).await?;
                anyhow::Ok(Arc::new(t))
            }
        };
        Ok(Pair {
            ours: mk(self.ours.auth_url.clone()).await?,
            reference: mk(self.reference.auth_url.clone()).await?,
        })
    }
}

fn spec(args: &Args, op: Op, first: usize, count: usize) -> PhaseSpec {
    PhaseSpec {
        op,
        clients: args.clients,
        first,
        count,
        limit: Duration::from_secs(args.phase_secs),
    }
}

fn check(report: &mut Report, what: &str, s: &PhaseStats) {
    if s.errors > 0 || s.ok == 0 {
        report
            .failures
            .push(format!("{what} {}: {} ok, {} errors", s.op, s.ok, s.errors));
    }
}

/// Runs `spec` on ours, then on the reference.
async fn interleaved(
    t: &Pair<Arc<Target>>,
    spec: PhaseSpec,
    body: &Bytes,
    report: &mut Report,
    what: &str,
) -> anyhow::Result<Pair<PhaseStats>> {
    let ours = phase(&t.ours, spec, body).await?;
    let reference = phase(&t.reference, spec, body).await?;
    check(report, &format!("{what} ours"), &ours);
    check(report, &format!("{what} reference"), &reference);
    Ok(Pair { ours, reference })
}

async fn small_objects(args: &Args, sys: &Systems, report: &mut Report) -> anyhow::Result<()> {
    let body = body(args.size);
    let sampler = Pair {
        ours: RssSampler::start(sys.ours.groups()),
        reference: RssSampler::start(sys.reference.groups()?),
    };
    for round in 1..=args.rounds {
        let t = sys.targets("compare-small").await?;
        for op in [Op::Put, Op::Get, Op::Head, Op::Delete] {
            let p = interleaved(&t, spec(args, op, 0, args.count), &body, report, "small").await?;
            println!(
                "  round {round} {:<6} ours {:>8.1} ops/s  reference {:>8.1} ops/s",
                p.ours.op, p.ours.ops_per_sec, p.reference.ops_per_sec
            );
            report.small.push((round, p));
        }
    }
    report.memory = Some(Pair {
        ours: sampler.ours.peaks(),
        reference: sampler.reference.peaks(),
    });
    Ok(())
}

async fn large_object(args: &Args, sys: &Systems, report: &mut Report) -> anyhow::Result<()> {
    let body = body(args.large_size);
    let t = sys.targets("compare-large").await?;
    let one = |op| PhaseSpec {
        op,
        clients: 1,
        first: 0,
        count: 1,
        limit: Duration::from_secs(args.phase_secs.max(60)),
    };
    for op in [Op::Put, Op::Get] {
        let p = interleaved(&t, one(op), &body, report, "large").await?;
        println!(
            "  large {:<4} ours {:>8.1} MB/s  reference {:>8.1} MB/s",
            p.ours.op, p.ours.mb_per_sec, p.reference.mb_per_sec
        );
        report.large.push(p);
    }
    interleaved(&t, one(Op::Delete), &body, report, "large").await?;
    Ok(())
}

async fn listing(args: &Args, sys: &Systems, report: &mut Report) -> anyhow::Result<()> {
    let t = sys.targets("compare-listing").await?;
    let plan = ListingPlan {
        objects: args.listing_objects,
        clients: args.clients,
        phase_limit: Duration::from_secs(args.phase_secs),
        grow_limit: Duration::from_secs(args.listing_secs),
    };
    report.listing = Some(grow_and_list(&t, plan, &mut report.failures).await?);
    Ok(())
}

fn ring(args: &Args, sys: &Systems, work: &Path, report: &mut Report) -> anyhow::Result<()> {
    let shape = RingShape {
        part_power: args.ring_part_power,
        replicas: 3,
        devices: args.ring_devices,
        zones: 5,
    };
    let limit = Duration::from_secs(900);
    let dirs = [work.join("ring-ours"), work.join("ring-ref")];
    for d in &dirs {
        if d.exists() {
            std::fs::remove_dir_all(d)?;
        }
        std::fs::create_dir_all(d)?;
    }
    let ring_bin = match &args.ring_bin {
        Some(b) => b.clone(),
        None => sibling("swift-ring")?,
    };
    let ours_tool = [ring_bin.display().to_string()];
    let ref_tool = [sys.reference.ring_builder().display().to_string()];
    let ours = rebalance(&ours_tool, Syntax::Ours, &dirs[0], shape, limit)?;
    let reference = rebalance(&ref_tool, Syntax::SwiftRingBuilder, &dirs[1], shape, limit)?;
    report.ring = Some(Pair { ours, reference });
    Ok(())
}

async fn run(args: &Args, sys: &mut Option<Systems>, report: &mut Report) -> anyhow::Result<()> {
    let cache = cache_dir();
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| cache.join("swift-compare"));
    std::fs::create_dir_all(&work)?;
    let ref_root = args
        .ref_root
        .clone()
        .unwrap_or_else(|| cache.join("swift-ref"));
    let venv = args.venv.clone().unwrap_or_else(|| ref_root.join("venv"));
    let ours_bin = match &args.ours_bin {
        Some(b) => b.clone(),
        None => sibling("ferrostack")?,
    };
    anyhow::ensure!(
        ours_bin.exists(),
        "{} not found (--ours-bin)",
        ours_bin.display()
    );

    println!(
        "starting the reference Swift ({})",
        args.ref_script.display()
    );
    let mut reference = Reference::new(
        &args.ref_script,
        &ref_root,
        &venv,
        args.ref_port,
        args.ref_backend_port,
        args.ref_memcache_port,
    );
    reference.start()?;
    println!("starting ferrostack up ({})", ours_bin.display());
    let ours = Ours::start(&ours_bin, &work, args.ours_port).await?;
    let sys = sys.insert(Systems { ours, reference });

    let probe = (args.large_size as u64).max(64 << 20);
    report.limits = Some(ferrostack_benches::limits::measure(&work, probe).await?);
    println!(
        "small objects: {} clients x {} B x {}",
        args.clients, args.size, args.count
    );
    small_objects(args, sys, report).await?;
    println!("large object: {} B", args.large_size);
    large_object(args, sys, report).await?;
    if !args.skip_listing {
        println!("container listing: {} objects", args.listing_objects);
        listing(args, sys, report).await?;
    }
    if !args.skip_ring {
        println!(
            "ring rebalance: 2^{} partitions, {} devices",
            args.ring_part_power, args.ring_devices
        );
        ring(args, sys, &work, report)?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    args.apply_smoke();
    let mut report = Report {
        machine: Some(Machine::now()),
        ..Report::default()
    };
    let mut systems = None;
    let outcome = tokio::select! {
        r = run(&args, &mut systems, &mut report) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some(mut s) = systems.take() {
        s.ours.stop();
        s.reference.stop();
    }
    if let Err(e) = outcome {
        report.failures.push(format!("{e:#}"));
    }
    if let Some(m) = report.machine.as_mut() {
        m.load_end = loadavg();
    }
    println!("\n{}", report.render());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if !report.failures.is_empty() {
        anyhow::bail!("{} step(s) failed", report.failures.len());
    }
    Ok(())
}
