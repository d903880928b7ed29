//! External commands and QEMU processes: the one command runner (every
//! command is logged and fails with its stderr), pid files, liveness and
//! killing, and the per-instance file layout.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::model::{HostName, InstanceId};

/// A command that could not run or exited with a failure.
#[derive(Debug, thiserror::Error)]
#[error("command `{command}` failed ({status}): {stderr}")]
pub(crate) struct CommandError {
    command: String,
    status: String,
    stderr: String,
}

/// Renders a command line for logs and errors.
fn render(program: &OsStr, args: &[OsString]) -> String {
    let mut s = program.to_string_lossy().into_owned();
    for a in args {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `program args…` to completion: logs it, returns its stdout, and
/// turns a spawn failure or non-zero exit into an error carrying stderr.
pub(crate) async fn run(program: impl AsRef<OsStr>, args: &[OsString]) -> Result<String> {
    let program = program.as_ref();
    let line = render(program, args);
    tracing::info!(command = %line, "run");
    let out = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            Error::backend(
                "qemu",
                CommandError {
                    command: line.clone(),
                    status: "not started".into(),
                    stderr: e.to_string(),
                },
            )
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        tracing::warn!(command = %line, status = %out.status, %stderr, "command failed");
        return Err(Error::backend(
            "qemu",
            CommandError {
                command: line,
                status: out.status.to_string(),
                stderr,
            },
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds an argument list from anything string-like.
pub(crate) fn args<I, S>(items: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    items.into_iter().map(Into::into).collect()
}

/// Where one instance's files live on one host:
/// `<instances_dir>/<uuid>/disk` (the overlay, shared by hosts on shared
/// storage) and `<instances_dir>/<uuid>/<host>/` (this host's runtime
/// files).
#[derive(Clone)]
pub(crate) struct Paths {
    pub(crate) root: PathBuf,
    pub(crate) host_dir: PathBuf,
}

impl fmt::Debug for Paths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host_dir.display())
    }
}

impl Paths {
    pub(crate) fn new(instances_dir: &Path, host: &HostName, id: &InstanceId) -> Self {
        let root = instances_dir.join(id.to_string());
        let host_dir = root.join(host.as_str());
        Self { root, host_dir }
    }
    pub(crate) fn disk(&self) -> PathBuf {
        self.root.join("disk")
    }
    pub(crate) fn record(&self) -> PathBuf {
        self.host_dir.join("instance.json")
    }
    pub(crate) fn pid(&self) -> PathBuf {
        self.host_dir.join("qemu.pid")
    }
    pub(crate) fn qmp(&self) -> PathBuf {
        self.host_dir.join("qmp.sock")
    }
    pub(crate) fn console(&self) -> PathBuf {
        self.host_dir.join("console.log")
    }

    /// Removes this host's runtime files, then the disk and the instance
    /// directory when no other host uses them any more.
    pub(crate) async fn remove(&self) -> Result<()> {
        remove_dir_all_if_exists(&self.host_dir).await?;
        let mut others = false;
        if let Ok(mut rd) = tokio::fs::read_dir(&self.root).await {
            while let Ok(Some(e)) = rd.next_entry().await {
                if e.file_type().await.map(|t| t.is_dir()).unwrap_or(false) {
                    others = true;
                }
            }
        }
        if !others {
            remove_dir_all_if_exists(&self.root).await?;
        }
        Ok(())
    }
}

async fn remove_dir_all_if_exists(p: &Path) -> Result<()> {
    match tokio::fs::remove_dir_all(p).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::backend("qemu", e)),
    }
}

/// The live QEMU process of an instance: the pid in its pid file, if that
/// process still runs with this pid file on its command line (so a reused
/// pid is never mistaken for it).
pub(crate) async fn live_pid(paths: &Paths) -> Option<u32> {
    let text = tokio::fs::read_to_string(paths.pid()).await.ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    runs_as(pid, paths).await.then_some(pid)
}

/// Whether process `pid` is this instance's QEMU (its command line names
/// the instance's pid file; a zombie's is empty).
async fn runs_as(pid: u32, paths: &Paths) -> bool {
    let Ok(cmdline) = tokio::fs::read(format!("/proc/{pid}/cmdline")).await else {
        return false;
    };
    let marker = paths.pid();
    let marker = marker.to_string_lossy();
    cmdline
        .split(|b| *b == 0)
        .any(|arg| String::from_utf8_lossy(arg) == marker)
}

/// Waits up to `wait` for process `pid` (the instance's QEMU) to end. It is
/// followed by pid: QEMU removes its pid file before it has finished
/// exiting.
pub(crate) async fn wait_pid(pid: u32, paths: &Paths, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if !runs_as(pid, paths).await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills the instance's process (SIGKILL) and waits for it to go.
pub(crate) async fn kill(paths: &Paths) -> Result<()> {
    match live_pid(paths).await {
        Some(pid) => kill_pid(pid, paths).await,
        None => Ok(()),
    }
}

/// Kills process `pid`, the instance's QEMU, and waits for it to go.
pub(crate) async fn kill_pid(pid: u32, paths: &Paths) -> Result<()> {
    if !runs_as(pid, paths).await {
        return Ok(());
    }
    // It may exit by itself between the check and the kill.
    if let Err(e) = run("kill", &args(["-KILL".to_owned(), pid.to_string()])).await {
        if runs_as(pid, paths).await {
            return Err(e);
        }
    }
    if !wait_pid(pid, paths, Duration::from_secs(10)).await {
        return Err(Error::unavailable(format!(
            "qemu process {pid} did not exit after SIGKILL"
        )));
    }
    Ok(())
}

/// Removes what a previous QEMU run left (pid file, QMP socket).
pub(crate) async fn clear_runtime(paths: &Paths) {
    for p in [paths.pid(), paths.qmp()] {
        let _ = tokio::fs::remove_file(p).await;
    }
}

/// Whether the CPU offers hardware virtualization (vmx/svm) and
/// `/dev/kvm` exists: only then can KVM boot stock guests.
pub(crate) fn kvm_usable() -> bool {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hw = cpu
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    hw && Path::new("/dev/kvm").exists()
}

/// The host's RAM in MiB from `/proc/meminfo`.
pub(crate) fn host_memory_mb() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

/// The size in GiB of the file system holding `dir` (`df`).
pub(crate) async fn disk_total_gb(dir: &Path) -> Result<u64> {
    let out = run("df", &args([OsString::from("-Pk"), dir.into()])).await?;
    let kb = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| Error::backend("qemu", format!("unexpected df output {out:?}")))?;
    Ok(kb / (1024 * 1024))
}
