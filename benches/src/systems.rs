//! The two systems `swift-compare` runs: ours (`ferrostack up`, one process
//! holding the proxy and the three storage nodes) and the reference Swift
//! (started and stopped by `benches/compare/swift-ref.sh`), plus a sampler
//! of their processes' peak resident memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::procs::{group_rss_kib, Group};

/// `ferrostack up` on private loopback ports, fsync on, fresh data dir.
#[derive(Debug)]
pub struct Ours {
    group: Group,
    /// tempauth URL of the proxy.
    pub auth_url: String,
}

impl Ours {
    /// Starts `bin up` with the proxy on `port` and storage nodes on
    /// `port - 1879 .. + 3` (18080 → 16201..16203), tempauth user
    /// test:tester/testing; data, config and log under `work`. Waits until
    /// tempauth answers (at most 60 s).
    pub async fn start(bin: &Path, work: &Path, port: u16) -> anyhow::Result<Self> {
        let data = work.join("ours-data");
        if data.exists() {
            std::fs::remove_dir_all(&data)?;
        }
        std::fs::create_dir_all(&data)?;
        let storage = port.checked_sub(1879).context("proxy port too low")?;
        let cfg = format!(
            "[swift]\nproxy_bind = \"127.0.0.1:{port}\"\n\
             storage_binds = [\"127.0.0.1:{}\", \"127.0.0.1:{}\", \"127.0.0.1:{}\"]\n\
             fsync = true\n\
             [swift.proxy]\naccount_autocreate = true\n\
             [[swift.proxy.tempauth.users]]\naccount = \"test\"\nuser = \"tester\"\n\
             key = \"testing\"\ngroups = [\".admin\"]\n\
             [identity]\nbind = \"127.0.0.1:0\"\n[glance]\nbind = \"127.0.0.1:0\"\n",
            storage,
            storage + 1,
            storage + 2
        );
        let cfg_path = work.join("ours.toml");
        std::fs::write(&cfg_path, cfg)?;
        let mut cmd = Command::new(bin);
        cmd.arg("up")
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(&cfg_path)
            .env("RUST_LOG", "warn");
        let group = Group::spawn("ferrostack up", cmd, &work.join("ours.log"))?;
        let mut ours = Self {
            group,
            auth_url: format!("http://127.0.0.1:{port}/auth/v1.0"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if crate::swift::auth(&ours.auth_url, "test:tester", "testing", "x")
                .await
                .is_ok()
            {
                return Ok(ours);
            }
            if !ours.group.running() {
                bail!(
                    "ferrostack up exited; see {}",
                    work.join("ours.log").display()
                );
            }
            if Instant::now() > deadline {
                ours.group.stop();
                bail!("ferrostack up did not answer on port {port} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// (label, process group) of what to sample for memory.
    pub fn groups(&self) -> Vec<(String, u32)> {
        self.group
            .pid()
            .map(|p| ("proxy+3 storage nodes (1 process)".to_string(), p))
            .into_iter()
            .collect()
    }

    /// Stops the process group.
    pub fn stop(&mut self) {
        self.group.stop();
    }
}

/// The reference Swift, through its control script.
#[derive(Debug)]
pub struct Reference {
    script: PathBuf,
    args: Vec<String>,
    venv: PathBuf,
    running: bool,
    /// tempauth URL of the proxy.
    pub auth_url: String,
}

impl Reference {
    /// A handle on the script; `root`: its state dir, `venv`: Swift's venv
    /// (created by the script when missing), `port`: the proxy,
    /// `backend_port`: object server (container +1, account +2).
    pub fn new(
        script: &Path,
        root: &Path,
        venv: &Path,
        port: u16,
        backend_port: u16,
        memcache_port: u16,
    ) -> Self {
        let args = vec![
            "--root".into(),
            root.display().to_string(),
            "--venv".into(),
            venv.display().to_string(),
            "--port".into(),
            port.to_string(),
            "--backend-port".into(),
            backend_port.to_string(),
            "--memcache-port".into(),
            memcache_port.to_string(),
        ];
        Self {
            script: script.to_path_buf(),
            args,
            venv: venv.to_path_buf(),
            running: false,
            auth_url: format!("http://127.0.0.1:{port}/auth/v1.0"),
        }
    }

    fn script(&self, cmd: &str) -> anyhow::Result<String> {
        let out = Command::new("bash")
            .arg(&self.script)
            .args(&self.args)
            .arg(cmd)
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", self.script.display()))?;
        if !out.status.success() {
            bail!("{} {cmd} failed: {}", self.script.display(), out.status);
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Installs if needed, wipes old data and starts every server.
    pub fn start(&mut self) -> anyhow::Result<()> {
        self.script("stop")?;
        self.script("wipe")?;
        self.running = true;
        self.script("start")?;
        Ok(())
    }

    /// `swift-ring-builder` of the reference's venv.
    pub fn ring_builder(&self) -> PathBuf {
        self.venv.join("bin/swift-ring-builder")
    }

    /// (label, process group) per running service.
    pub fn groups(&self) -> anyhow::Result<Vec<(String, u32)>> {
        let out = self.script("pids")?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let (name, pid) = l.split_once(' ')?;
                Some((name.to_string(), pid.trim().parse().ok()?))
            })
            .collect())
    }

    /// Stops every server the script started. Idempotent.
    pub fn stop(&mut self) {
        if std::mem::take(&mut self.running) {
            if let Err(e) = self.script("stop") {
                eprintln!("warning: stopping the reference Swift: {e}");
            }
        }
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Peak RSS (KiB) and process count per labelled process group.
pub type Peaks = BTreeMap<String, (u64, usize)>;

/// Samples the groups' summed VmRSS every 200 ms until dropped.
#[derive(Debug)]
pub struct RssSampler {
    peaks: Arc<Mutex<Peaks>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    /// Starts sampling `groups`.
    pub fn start(groups: Vec<(String, u32)>) -> Self {
        let peaks = Arc::new(Mutex::new(Peaks::new()));
        let p = peaks.clone();
        let task = tokio::spawn(async move {
            loop {
                for (label, pgid) in &groups {
                    let (kib, n) = group_rss_kib(*pgid);
                    if let Ok(mut m) = p.lock() {
                        let e = m.entry(label.clone()).or_insert((0, 0));
                        if kib > e.0 {
                            *e = (kib, n);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Self { peaks, task }
    }

    /// The peaks so far.
    pub fn peaks(&self) -> Peaks {
        self.peaks.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}
