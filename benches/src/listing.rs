//! Container listing at scale, ours against the reference: both
//! containers grow (0-byte objects, concurrent PUTs, in interleaved chunks)
//! to N objects or a time limit, then each is listed in full, page by page.
//! Reports the PUT rate into the empty container and at N, and names/s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;

use crate::report::{ListingSide, Pair};
use crate::stats::PhaseStats;
use crate::swift::{phase, Op, PhaseSpec, Target};

/// How far and how fast to grow.
#[derive(Debug, Clone, Copy)]
pub struct ListingPlan {
    /// Objects to reach.
    pub objects: usize,
    /// Concurrent PUT clients.
    pub clients: usize,
    /// Time limit of one PUT chunk.
    pub phase_limit: Duration,
    /// Time limit of the growth per system (both grow in 2x this), and of
    /// the two listings together.
    pub grow_limit: Duration,
}

impl ListingPlan {
    fn spec(&self, first: usize, count: usize) -> PhaseSpec {
        PhaseSpec {
            op: Op::Put,
            clients: self.clients,
            first,
            count,
            limit: self.phase_limit,
        }
    }
}

fn check(failures: &mut Vec<String>, s: &PhaseStats) {
    if s.errors > 0 || s.ok == 0 {
        failures.push(format!(
            "listing growth PUT: {} ok, {} errors",
            s.ok, s.errors
        ));
    }
}

/// Grows both containers (0-byte objects, interleaved chunks) to
/// `listing_objects` or the time limit, then lists each in full.
pub async fn grow_and_list(
    t: &Pair<Arc<Target>>,
    plan: ListingPlan,
    failures: &mut Vec<String>,
) -> anyhow::Result<Pair<ListingSide>> {
    let n = plan.objects;
    let probe = (n / 10).clamp(1, 2000);
    let chunk = (n / 20).max(probe);
    let empty = Bytes::new();
    let started = Instant::now();
    let limit = plan.grow_limit;
    let mut stored = Pair {
        ours: 0usize,
        reference: 0usize,
    };
    let mut rates = Pair {
        ours: (0.0, 0.0),
        reference: (0.0, 0.0),
    };
    let mut last_reported = 0usize;
    for (tt, done, rate) in [
        (&t.ours, &mut stored.ours, &mut rates.ours),
        (&t.reference, &mut stored.reference, &mut rates.reference),
    ] {
        let s = phase(tt, plan.spec(0, probe), &empty).await?;
        check(failures, &s);
        *done = s.ok + s.errors;
        rate.0 = s.ops_per_sec;
    }
    // Interleaved growth: ours a chunk, the reference a chunk.
    let budget_end = started + limit * 2;
    while (stored.ours < n || stored.reference < n) && Instant::now() < budget_end {
        for (tt, done, rate) in [
            (&t.ours, &mut stored.ours, &mut rates.ours),
            (&t.reference, &mut stored.reference, &mut rates.reference),
        ] {
            if *done >= n {
                continue;
            }
            let left = budget_end.saturating_duration_since(Instant::now()) / 2;
            let mut sp = plan.spec(*done, chunk.min(n - *done));
            sp.limit = sp.limit.min(left).max(Duration::from_secs(1));
            let s = phase(tt, sp, &empty).await?;
            check(failures, &s);
            *done += s.ok + s.errors;
            rate.1 = s.ops_per_sec;
        }
        if stored.ours / (n / 10).max(1) != last_reported {
            last_reported = stored.ours / (n / 10).max(1);
            println!(
                "  listing growth: ours {} reference {} objects ({:.0} s)",
                stored.ours,
                stored.reference,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let list_deadline = Instant::now() + limit;
    let mut sides = Vec::new();
    for (tt, done, rate) in [
        (&t.ours, stored.ours, rates.ours),
        (&t.reference, stored.reference, rates.reference),
    ] {
        let t0 = Instant::now();
        let names = tt.list_all(10_000, list_deadline).await?;
        let secs = t0.elapsed().as_secs_f64();
        if names != done {
            failures.push(format!(
                "listing returned {names} names, {done} were stored"
            ));
        }
        sides.push(ListingSide {
            objects: names,
            put_empty_ops: rate.0,
            put_full_ops: rate.1,
            list_secs: secs,
            list_per_sec: names as f64 / secs.max(1e-9),
        });
    }
    let reference = sides.pop().context("no reference listing")?;
    let ours = sides.pop().context("no listing of ours")?;
    Ok(Pair { ours, reference })
}
