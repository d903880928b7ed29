//! What the daemons of a node did, for the recon endpoint: the last pass
//! of each daemon and running totals, plus counts read from the devices
//! (async pendings waiting, quarantined items).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::RwLock;

use serde::Serialize;

use super::PassReport;
use crate::error::Result;

/// The recon record of one daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconEntry {
    /// The report of the last pass that ran (`None` before the first).
    pub last: Option<PassReport>,
    /// Passes that ran, failed ones included.
    pub passes: u64,
    /// Passes that could not run at all.
    pub failed_passes: u64,
    /// The error of the last failed pass, cleared by a successful one.
    pub last_error: Option<String>,
    /// Counters summed over every pass.
    pub totals: BTreeMap<String, u64>,
    /// Item errors summed over every pass.
    pub total_errors: u64,
}

/// The last pass and totals of every daemon of a node; shared by the
/// [`super::DaemonRunner`] (which writes) and the recon endpoint (which
/// reads).
#[derive(Debug, Default)]
pub struct ReconStore {
    entries: RwLock<BTreeMap<String, ReconEntry>>,
}

impl ReconStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `name` appear (with no passes yet).
    pub fn register(&self, name: &str) {
        self.update(name, |_| {});
    }

    /// Records the outcome of one pass of daemon `name`.
    pub fn record(&self, name: &str, outcome: &Result<PassReport>) {
        self.update(name, |e| {
            e.passes += 1;
            match outcome {
                Ok(report) => {
                    for (k, v) in &report.counts {
                        *e.totals.entry(k.clone()).or_default() += v;
                    }
                    e.total_errors += report.errors;
                    e.last = Some(report.clone());
                    e.last_error = None;
                }
                Err(err) => {
                    e.failed_passes += 1;
                    e.last_error = Some(err.to_string());
                }
            }
        });
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut ReconEntry)) {
        let mut guard = match self.entries.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(guard.entry(name.to_string()).or_default());
    }

    /// The record of daemon `name`.
    pub fn get(&self, name: &str) -> Option<ReconEntry> {
        match self.entries.read() {
            Ok(g) => g.get(name).cloned(),
            Err(p) => p.into_inner().get(name).cloned(),
        }
    }

    /// Every daemon's record, by name.
    pub fn snapshot(&self) -> BTreeMap<String, ReconEntry> {
        match self.entries.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// Counts read from a node's devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceCounts {
    /// Async-pending container updates waiting under `async_pending/`.
    pub async_pendings: u64,
    /// Entries under `quarantined/<kind>/` by kind (`objects`,
    /// `containers`, `accounts`, ...).
    pub quarantined: BTreeMap<String, u64>,
}

/// Counts async pendings and quarantined items on every device under
/// `devices`. Blocking: run it on the blocking pool.
pub fn device_counts(devices: &Path) -> DeviceCounts {
    let mut out = DeviceCounts::default();
    for dev in entries(devices) {
        for suffix in entries(&dev.join("async_pending")) {
            out.async_pendings += entries(&suffix).len() as u64;
        }
        for kind in entries(&dev.join("quarantined")) {
            let Some(name) = kind.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            *out.quarantined.entry(name.to_string()).or_default() += entries(&kind).len() as u64;
        }
    }
    out
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The recon document of a node: `{"daemons": {name: entry},
/// "async_pendings": n, "quarantined": {kind: n}}`.
pub async fn recon_json(store: &ReconStore, devices: &Path) -> serde_json::Value {
    let devices = devices.to_path_buf();
    let counts = tokio::task::spawn_blocking(move || device_counts(&devices))
        .await
        .unwrap_or_default();
    serde_json::json!({
        "daemons": store.snapshot(),
        "async_pendings": counts.async_pendings,
        "quarantined": counts.quarantined,
    })
}

/// The recon document of one daemon, `None` when no such daemon runs.
pub fn daemon_json(store: &ReconStore, name: &str) -> Option<serde_json::Value> {
    store.get(name).and_then(|e| serde_json::to_value(e).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_last_pass_and_totals() {
        let store = ReconStore::new();
        store.register("x");
        assert_eq!(store.get("x").unwrap().passes, 0);
        let mut r = PassReport::start();
        r.add("rows_sent", 3);
        r.errors = 1;
        store.record("x", &Ok(r.clone()));
        store.record("x", &Ok(r));
        store.record(
            "x",
            &Err(crate::Error::Unavailable {
                reason: "down".into(),
            }),
        );
        let e = store.get("x").unwrap();
        assert_eq!((e.passes, e.failed_passes, e.total_errors), (3, 1, 2));
        assert_eq!(e.totals["rows_sent"], 6);
        assert_eq!(e.last.unwrap().count("rows_sent"), 3);
        assert!(e.last_error.unwrap().contains("down"));
        let v = daemon_json(&store, "x").unwrap();
        assert_eq!(v["totals"]["rows_sent"], 6);
        assert!(daemon_json(&store, "nope").is_none());
    }

    #[tokio::test]
    async fn counts_pendings_and_quarantine_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sda/async_pending/abc")).unwrap();
        std::fs::write(d.join("sda/async_pending/abc/x-1"), b"{}").unwrap();
        std::fs::write(d.join("sda/async_pending/abc/y-1"), b"{}").unwrap();
        std::fs::create_dir_all(d.join("sdb/quarantined/containers/h1")).unwrap();
        let v = recon_json(&ReconStore::new(), d).await;
        assert_eq!(v["async_pendings"], 2);
        assert_eq!(v["quarantined"]["containers"], 1);
    }
}
