//! QemuDriver against real QEMU (TCG) with the test guest of
//! `scripts/test-guest.sh`, found through `FERROSTACK_GUEST_DIR`. Without
//! it the tests say they were skipped, unless
//! `FERROSTACK_REQUIRE_SERVICES=1`, when they fail. Guests run one test at
//! a time (the migration tests run two guests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use tokio::time::Instant;

use super::qmp::Qmp;
use super::{Accel, QemuConfig, QemuDriver};
use crate::error::Error;
use crate::model::{InstanceId, PowerState, Resources, VolumeId};
use crate::virt::conformance::{self, Fixture};
use crate::virt::{HypervisorDriver, MigrationSide, RebootType, SpawnRequest, VolumeConnection};

/// One guest test at a time on this machine, across test processes too
/// (nextest runs each test in its own process): a lock directory holding
/// the owner's pid; a dead owner's lock is taken over.
struct GuestLock(PathBuf);

impl GuestLock {
    async fn acquire() -> Self {
        let dir = std::env::temp_dir().join("ferrostack-qemu-guest-tests.lock");
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    std::fs::write(dir.join("pid"), std::process::id().to_string()).unwrap();
                    return Self(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(dir.join("pid")).ok();
                    let young = std::fs::metadata(&dir)
                        .and_then(|m| m.modified())
                        .map(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(5))
                        .unwrap_or(true);
                    let dead = match owner {
                        Some(pid) => !Path::new(&format!("/proc/{}", pid.trim())).exists(),
                        None => !young,
                    };
                    if dead {
                        let _ = std::fs::remove_dir_all(&dir);
                        continue;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("lock {}: {e}", dir.display()),
            }
        }
    }
}

impl Drop for GuestLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const READY: &str = "FERROSTACK-GUEST-READY";
const BOOTED: &str = "FERROSTACK-GUEST-BOOTED";

/// Kills the QEMU processes a test left (it panicked) under its temp dir.
struct Reaper(PathBuf);

impl Drop for Reaper {
    fn drop(&mut self) {
        fn walk(dir: &Path, pids: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, pids);
                } else if p.file_name().is_some_and(|n| n == "qemu.pid") {
                    pids.push(p);
                }
            }
        }
        let mut pid_files = Vec::new();
        walk(&self.0, &mut pid_files);
        for f in pid_files {
            let Ok(pid) = std::fs::read_to_string(&f) else {
                continue;
            };
            let pid = pid.trim();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&*f.to_string_lossy()) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid])
                    .status();
            }
        }
    }
}

/// The test guest directory, or `None` (skip) when it is not configured.
fn guest_dir() -> Option<PathBuf> {
    let required = std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() == Ok("1");
    match std::env::var_os("FERROSTACK_GUEST_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            assert!(
                d.join("vmlinuz").is_file() && d.join("initramfs.gz").is_file(),
                "FERROSTACK_GUEST_DIR={} lacks vmlinuz/initramfs.gz (run scripts/test-guest.sh)",
                d.display()
            );
            Some(d)
        }
        None if required => {
            panic!("FERROSTACK_GUEST_DIR is unset but FERROSTACK_REQUIRE_SERVICES=1")
        }
        None => {
            println!(
                "skipped: FERROSTACK_GUEST_DIR is unset (scripts/test-guest.sh builds the guest)"
            );
            None
        }
    }
}

fn config(host: &str, dir: &Path) -> QemuConfig {
    let mut c = QemuConfig::new(host.parse().unwrap(), dir);
    c.accel = Accel::Tcg;
    c.shutdown_timeout_secs = 5;
    c.boot_wait_secs = 40;
    c.migration_timeout_secs = 120;
    c
}

/// A 128 MiB direct-kernel-boot guest on a qcow2 overlay of the guest's
/// (or a fresh) small disk image.
async fn template(guest: &Path, tmp: &Path) -> SpawnRequest {
    let base = tmp.join("base.qcow2");
    qemu_img(&["create", "-q", "-f", "qcow2", base.to_str().unwrap(), "64M"]).await;
    let mut req = SpawnRequest::new(
        InstanceId::new_v4(),
        "guest",
        Resources {
            vcpus: 1,
            memory_mb: 128,
            disk_gb: 0,
        },
    );
    req.image_path = Some(base);
    req.kernel_path = Some(guest.join("vmlinuz"));
    req.ramdisk_path = Some(guest.join("initramfs.gz"));
    req.kernel_cmdline = Some("console=ttyS0".into());
    req
}

async fn qemu_img(args: &[&str]) {
    let st = tokio::process::Command::new("qemu-img")
        .args(args)
        .status()
        .await
        .unwrap();
    assert!(st.success(), "qemu-img {args:?}");
}

async fn volume(tmp: &Path, name: &str) -> VolumeConnection {
    let path = tmp.join(format!("{name}.qcow2"));
    qemu_img(&["create", "-q", "-f", "qcow2", path.to_str().unwrap(), "16M"]).await;
    VolumeConnection {
        volume_id: VolumeId::new_v4(),
        path,
        format: "qcow2".into(),
    }
}

/// Waits until the console holds `n` lines containing `pat`.
async fn wait_for(d: &QemuDriver, id: &InstanceId, pat: &str, n: usize, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let log = d.console_output(id).await.unwrap();
        if log.lines().filter(|l| l.contains(pat)).count() >= n {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {n}x {pat:?} in {secs}s; console:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn last_tick(log: &str) -> u64 {
    log.lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("FERROSTACK-GUEST-TICK "))
        .find_map(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

async fn qmp(d: &QemuDriver, id: &InstanceId, cmd: &str) -> Value {
    let mut q = Qmp::connect(&d.qmp_socket(id), Duration::from_secs(5))
        .await
        .unwrap();
    q.execute(cmd, None).await.unwrap()
}

/// Nothing of the instance is left on this host: no process, no files.
async fn assert_gone(d: &QemuDriver, id: &InstanceId, pid: Option<u32>) {
    assert!(d.qemu_pid(id).await.is_none());
    if let Some(pid) = pid {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(&id.to_string()),
            "qemu {pid} still runs"
        );
    }
    assert!(
        !d.runtime_dir(id).exists(),
        "{} left behind",
        d.runtime_dir(id).display()
    );
}

#[tokio::test]
async fn qemu_driver_passes_conformance() {
    let Some(guest) = guest_dir() else { return };
    let _g = GuestLock::acquire().await;
    let tmp = TempDir::new().unwrap();
    let _reaper = Reaper(tmp.path().to_owned());
    let d = QemuDriver::new(config("conf1", &tmp.path().join("i")))
        .await
        .unwrap();
    assert_eq!(d.accel(), Accel::Tcg);
    let f = Fixture {
        template: template(&guest, tmp.path()).await,
        volumes: [volume(tmp.path(), "a").await, volume(tmp.path(), "b").await],
    };
    conformance::run_all(&d, &f).await;
    assert!(d.list_instances().await.unwrap().is_empty());
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("i")).unwrap().collect();
    assert!(left.is_empty(), "instances dir not empty: {left:?}");
}

#[tokio::test]
async fn guest_lifecycle_hotplug_and_readoption() {
    let Some(guest) = guest_dir() else { return };
    let _g = GuestLock::acquire().await;
    let tmp = TempDir::new().unwrap();
    let _reaper = Reaper(tmp.path().to_owned());
    let mut cfg = config("life1", &tmp.path().join("i"));
    cfg.shutdown_timeout_secs = 20;
    let d = QemuDriver::new(cfg.clone()).await.unwrap();
    let req = template(&guest, tmp.path()).await;
    let id = req.instance_id;
    d.spawn(&req).await.unwrap();
    wait_for(&d, &id, READY, 1, 90).await;
    assert_eq!(qmp(&d, &id, "query-status").await["status"], "running");

    // ACPI power-down: the guest's acpid powers it off well within the timeout.
    let t = Instant::now();
    d.power_off(&id).await.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "guest ignored ACPI: {:?}",
        t.elapsed()
    );
    assert_eq!(
        d.instance_info(&id).await.unwrap().power_state,
        PowerState::Shutdown
    );
    assert!(d.qemu_pid(&id).await.is_none());
    d.power_on(&id).await.unwrap();
    wait_for(&d, &id, READY, 2, 90).await;
    d.reboot(&id, RebootType::Soft).await.unwrap();
    wait_for(&d, &id, READY, 3, 90).await;
    d.reboot(&id, RebootType::Hard).await.unwrap();
    let log = wait_for(&d, &id, READY, 4, 90).await;
    assert_eq!(log.lines().filter(|l| l.contains(BOOTED)).count(), 4);

    // The service restarts: the running guest is adopted again.
    let pid = d.qemu_pid(&id).await.unwrap();
    drop(d);
    let d = QemuDriver::new(cfg).await.unwrap();
    assert_eq!(d.list_instances().await.unwrap(), vec![id]);
    assert_eq!(d.qemu_pid(&id).await, Some(pid));
    assert_eq!(
        d.instance_info(&id).await.unwrap().power_state,
        PowerState::Running
    );

    // Hot-plug: QEMU has the node, the guest sees vdb; unplug removes both.
    let vol = volume(tmp.path(), "hot").await;
    d.attach_volume(&id, &vol, "/dev/vdb").await.unwrap();
    let blocks = qmp(&d, &id, "query-block").await.to_string();
    assert!(blocks.contains("hot.qcow2"), "{blocks}");
    wait_for(&d, &id, "vdb", 1, 30).await;
    d.detach_volume(&id, &vol.volume_id).await.unwrap();
    let blocks = qmp(&d, &id, "query-block").await.to_string();
    assert!(!blocks.contains("hot.qcow2"), "{blocks}");
    assert!(d.instance_info(&id).await.unwrap().volumes.is_empty());

    d.destroy(&id).await.unwrap();
    assert_gone(&d, &id, Some(pid)).await;
    assert!(!tmp.path().join("i").join(id.to_string()).exists());
}

/// Boots on `src`, migrates to `dst`, checks the guest keeps counting
/// there and the source is cleaned.
async fn migrate_running_guest(
    src: &QemuDriver,
    dst: &QemuDriver,
    req: &SpawnRequest,
    block: bool,
) {
    let id = req.instance_id;
    src.spawn(req).await.unwrap();
    let log = wait_for(src, &id, "FERROSTACK-GUEST-TICK 2", 1, 90).await;
    let src_pid = src.qemu_pid(&id).await;
    let data = dst.check_can_live_migrate(req, block).await.unwrap();
    let data = dst.pre_live_migration(req, &data).await.unwrap();
    src.live_migrate(&id, &data).await.unwrap();
    src.post_live_migration(&id, MigrationSide::Source)
        .await
        .unwrap();
    dst.post_live_migration(&id, MigrationSide::Destination)
        .await
        .unwrap();
    assert!(!src.list_instances().await.unwrap().contains(&id));
    assert_gone(src, &id, src_pid).await;
    assert_eq!(
        dst.instance_info(&id).await.unwrap().power_state,
        PowerState::Running
    );
    // The guest's counter goes on from where it was on the source.
    let before = last_tick(&log);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = last_tick(&dst.console_output(&id).await.unwrap());
        if now > before + 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "guest stopped counting at {now} (source {before})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    dst.destroy(&id).await.unwrap();
    assert_gone(dst, &id, None).await;
}

#[tokio::test]
async fn live_migration_shared_block_and_failure() {
    let Some(guest) = guest_dir() else { return };
    let _g = GuestLock::acquire().await;
    let tmp = TempDir::new().unwrap();
    let _reaper = Reaper(tmp.path().to_owned());
    // Shared storage: both hosts use one instances directory.
    let shared = tmp.path().join("shared");
    let a = QemuDriver::new(config("mig-a", &shared)).await.unwrap();
    let b = QemuDriver::new(config("mig-b", &shared)).await.unwrap();
    let req = template(&guest, tmp.path()).await;
    migrate_running_guest(&a, &b, &req, false).await;
    assert!(!shared.join(req.instance_id.to_string()).exists());

    // Block migration: separate directories, the disk goes over NBD.
    let c = QemuDriver::new(config("mig-c", &tmp.path().join("c")))
        .await
        .unwrap();
    let mut req2 = req.clone();
    req2.instance_id = InstanceId::new_v4();
    migrate_running_guest(&b, &c, &req2, true).await;

    // The conformance scenario (check, pre, migrate, post both sides).
    let f = Fixture {
        template: req.clone(),
        volumes: [volume(tmp.path(), "x").await, volume(tmp.path(), "y").await],
    };
    conformance::live_migration_between(&a, &b, &f).await;

    // A bad destination: the migration fails and the source keeps running.
    let mut req3 = req.clone();
    req3.instance_id = InstanceId::new_v4();
    let id = req3.instance_id;
    a.spawn(&req3).await.unwrap();
    wait_for(&a, &id, "FERROSTACK-GUEST-TICK 1", 1, 90).await;
    let mut data = c.check_can_live_migrate(&req3, false).await.unwrap();
    data.driver_data = serde_json::json!({"uri": "tcp:127.0.0.1:1"});
    let e = a.live_migrate(&id, &data).await.unwrap_err();
    assert!(matches!(e, Error::Backend { .. }), "{e:?}");
    assert_eq!(
        a.instance_info(&id).await.unwrap().power_state,
        PowerState::Running
    );
    let e = a
        .post_live_migration(&id, MigrationSide::Source)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let ticks = last_tick(&a.console_output(&id).await.unwrap());
    wait_for(
        &a,
        &id,
        &format!("FERROSTACK-GUEST-TICK {}", ticks + 2),
        1,
        30,
    )
    .await;
    a.destroy(&id).await.unwrap();
    assert_gone(&a, &id, None).await;
}

// Tests below need no guest (and no QEMU process).

#[tokio::test]
async fn console_log_is_capped_and_tail_kept() {
    let tmp = TempDir::new().unwrap();
    let mut cfg = config("cap1", &tmp.path().join("i"));
    cfg.console_max_bytes = 4096;
    let d = QemuDriver::new(cfg).await.unwrap();
    let id = InstanceId::new_v4();
    let paths = d.paths(&id);
    std::fs::create_dir_all(&paths.host_dir).unwrap();
    let log: String = (0..1000).map(|i| format!("line {i}\r\n")).collect();
    std::fs::write(paths.console(), &log).unwrap();
    let out = d.read_console(&paths).await;
    assert!(out.len() <= 2048, "{}", out.len());
    assert!(out.ends_with("line 999\n"), "{out:?}");
    assert!(std::fs::metadata(paths.console()).unwrap().len() <= 2048);
}

#[tokio::test]
async fn stopped_instances_are_adopted_and_destroyed() {
    let tmp = TempDir::new().unwrap();
    let cfg = config("adopt1", &tmp.path().join("i"));
    let d = QemuDriver::new(cfg.clone()).await.unwrap();
    let req = SpawnRequest::new(
        InstanceId::new_v4(),
        "stopped",
        Resources {
            vcpus: 1,
            memory_mb: 64,
            disk_gb: 1,
        },
    );
    let id = req.instance_id;
    let paths = d.paths(&id);
    std::fs::create_dir_all(&paths.host_dir).unwrap();
    let rec = super::Record {
        req: req.clone(),
        volumes: Vec::new(),
    };
    std::fs::write(paths.record(), serde_json::to_vec(&rec).unwrap()).unwrap();
    std::fs::write(paths.disk(), b"disk").unwrap();
    // A stale pid file of a process that is not this instance's QEMU.
    std::fs::write(paths.pid(), std::process::id().to_string()).unwrap();
    // Another host's directory and junk are not adopted.
    std::fs::create_dir_all(tmp.path().join("i").join("not-a-uuid")).unwrap();
    drop(d);

    let d = QemuDriver::new(cfg).await.unwrap();
    assert_eq!(d.list_instances().await.unwrap(), vec![id]);
    let info = d.instance_info(&id).await.unwrap();
    assert_eq!(info.power_state, PowerState::Shutdown);
    assert_eq!(info.resources, req.resources);
    let host = d.host_resources().await.unwrap();
    assert_eq!(host.hypervisor_type, "QEMU");
    assert_eq!(host.used, req.resources);
    assert!(host.total.vcpus >= 1 && host.total.memory_mb > 0);
    let e = d.reboot(&id, RebootType::Soft).await.unwrap_err();
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    d.destroy(&id).await.unwrap();
    assert!(!paths.root.exists());
    assert!(d.list_instances().await.unwrap().is_empty());
}
