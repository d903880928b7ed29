//! `swift-load`: a bounded load generator for the Swift API.
//!
//! Authenticates with tempauth, creates a scratch container, then runs
//! three phases with N concurrent clients (each a tokio task with its own
//! keep-alive connection): PUT `count` objects of `size` bytes, GET them
//! all back (checking the length), DELETE them. Prints ops/s and
//! p50/p99/max latency per phase. Loopback targets only; every phase stops
//! at `count` operations or `duration-secs`, whichever comes first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use ferrostack_benches::stats::{table, PhaseStats};
use ferrostack_benches::target::check_loopback;

/// Swift API load generator (PUT, then GET, then DELETE).
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Put,
    Get,
    Delete,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Put => "PUT",
            Op::Get => "GET",
            Op::Delete => "DELETE",
        }
    }
}

#[derive(Debug)]
struct Target {
    storage_url: String,
    token: String,
    container: String,
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(300))
        .build()?)
}

async fn auth(args: &Args) -> anyhow::Result<(String, String)> {
    let resp = client()?
        .get(&args.url)
        .header("X-Auth-User", &args.user)
        .header("X-Auth-Key", &args.key)
        .send()
        .await
        .with_context(|| format!("auth request to {}", args.url))?;
    if !resp.status().is_success() {
        bail!("auth failed: {}", resp.status());
    }
    let header = |name: &str| -> anyhow::Result<String> {
        Ok(resp
            .headers()
            .get(name)
            .with_context(|| format!("auth response has no {name}"))?
            .to_str()?
            .to_string())
    };
    Ok((header("x-storage-url")?, header("x-auth-token")?))
}

/// One operation on object `i`; Ok(true) when it succeeded.
async fn one(http: &reqwest::Client, t: &Target, op: Op, i: usize, body: &Bytes) -> bool {
    let url = format!("{}/{}/obj-{i:08}", t.storage_url, t.container);
    let req = match op {
        Op::Put => http.put(&url).body(body.clone()),
        Op::Get => http.get(&url),
        Op::Delete => http.delete(&url),
    };
    let Ok(resp) = req.header("X-Auth-Token", &t.token).send().await else {
        return false;
    };
    if !resp.status().is_success() {
        return false;
    }
    match op {
        Op::Get => resp.bytes().await.is_ok_and(|b| b.len() == body.len()),
        _ => resp.bytes().await.is_ok(),
    }
}

async fn phase(
    args: &Args,
    t: &Arc<Target>,
    op: Op,
    count: usize,
    body: &Bytes,
) -> anyhow::Result<PhaseStats> {
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.duration_secs);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let (t, next, body, http) = (t.clone(), next.clone(), body.clone(), client()?);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || Instant::now() >= deadline {
                    break;
                }
                let t0 = Instant::now();
                if one(&http, &t, op, i, &body).await {
                    lat.push(t0.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        lat.extend(l);
        errors += e;
    }
    let bytes = if op == Op::Delete { 0 } else { body.len() };
    Ok(PhaseStats::new(
        op.name(),
        lat,
        errors,
        start.elapsed(),
        bytes,
    ))
}

async fn container_call(t: &Target, method: reqwest::Method) -> anyhow::Result<()> {
    let url = format!("{}/{}", t.storage_url, t.container);
    let resp = client()?
        .request(method.clone(), &url)
        .header("X-Auth-Token", &t.token)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("{method} {url}: {}", resp.status());
    }
    Ok(())
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
    let (storage_url, token) = auth(&args).await?;
    check_loopback(&storage_url)?;
    let container = format!(
        "swift-load-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let t = Arc::new(Target {
        storage_url,
        token,
        container,
    });
    container_call(&t, reqwest::Method::PUT).await?;
    let body = Bytes::from(
        (0..args.size)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<u8>>(),
    );

    let put = phase(&args, &t, Op::Put, args.count, &body).await?;
    // Read and delete only what the PUT phase got to.
    let written = put.ok + put.errors;
    let get = phase(&args, &t, Op::Get, written, &body).await?;
    let delete = phase(&args, &t, Op::Delete, written, &body).await?;
    if let Err(e) = container_call(&t, reqwest::Method::DELETE).await {
        eprintln!(
            "warning: scratch container {} not removed: {e}",
            t.container
        );
    }

    let phases = [put, get, delete];
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
