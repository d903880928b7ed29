//! `glance-load`: image upload and download throughput through the Images
//! API v2, next to this machine's single-core md5+sha512 hashing rate
//! (the ceiling of a one-pass hashing upload), measured in the same run.
//!
//! Authenticates against Keystone v3 (password, project scope), finds the
//! image endpoint in the catalog, creates an image, streams `size` bytes
//! of generated data to `PUT /v2/images/{id}/file`, reads it back with
//! `GET .../file` (checking length and md5 against the image's
//! `checksum`), and deletes it. Loopback targets only.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use ferrostack_benches::target::check_loopback;
use futures::StreamExt;
use md5::{Digest, Md5};
use sha2::Sha512;

/// Images API upload/download benchmark.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Keystone v3 URL (loopback only), e.g. `$OS_AUTH_URL`.
    #[arg(long, env = "OS_AUTH_URL")]
    auth_url: String,
    /// User name.
    #[arg(long, env = "OS_USERNAME", default_value = "admin")]
    user: String,
    /// Password.
    #[arg(long, env = "OS_PASSWORD", hide_env_values = true)]
    password: String,
    /// Project name.
    #[arg(long, env = "OS_PROJECT_NAME", default_value = "admin")]
    project: String,
    /// Image size in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Rounds (upload + download each); the best round is reported too.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Glance store id (`X-Image-Meta-Store`); the default store without it.
    #[arg(long)]
    store: Option<String>,
}

const CHUNK: usize = 1 << 20;

fn chunk() -> Bytes {
    Bytes::from(
        (0..CHUNK)
            .map(|i| (i * 131 % 251) as u8)
            .collect::<Vec<u8>>(),
    )
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64().max(1e-9)
}

/// MiB/s of md5 and sha512 updated together over one buffer, on one core.
fn hashing_rate(total_mib: u64) -> f64 {
    let c = chunk();
    let start = Instant::now();
    let (mut m, mut s) = (Md5::new(), Sha512::new());
    for _ in 0..total_mib {
        m.update(&c);
        s.update(&c);
    }
    std::hint::black_box((m.finalize(), s.finalize()));
    mbps(total_mib << 20, start.elapsed())
}

async fn token_and_endpoint(http: &reqwest::Client, a: &Args) -> anyhow::Result<(String, String)> {
    let body = serde_json::json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": a.user, "domain": {"name": "Default"}, "password": a.password}}},
        "scope": {"project": {"name": a.project, "domain": {"name": "Default"}}}}});
    let url = format!("{}/auth/tokens", a.auth_url.trim_end_matches('/'));
    let resp = http.post(&url).json(&body).send().await?;
    if resp.status().as_u16() != 201 {
        bail!("authentication failed: {}", resp.status());
    }
    let token = resp
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .context("no X-Subject-Token")?
        .to_string();
    let doc: serde_json::Value = resp.json().await?;
    let endpoint = doc["token"]["catalog"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["type"] == "image")
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .find(|e| e["interface"] == "public")
        .and_then(|e| e["url"].as_str().map(str::to_string))
        .context("no public image endpoint in the catalog")?;
    Ok((token, endpoint.trim_end_matches('/').to_string()))
}

struct Round {
    upload: f64,
    download: f64,
}

async fn round(http: &reqwest::Client, a: &Args, token: &str, base: &str) -> anyhow::Result<Round> {
    let size = a.size_mib << 20;
    let created: serde_json::Value = http
        .post(format!("{base}/v2/images"))
        .header("x-auth-token", token)
        .json(
            &serde_json::json!({"name": "glance-load", "disk_format": "raw",
                                   "container_format": "bare"}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created["id"].as_str().context("no image id")?.to_string();
    let c = chunk();
    let n = a.size_mib;
    let body = futures::stream::iter((0..n).map(move |_| Ok::<_, std::io::Error>(c.clone())));
    let mut put = http
        .put(format!("{base}/v2/images/{id}/file"))
        .header("x-auth-token", token)
        .header("content-type", "application/octet-stream")
        .header("content-length", size.to_string());
    if let Some(store) = &a.store {
        put = put.header("x-image-meta-store", store.as_str());
    }
    let start = Instant::now();
    put.body(reqwest::Body::wrap_stream(body))
        .send()
        .await?
        .error_for_status()
        .context("upload")?;
    let upload = mbps(size, start.elapsed());

    let shown: serde_json::Value = http
        .get(format!("{base}/v2/images/{id}"))
        .header("x-auth-token", token)
        .send()
        .await?
        .json()
        .await?;
    let start = Instant::now();
    let resp = http
        .get(format!("{base}/v2/images/{id}/file"))
        .header("x-auth-token", token)
        .send()
        .await?
        .error_for_status()
        .context("download")?;
    let mut stream = resp.bytes_stream();
    let (mut got, mut md5) = (0u64, Md5::new());
    while let Some(b) = stream.next().await {
        let b = b?;
        got += b.len() as u64;
        md5.update(&b);
    }
    let download = mbps(size, start.elapsed());
    if got != size {
        bail!("downloaded {got} bytes, expected {size}");
    }
    if shown["checksum"].as_str() != Some(hex::encode(md5.finalize()).as_str()) {
        bail!("downloaded md5 differs from the image checksum");
    }
    http.delete(format!("{base}/v2/images/{id}"))
        .header("x-auth-token", token)
        .send()
        .await?
        .error_for_status()?;
    Ok(Round { upload, download })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    check_loopback(&a.auth_url)?;
    if a.size_mib == 0 || a.size_mib > 16 * 1024 || a.rounds == 0 || a.rounds > 20 {
        bail!("size-mib must be 1..=16384 and rounds 1..=20");
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;
    let (token, base) = token_and_endpoint(&http, &a).await?;
    check_loopback(&base)?;
    eprintln!("measuring the single-core md5+sha512 rate ...");
    let hash = hashing_rate(a.size_mib.min(1024));
    println!("md5+sha512 one core: {hash:>8.1} MiB/s");
    for i in 1..=a.rounds {
        eprintln!("round {i}/{}: {} MiB up and down ...", a.rounds, a.size_mib);
        let r = round(&http, &a, &token, &base).await?;
        println!(
            "round {i}: upload {:>8.1} MiB/s ({:>5.1}% of hashing)   download {:>8.1} MiB/s",
            r.upload,
            100.0 * r.upload / hash,
            r.download
        );
    }
    Ok(())
}
