//! Swift API client side of the load generators: tempauth, a scratch
//! container, and bounded phases of concurrent object operations.
//!
//! Used by `swift-load` (one system) and `swift-compare` (ours against the
//! reference, interleaved).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;

use crate::stats::PhaseStats;
use crate::target::check_loopback;

/// An object operation of a load phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Upload the body.
    Put,
    /// Download the body (length checked, streamed, not buffered).
    Get,
    /// Metadata only.
    Head,
    /// Remove the object.
    Delete,
}

impl Op {
    /// The HTTP method name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "PUT",
            Op::Get => "GET",
            Op::Head => "HEAD",
            Op::Delete => "DELETE",
        }
    }

    /// Payload bytes one successful operation moves.
    fn payload(self, size: usize) -> usize {
        match self {
            Op::Put | Op::Get => size,
            Op::Head | Op::Delete => 0,
        }
    }
}

/// An auth token; its `Debug` output is redacted.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where a load run goes: storage URL, token, scratch container.
#[derive(Debug, Clone)]
pub struct Target {
    /// `X-Storage-Url` from tempauth (loopback checked).
    pub storage_url: String,
    /// `X-Auth-Token` from tempauth.
    pub token: Token,
    /// The scratch container's name.
    pub container: String,
}

/// A client with one keep-alive connection, `TCP_NODELAY` and a 10 minute
/// request timeout (a 1 GiB transfer must fit in it).
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(600))
        .build()?)
}

/// Authenticates with tempauth (`GET auth_url` with `X-Auth-User`/`-Key`)
/// and returns a target for container `container` (not created yet).
pub async fn auth(
    auth_url: &str,
    user: &str,
    key: &str,
    container: &str,
) -> anyhow::Result<Target> {
    check_loopback(auth_url)?;
    let resp = client()?
        .get(auth_url)
        .header("X-Auth-User", user)
        .header("X-Auth-Key", key)
        .send()
        .await
        .with_context(|| format!("auth request to {auth_url}"))?;
    if !resp.status().is_success() {
        bail!("auth at {auth_url} failed: {}", resp.status());
    }
    let header = |name: &str| -> anyhow::Result<String> {
        Ok(resp
            .headers()
            .get(name)
            .with_context(|| format!("auth response has no {name}"))?
            .to_str()?
            .to_string())
    };
    let storage_url = header("x-storage-url")?;
    check_loopback(&storage_url)?;
    Ok(Target {
        storage_url,
        token: Token(header("x-auth-token")?),
        container: container.to_string(),
    })
}

/// A container name unique to this process and moment.
pub fn scratch_name(prefix: &str) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{prefix}-{}-{ms}", std::process::id())
}

impl Target {
    /// The URL of object `i`.
    pub fn object_url(&self, i: usize) -> String {
        format!("{}/{}/obj-{i:08}", self.storage_url, self.container)
    }

    /// `method` on the container itself; fails on a non-2xx status.
    pub async fn container_call(&self, method: reqwest::Method) -> anyhow::Result<()> {
        let url = format!("{}/{}", self.storage_url, self.container);
        let resp = client()?
            .request(method.clone(), &url)
            .header("X-Auth-Token", &self.token.0)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("{method} {url}: {}", resp.status());
        }
        Ok(())
    }

    /// One operation on object `i`; true when it succeeded (2xx and, for
    /// GET, exactly `body.len()` bytes received).
    pub async fn one(&self, http: &reqwest::Client, op: Op, i: usize, body: &Bytes) -> bool {
        let url = self.object_url(i);
        let req = match op {
            // An explicit length: an empty body would otherwise go out
            // with neither Content-Length nor chunking (411 from Swift).
            Op::Put => http
                .put(&url)
                .header(reqwest::header::CONTENT_LENGTH, body.len())
                .body(body.clone()),
            Op::Get => http.get(&url),
            Op::Head => http.head(&url),
            Op::Delete => http.delete(&url),
        };
        let Ok(mut resp) = req.header("X-Auth-Token", &self.token.0).send().await else {
            return false;
        };
        if !resp.status().is_success() {
            return false;
        }
        let mut got = 0usize;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => got += c.len(),
                Ok(None) => break,
                Err(_) => return false,
            }
        }
        op != Op::Get || got == body.len()
    }

    /// Lists the whole container page by page (`limit` names per request,
    /// JSON, following the last name as marker); returns the number of
    /// names seen. Stops with an error past `deadline`.
    pub async fn list_all(&self, limit: usize, deadline: Instant) -> anyhow::Result<usize> {
        let http = client()?;
        let base = format!("{}/{}", self.storage_url, self.container);
        let mut marker = String::new();
        let mut total = 0usize;
        loop {
            if Instant::now() >= deadline {
                bail!("listing timed out after {total} names");
            }
            let resp = http
                .get(&base)
                .query(&[
                    ("format", "json"),
                    ("limit", &limit.to_string()),
                    ("marker", &marker),
                ])
                .header("X-Auth-Token", &self.token.0)
                .send()
                .await?;
            if !resp.status().is_success() {
                bail!("listing {base}: {}", resp.status());
            }
            let page: Vec<serde_json::Value> = resp.json().await?;
            let Some(last) = page.last() else {
                return Ok(total);
            };
            total += page.len();
            marker = last
                .get("name")
                .and_then(|n| n.as_str())
                .context("listing entry without a name")?
                .to_string();
            if page.len() < limit {
                return Ok(total);
            }
        }
    }
}

/// The shape of one load phase.
#[derive(Debug, Clone, Copy)]
pub struct PhaseSpec {
    /// The operation every client repeats.
    pub op: Op,
    /// Concurrent clients, each with its own connection.
    pub clients: usize,
    /// Objects `first..first + count` are operated on.
    pub first: usize,
    /// How many operations at most.
    pub count: usize,
    /// Time limit of the phase.
    pub limit: Duration,
}

/// Runs one phase: `clients` tasks take object numbers from a shared
/// counter until `count` are done or the time limit passes.
pub async fn phase(t: &Arc<Target>, spec: PhaseSpec, body: &Bytes) -> anyhow::Result<PhaseStats> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + spec.limit;
    let mut tasks = Vec::with_capacity(spec.clients);
    for _ in 0..spec.clients {
        let (t, next, body, http) = (t.clone(), next.clone(), body.clone(), client()?);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= spec.count || Instant::now() >= deadline {
                    break;
                }
                let t0 = Instant::now();
                if t.one(&http, spec.op, spec.first + i, &body).await {
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
    Ok(PhaseStats::new(
        spec.op.name(),
        lat,
        errors,
        start.elapsed(),
        spec.op.payload(body.len()),
    ))
}

/// A deterministic body of `size` bytes.
pub fn body(size: usize) -> Bytes {
    Bytes::from((0..size).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>())
}
