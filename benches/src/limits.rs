//! This machine's limits for moving a large object, measured in the same
//! run as the systems under test: loopback TCP throughput, sequential disk
//! write ending in fsync, and single-core MD5 (Swift hashes every object
//! body with MD5 for its ETag).

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use md5::{Digest, Md5};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNK: usize = 1 << 20;

/// The three limits, MB/s (10^6 bytes per second).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Limits {
    /// One TCP stream over 127.0.0.1, 1 MiB writes.
    pub loopback_mb_s: f64,
    /// Sequential 1 MiB writes to a new file, then fsync, on the data disk.
    pub disk_fsync_mb_s: f64,
    /// MD5 of 1 MiB buffers on one core.
    pub md5_mb_s: f64,
    /// New 4 KiB files written and fsynced per second, one after another
    /// (what bounds a small PUT's latency: each replica fsyncs its file).
    pub fsync_4k_per_sec: f64,
}

fn rate(bytes: u64, t0: Instant) -> f64 {
    bytes as f64 / 1e6 / t0.elapsed().as_secs_f64().max(1e-9)
}

/// Sends `bytes` (rounded up to MiB) through one loopback TCP connection.
pub async fn loopback_mb_s(bytes: u64) -> anyhow::Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let reader = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                return Ok::<u64, std::io::Error>(got);
            }
            got += n as u64;
        }
    });
    let chunk = vec![7u8; CHUNK];
    let t0 = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let mut sent = 0u64;
    while sent < bytes {
        s.write_all(&chunk).await?;
        sent += CHUNK as u64;
    }
    s.shutdown().await?;
    drop(s);
    let got = reader.await??;
    anyhow::ensure!(got == sent, "loopback: sent {sent}, received {got}");
    Ok(rate(got, t0))
}

/// Writes `bytes` (rounded up to MiB) to a new file in `dir`, fsyncs it and
/// removes it; the time includes the fsync.
pub fn disk_fsync_mb_s(dir: &Path, bytes: u64) -> anyhow::Result<f64> {
    let path = dir.join(format!("disk-probe-{}", std::process::id()));
    let chunk = vec![7u8; CHUNK];
    let t0 = Instant::now();
    let mut f = std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?;
    let mut written = 0u64;
    while written < bytes {
        f.write_all(&chunk)?;
        written += CHUNK as u64;
    }
    f.sync_all()?;
    let r = rate(written, t0);
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(r)
}

/// Creates, writes (4 KiB), fsyncs and removes `n` files in `dir`, one
/// after another; files per second.
pub fn fsync_4k_per_sec(dir: &Path, n: usize) -> anyhow::Result<f64> {
    let chunk = [7u8; 4096];
    let t0 = Instant::now();
    for i in 0..n {
        let path = dir.join(format!("fsync-probe-{}-{i}", std::process::id()));
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&chunk)?;
        f.sync_all()?;
        drop(f);
        std::fs::remove_file(&path)?;
    }
    Ok(n as f64 / t0.elapsed().as_secs_f64().max(1e-9))
}

/// MD5 over `bytes` (rounded up to MiB) on this thread.
pub fn md5_mb_s(bytes: u64) -> f64 {
    let chunk = vec![7u8; CHUNK];
    let mut h = Md5::new();
    let t0 = Instant::now();
    let mut done = 0u64;
    while done < bytes {
        h.update(&chunk);
        done += CHUNK as u64;
    }
    std::hint::black_box(h.finalize());
    rate(done, t0)
}

/// All three, each over `bytes`; disk in `dir`.
pub async fn measure(dir: &Path, bytes: u64) -> anyhow::Result<Limits> {
    let loopback_mb_s = loopback_mb_s(bytes).await?;
    let d = dir.to_path_buf();
    let disk_fsync_mb_s = tokio::task::spawn_blocking(move || disk_fsync_mb_s(&d, bytes)).await??;
    let md5_mb_s = tokio::task::spawn_blocking(move || md5_mb_s(bytes)).await?;
    let d = dir.to_path_buf();
    let fsync_4k_per_sec = tokio::task::spawn_blocking(move || fsync_4k_per_sec(&d, 200)).await??;
    Ok(Limits {
        loopback_mb_s,
        disk_fsync_mb_s,
        md5_mb_s,
        fsync_4k_per_sec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limits_are_positive_and_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let l = measure(dir.path(), 4 << 20).await.unwrap();
        assert!(l.loopback_mb_s > 0.0 && l.disk_fsync_mb_s > 0.0 && l.md5_mb_s > 0.0);
        assert!(l.fsync_4k_per_sec > 0.0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
