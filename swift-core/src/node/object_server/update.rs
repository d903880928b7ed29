//! Container updates after object writes, and the async-pending records
//! that keep failed updates for the updater to retry.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ObjectServer;
use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::node::{NodeMethod, NodeRequest};
use crate::ring::RingKind;
use crate::timestamp::Timestamp;

/// One container update that could not be delivered, as stored under
/// `<device>/async_pending/<suffix>/<hash>-<timestamp>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncPending {
    /// `PUT` (object row) or `DELETE`.
    pub op: String,
    /// Account of the object.
    pub account: String,
    /// Container of the object.
    pub container: String,
    /// Object name.
    pub obj: String,
    /// Headers of the update request (`x-timestamp`, `x-size`, ...).
    pub headers: Vec<(String, String)>,
    /// Container partition the proxy named, if any.
    pub container_partition: Option<u32>,
    /// `host/device` of container replicas already updated.
    #[serde(default)]
    pub successes: Vec<String>,
}

/// The update targets a proxy named in `X-Container-Host`,
/// `X-Container-Device` and `X-Container-Partition`: `(host, device)` pairs
/// and the partition. `None` when the headers are absent or inconsistent.
fn targets(headers: &Headers) -> Option<(Vec<(String, String)>, u32)> {
    let hosts = headers.get("x-container-host")?;
    let devices = headers.get("x-container-device")?;
    let part = headers.get("x-container-partition")?.trim().parse().ok()?;
    let hosts: Vec<&str> = hosts.split(',').map(str::trim).collect();
    let devices: Vec<&str> = devices.split(',').map(str::trim).collect();
    if hosts.len() != devices.len() || hosts.iter().chain(&devices).any(|s| s.is_empty()) {
        tracing::warn!("container update skipped: hosts and devices do not pair up");
        return None;
    }
    let pairs = hosts
        .iter()
        .zip(&devices)
        .map(|(h, d)| (h.to_string(), d.to_string()))
        .collect();
    Some((pairs, part))
}

impl ObjectServer {
    /// Sends an object-row update to every container named by the request;
    /// failures are stored as an async pending on `obj_device`.
    pub(super) async fn container_update(
        &self,
        req_headers: &Headers,
        obj_device: &str,
        mut pending: AsyncPending,
        timestamp: Timestamp,
    ) {
        let Some((pairs, part)) = targets(req_headers) else {
            return;
        };
        pending.container_partition = Some(part);
        let mut failed = false;
        for (host, device) in pairs {
            if self.send_update(&host, &device, part, &pending).await {
                pending.successes.push(format!("{host}/{device}"));
            } else {
                failed = true;
            }
        }
        if failed {
            if let Err(e) = self.save_pending(obj_device, &pending, timestamp).await {
                tracing::error!(error = %e, "could not save async pending update");
            }
        }
    }

    /// Sends one update; true on a 2xx answer.
    async fn send_update(&self, host: &str, device: &str, part: u32, p: &AsyncPending) -> bool {
        let method = if p.op == "DELETE" {
            NodeMethod::Delete
        } else {
            NodeMethod::Put
        };
        let path = format!("{}/{}/{}", p.account, p.container, p.obj);
        let mut req = NodeRequest::new(method, device, part, path);
        req.headers = p.headers.iter().cloned().collect();
        req.headers
            .set(crate::node::SERVER_TYPE_HEADER, "container");
        match self.client.send(host, req).await {
            Ok(resp) if resp.is_success() => true,
            Ok(resp) => {
                tracing::warn!(
                    host,
                    device,
                    status = resp.status,
                    "container update failed"
                );
                false
            }
            Err(e) => {
                tracing::warn!(host, device, error = %e, "container update failed");
                false
            }
        }
    }

    fn pending_path(&self, device: &str, p: &AsyncPending, ts: Timestamp) -> PathBuf {
        let hash = self
            .config
            .hash
            .hash_path(&p.account, Some(&p.container), Some(&p.obj));
        self.config
            .devices
            .join(device)
            .join("async_pending")
            .join(hash.suffix())
            .join(format!("{}-{}", hash.to_hex(), ts.internal()))
    }

    async fn save_pending(&self, device: &str, p: &AsyncPending, ts: Timestamp) -> Result<()> {
        let path = self.pending_path(device, p, ts);
        let tmp_dir = self.config.devices.join(device).join("tmp");
        let bytes = serde_json::to_vec(p).map_err(|e| Error::Backend {
            backend: "fs",
            source: Box::new(e),
        })?;
        let fsync = self.config.fsync;
        tokio::task::spawn_blocking(move || write_atomic(&tmp_dir, &path, &bytes, fsync))
            .await
            .map_err(|e| Error::Backend {
                backend: "fs",
                source: Box::new(e),
            })?
            .map_err(|e| Error::io("async pending", e))
    }

    /// Retries every stored async pending once: each goes to the primary
    /// container nodes (from the container ring) it has not yet reached,
    /// and is removed when all have answered 2xx. Returns how many records
    /// were completed and removed.
    pub async fn process_async_pendings_once(&self) -> Result<usize> {
        let root = self.config.devices.clone();
        let files = tokio::task::spawn_blocking(move || list_pendings(&root))
            .await
            .map_err(|e| Error::Backend {
                backend: "fs",
                source: Box::new(e),
            })?;
        let mut done = 0;
        for path in files {
            match self.retry_pending(&path).await {
                Ok(true) => done += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "async pending"),
            }
        }
        Ok(done)
    }

    /// Retries one record; true when it is complete and removed.
    async fn retry_pending(&self, path: &Path) -> Result<bool> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| Error::io("async pending", e))?;
        let mut p: AsyncPending = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            what: format!("async pending {}: {e}", path.display()),
        })?;
        let ring = self.rings.get(RingKind::Container);
        let part = p
            .container_partition
            .filter(|part| *part < ring.partition_count())
            .unwrap_or_else(|| {
                ring.partition_for(&self.config.hash, &p.account, Some(&p.container), None)
            });
        let nodes = ring.primary_nodes(part);
        // With no container nodes known nothing was delivered: keep it.
        let mut all_ok = !nodes.is_empty();
        let mut changed = false;
        for node in nodes {
            let (host, device) = (node.device.host(), node.device.device.clone());
            let key = format!("{host}/{device}");
            if p.successes.contains(&key) {
                continue;
            }
            if self.send_update(&host, &device, part, &p).await {
                p.successes.push(key);
                changed = true;
            } else {
                all_ok = false;
            }
        }
        if all_ok {
            tokio::fs::remove_file(path)
                .await
                .map_err(|e| Error::io("async pending", e))?;
            if let Some(dir) = path.parent() {
                // Fails (harmlessly) unless the suffix dir is now empty.
                let _ = tokio::fs::remove_dir(dir).await;
            }
            return Ok(true);
        }
        if changed {
            let bytes = serde_json::to_vec(&p).map_err(|e| Error::Backend {
                backend: "fs",
                source: Box::new(e),
            })?;
            let (path, fsync) = (path.to_path_buf(), self.config.fsync);
            let tmp_dir = path
                .ancestors()
                .nth(3)
                .map(|dev| dev.join("tmp"))
                .unwrap_or_else(std::env::temp_dir);
            tokio::task::spawn_blocking(move || write_atomic(&tmp_dir, &path, &bytes, fsync))
                .await
                .map_err(|e| Error::Backend {
                    backend: "fs",
                    source: Box::new(e),
                })?
                .map_err(|e| Error::io("async pending", e))?;
        }
        Ok(false)
    }
}

/// Writes `bytes` to `path` through a temp file in `tmp_dir`.
fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8], fsync: bool) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(tmp_dir)?;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("async pending path without parent"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = tmp_dir.join(format!("{}.pending", uuid::Uuid::new_v4().simple()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if fsync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if fsync {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Every async-pending file under every device, sorted.
fn list_pendings(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(devices) = std::fs::read_dir(root) else {
        return out;
    };
    for dev in devices.flatten() {
        let Ok(suffixes) = std::fs::read_dir(dev.path().join("async_pending")) else {
            continue;
        };
        for suffix in suffixes.flatten() {
            if let Ok(files) = std::fs::read_dir(suffix.path()) {
                out.extend(files.flatten().map(|f| f.path()).filter(|p| p.is_file()));
            }
        }
    }
    out.sort();
    out
}
