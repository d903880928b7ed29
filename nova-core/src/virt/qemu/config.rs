//! Configuration of the [`super::QemuDriver`].

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::HostName;

/// How guests are accelerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// KVM when the CPU has hardware virtualization (vmx/svm) and
    /// `/dev/kvm` exists, else TCG. (A `/dev/kvm` without them, like
    /// KVM-PVM, starts VMs but cannot boot stock guest kernels.)
    #[default]
    Auto,
    /// Always KVM (`-accel kvm -cpu host`).
    Kvm,
    /// Always TCG software emulation.
    Tcg,
}

/// Settings of one compute host's QEMU driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QemuConfig {
    /// This compute host (names its runtime directories and migrations).
    pub host: HostName,
    /// Absolute directory of instance disks and runtime files.
    pub instances_dir: PathBuf,
    /// The QEMU system emulator.
    #[serde(default = "default_qemu")]
    pub qemu_binary: PathBuf,
    /// The `qemu-img` tool.
    #[serde(default = "default_qemu_img")]
    pub qemu_img: PathBuf,
    /// Acceleration.
    #[serde(default)]
    pub accel: Accel,
    /// Seconds a guest gets to shut down on ACPI power-down (power off,
    /// soft reboot) before it is stopped hard (Nova's `shutdown_timeout`).
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout_secs: u64,
    /// Seconds spawn, power on and reboot wait for new console lines.
    #[serde(default = "default_boot_wait")]
    pub boot_wait_secs: u64,
    /// The serial log is cut back to half of this once it grows past it.
    #[serde(default = "default_console_max")]
    pub console_max_bytes: u64,
    /// Address incoming migrations (and NBD block exports) listen on.
    #[serde(default = "default_migration_address")]
    pub migration_address: IpAddr,
    /// Seconds a live migration (disk mirror included) may take.
    #[serde(default = "default_migration_timeout")]
    pub migration_timeout_secs: u64,
}

fn default_qemu() -> PathBuf {
    PathBuf::from("qemu-system-x86_64")
}
fn default_qemu_img() -> PathBuf {
    PathBuf::from("qemu-img")
}
fn default_shutdown_timeout() -> u64 {
    60
}
fn default_boot_wait() -> u64 {
    30
}
fn default_console_max() -> u64 {
    1 << 20
}
fn default_migration_address() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}
fn default_migration_timeout() -> u64 {
    300
}

impl QemuConfig {
    /// Defaults for `host` keeping instances under `instances_dir`.
    pub fn new(host: HostName, instances_dir: impl Into<PathBuf>) -> Self {
        Self {
            host,
            instances_dir: instances_dir.into(),
            qemu_binary: default_qemu(),
            qemu_img: default_qemu_img(),
            accel: Accel::Auto,
            shutdown_timeout_secs: default_shutdown_timeout(),
            boot_wait_secs: default_boot_wait(),
            console_max_bytes: default_console_max(),
            migration_address: default_migration_address(),
            migration_timeout_secs: default_migration_timeout(),
        }
    }

    /// Checks the values: an absolute instances directory whose paths QEMU
    /// can take (no commas; the QMP socket path fits a Unix socket), a
    /// host name usable as a directory, a console cap of at least 4 KiB.
    pub fn validate(&self) -> Result<()> {
        let dir = self.instances_dir.to_string_lossy();
        if !self.instances_dir.is_absolute() || dir.contains(',') {
            return Err(Error::config(format!(
                "qemu instances_dir {dir:?} must be absolute and hold no comma"
            )));
        }
        let host = self.host.as_str();
        if host.starts_with('.') {
            return Err(Error::config(format!(
                "qemu host {host:?} cannot name a directory"
            )));
        }
        // <dir>/<36-char uuid>/<host>/qmp.sock must fit sun_path (108).
        if dir.len() + host.len() + 36 + 12 > 107 {
            return Err(Error::config(format!(
                "qemu instances_dir {dir:?} with host {host:?} is too long for a unix socket path"
            )));
        }
        if self.console_max_bytes < 4096 {
            return Err(Error::config(
                "qemu console_max_bytes must be at least 4096",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn validate_rejects_bad_paths() {
        let h: HostName = "node1".parse().unwrap();
        assert!(QemuConfig::new(h.clone(), "/var/lib/ferrostack/instances")
            .validate()
            .is_ok());
        assert!(QemuConfig::new(h.clone(), "rel/dir").validate().is_err());
        assert!(QemuConfig::new(h.clone(), "/a,b").validate().is_err());
        assert!(QemuConfig::new(h, format!("/{}", "x".repeat(80)))
            .validate()
            .is_err());
        assert!(QemuConfig::new("..".parse().unwrap(), "/x")
            .validate()
            .is_err());
    }

    #[test]
    fn deserializes_with_defaults() {
        let c: QemuConfig =
            serde_json::from_str(r#"{"host": "n1", "instances_dir": "/i", "accel": "tcg"}"#)
                .unwrap();
        assert_eq!(c.accel, Accel::Tcg);
        assert_eq!(c.shutdown_timeout_secs, 60);
        assert!(serde_json::from_str::<QemuConfig>(
            r#"{"host": "n1", "instances_dir": "/i", "x": 1}"#
        )
        .is_err());
    }
}
