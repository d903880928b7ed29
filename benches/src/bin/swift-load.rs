//! `swift-load`: a bounded load generator for the Swift API.
//!
//! Authenticates with tempauth, creates a scratch container, then runs
//! four phases with N concurrent clients (each a tokio task with its own
//! keep-alive connection): PUT `count` objects of `size` bytes, GET them
//! all back (checking the length), HEAD them, DELETE them. Prints ops/s and
//! p50/p99/max latency per phase. Loopback targets only; every phase stops
//! at `count` operations or `duration-secs`, whichever comes first.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use ferrostack_benches::stats::table;
use ferrostack_benches::swift::{auth, body, phase, scratch_name, Op, PhaseSpec};
use ferrostack_benches::target::check_loopback;

/// Swift API load generator (PUT, then GET, HEAD, DELETE).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// tempauth URL of the proxy (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080/auth/v1.0")]
    url: String,
    /// `account:user`.
    #[arg(long, default_value = "test:tester")]
    user: String,
    /// The user's key.
    #[arg(long, default_value = "testing")]
    key: String,
    /// Concurrent clients (1..=1024).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Object size in bytes (at most 1 GiB).
    #[arg(long, default_value_t = 4096)]
    size: usize,
    /// Objects per phase (1..=1,000,000).
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Time limit of each phase, in seconds.
    #[arg(long, default_value_t = 120)]
    duration_secs: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    check_loopback(&args.url)?;
    if !(1..=1024).contains(&args.clients)
        || !(1..=1_000_000).contains(&args.count)
        || args.size > (1 << 30)
        || args.duration_secs == 0
    {
        bail!("limits: 1..=1024 clients, 1..=1000000 objects, size <= 1 GiB, duration >= 1 s");
    }
    let t = Arc::new(
        auth(
            &args.url,
            &args.user,
            &args.key,
            &scratch_name("swift-load"),
        )
        .await?,
    );
    t.container_call(reqwest::Method::PUT).await?;
    let body = body(args.size);
    let spec = |op, count| PhaseSpec {
        op,
        clients: args.clients,
        first: 0,
        count,
        limit: Duration::from_secs(args.duration_secs),
    };
    let put = phase(&t, spec(Op::Put, args.count), &body).await?;
    // Read, HEAD and delete only what the PUT phase got to.
    let written = put.ok + put.errors;
    let get = phase(&t, spec(Op::Get, written), &body).await?;
    let head = phase(&t, spec(Op::Head, written), &body).await?;
    let delete = phase(&t, spec(Op::Delete, written), &body).await?;
    if let Err(e) = t.container_call(reqwest::Method::DELETE).await {
        eprintln!(
            "warning: scratch container {} not removed: {e}",
            t.container
        );
    }

    let phases = [put, get, head, delete];
    if args.json {
        let out = serde_json::json!({
            "url": args.url, "clients": args.clients, "size": args.size,
            "count": args.count, "phases": phases,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "swift-load: {} clients, {} objects of {} bytes, {}",
            args.clients, args.count, args.size, args.url
        );
        print!("{}", table(&phases));
    }
    if phases.iter().any(|p| p.errors > 0) {
        bail!("some operations failed");
    }
    Ok(())
}
