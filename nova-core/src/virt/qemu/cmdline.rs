//! The `qemu-system-x86_64` command line of an instance.

use std::ffi::OsString;

use super::config::Accel;
use super::disks::{
    device_arg, device_name, root_blockdev, volume_blockdev, volume_device, ROOT_NODE,
};
use super::process::Paths;
use super::Record;
use crate::error::Result;
use crate::model::InstanceId;

/// The tap device of the `n`th interface of an instance (at most 15
/// bytes, as Linux allows).
pub(crate) fn tap_name(id: &InstanceId, n: usize) -> String {
    let hex = id.as_uuid().simple().to_string();
    let mut name = format!("tap{}{n}", &hex[..10]);
    name.truncate(15);
    name
}

/// Everything QEMU needs to run `rec` (daemonized, with its pid file,
/// QMP socket and serial log under `paths`); `incoming` adds
/// `-incoming URI` for the destination of a live migration.
pub(crate) fn qemu_args(
    accel: Accel,
    rec: &Record,
    paths: &Paths,
    has_disk: bool,
    incoming: Option<&str>,
) -> Result<Vec<OsString>> {
    let req = &rec.req;
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(OsString::from));
    let uuid = req.instance_id.to_string();
    let mem = req.resources.memory_mb.max(16).to_string();
    let smp = req.resources.vcpus.max(1).to_string();
    push(&["-name", &uuid, "-uuid", &uuid]);
    match accel {
        Accel::Kvm => push(&["-accel", "kvm", "-cpu", "host,-arch-capabilities"]),
        Accel::Tcg | Accel::Auto => push(&["-accel", "tcg"]),
    }
    push(&["-m", &mem, "-smp", &smp]);
    push(&["-nodefaults", "-no-user-config", "-display", "none"]);
    let pid = paths.pid().to_string_lossy().into_owned();
    push(&["-daemonize", "-pidfile", &pid]);
    let qmp = format!("unix:{},server=on,wait=off", paths.qmp().to_string_lossy());
    push(&["-qmp", &qmp]);
    let serial = format!(
        "file,id=serial0,path={},append=on",
        paths.console().to_string_lossy()
    );
    push(&["-chardev", &serial, "-serial", "chardev:serial0"]);
    if let Some(kernel) = &req.kernel_path {
        push(&["-kernel", &kernel.to_string_lossy()]);
        if let Some(rd) = &req.ramdisk_path {
            push(&["-initrd", &rd.to_string_lossy()]);
        }
        let cmdline = req.kernel_cmdline.as_deref().unwrap_or("console=ttyS0");
        push(&["-append", cmdline]);
    }
    if has_disk {
        push(&["-blockdev", &root_blockdev(&paths.disk())]);
        let dev = format!("virtio-blk-pci,drive={ROOT_NODE},id=vda,bootindex=1");
        push(&["-device", &dev]);
    }
    for (device, conn) in &rec.volumes {
        let dev = device_name(device)?;
        push(&["-blockdev", &volume_blockdev(&dev, conn)?.to_string()]);
        push(&["-device", &device_arg(&volume_device(&dev, conn))]);
    }
    for (n, vif) in req.vifs.iter().enumerate() {
        let netdev = format!(
            "tap,id=net{n},ifname={},script=no,downscript=no",
            tap_name(&req.instance_id, n)
        );
        let nic = format!("virtio-net-pci,netdev=net{n},mac={}", vif.mac);
        push(&["-netdev", &netdev, "-device", &nic]);
    }
    if let Some(uri) = incoming {
        push(&["-incoming", uri]);
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Resources;
    use crate::virt::SpawnRequest;

    #[test]
    fn args_hold_every_part() {
        let id = InstanceId::new_v4();
        let mut req = SpawnRequest::new(
            id,
            "vm",
            Resources {
                vcpus: 2,
                memory_mb: 128,
                disk_gb: 1,
            },
        );
        req.kernel_path = Some("/g/vmlinuz".into());
        let rec = Record {
            req,
            volumes: Vec::new(),
        };
        let paths = Paths::new("/i".as_ref(), &"h1".parse().unwrap(), &id);
        let a = qemu_args(Accel::Tcg, &rec, &paths, true, Some("tcp:127.0.0.1:5000")).unwrap();
        let s: Vec<String> = a.iter().map(|x| x.to_string_lossy().into_owned()).collect();
        let joined = s.join(" ");
        assert!(
            joined.contains(&format!("-pidfile /i/{id}/h1/qemu.pid")),
            "{joined}"
        );
        assert!(joined.contains("-accel tcg -m 128 -smp 2"), "{joined}");
        assert!(joined.contains("-append console=ttyS0"), "{joined}");
        assert!(joined.contains("-incoming tcp:127.0.0.1:5000"), "{joined}");
        assert!(joined.contains("\"node-name\":\"disk0\""), "{joined}");
        assert!(tap_name(&id, 3).len() <= 15);
    }
}
