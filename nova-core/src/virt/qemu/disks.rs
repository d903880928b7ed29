//! Disks: the qcow2 overlay each instance boots from (backed by the cached
//! image), and the QMP/`-blockdev` descriptions of volumes (local files or
//! iSCSI LUNs through QEMU's own initiator).

use std::ffi::OsString;
use std::path::Path;

use serde_json::{json, Value};

use super::process::{args, run};
use crate::error::{Error, Result};
use crate::virt::VolumeConnection;

/// Node name of the root disk in every QEMU the driver starts.
pub(crate) const ROOT_NODE: &str = "disk0";

/// Format and virtual size of an image file (`qemu-img info`).
pub(crate) async fn image_info(qemu_img: &Path, image: &Path) -> Result<(String, u64)> {
    let out = run(
        qemu_img,
        &args([OsString::from("info"), "--output=json".into(), image.into()]),
    )
    .await?;
    let v: Value = serde_json::from_str(&out)
        .map_err(|e| Error::backend("qemu", format!("qemu-img info output: {e}")))?;
    let format = v
        .get("format")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::backend("qemu", "qemu-img info gave no format"))?;
    let size = v.get("virtual-size").and_then(Value::as_u64).unwrap_or(0);
    Ok((format.to_owned(), size))
}

/// Creates `overlay`, a qcow2 backed by `base` (qcow2 or raw), at least
/// `min_gb` GiB and never smaller than the image.
pub(crate) async fn create_overlay(
    qemu_img: &Path,
    base: &Path,
    overlay: &Path,
    min_gb: u64,
) -> Result<()> {
    let (format, size) = image_info(qemu_img, base).await?;
    if format != "qcow2" && format != "raw" {
        return Err(Error::invalid(format!(
            "image {} is {format}; only qcow2 and raw boot from disk",
            base.display()
        )));
    }
    let size = size.max(min_gb.saturating_mul(1 << 30));
    run(
        qemu_img,
        &args([
            OsString::from("create"),
            "-q".into(),
            "-f".into(),
            "qcow2".into(),
            "-b".into(),
            base.into(),
            "-F".into(),
            format.into(),
            overlay.into(),
            size.to_string().into(),
        ]),
    )
    .await?;
    Ok(())
}

/// The root disk as a `-blockdev` argument.
pub(crate) fn root_blockdev(disk: &Path) -> String {
    json!({
        "driver": "qcow2",
        "node-name": ROOT_NODE,
        "file": {"driver": "file", "filename": disk.to_string_lossy()},
    })
    .to_string()
}

/// The guest device name of `/dev/vdb` and the like (`vdb`): letters and
/// digits only, so it can name QEMU nodes and devices.
pub(crate) fn device_name(device: &str) -> Result<String> {
    let name = device.strip_prefix("/dev/").unwrap_or(device);
    if name.is_empty()
        || name.len() > 16
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(Error::invalid(format!("bad guest device name {device:?}")));
    }
    Ok(name.to_owned())
}

/// QEMU node name of the volume at guest device `dev`.
pub(crate) fn volume_node(dev: &str) -> String {
    format!("vol-{dev}")
}

/// QEMU device id of the volume at guest device `dev`.
pub(crate) fn volume_device_id(dev: &str) -> String {
    format!("dev-{dev}")
}

/// `blockdev-add` arguments for a volume: a local file, or an
/// `iscsi://HOST:PORT/IQN/LUN` URL reached by QEMU's iSCSI initiator.
pub(crate) fn volume_blockdev(dev: &str, conn: &VolumeConnection) -> Result<Value> {
    let format = match conn.format.as_str() {
        "qcow2" | "raw" => conn.format.clone(),
        other => {
            return Err(Error::invalid(format!(
                "volume {} has unsupported format {other}",
                conn.volume_id
            )))
        }
    };
    let path = conn.path.to_string_lossy();
    let file = match path.strip_prefix("iscsi://") {
        Some(rest) => iscsi_file(rest).ok_or_else(|| {
            Error::invalid(format!(
                "volume {}: bad iscsi url {path:?} (want iscsi://HOST:PORT/IQN/LUN)",
                conn.volume_id
            ))
        })?,
        None => json!({"driver": "file", "filename": path}),
    };
    Ok(json!({"driver": format, "node-name": volume_node(dev), "file": file}))
}

fn iscsi_file(rest: &str) -> Option<Value> {
    let mut parts = rest.splitn(3, '/');
    let portal = parts.next().filter(|p| !p.is_empty())?;
    let target = parts.next().filter(|t| !t.is_empty())?;
    let lun: u64 = parts.next()?.trim_end_matches('/').parse().ok()?;
    Some(json!({
        "driver": "iscsi",
        "transport": "tcp",
        "portal": portal,
        "target": target,
        "lun": lun,
    }))
}

/// `device_add` arguments for a volume (virtio-blk; the serial is the
/// volume id, cut to the 20 bytes virtio allows, as Nova does).
pub(crate) fn volume_device(dev: &str, conn: &VolumeConnection) -> Value {
    let serial: String = conn.volume_id.to_string().chars().take(20).collect();
    json!({
        "driver": "virtio-blk-pci",
        "drive": volume_node(dev),
        "id": volume_device_id(dev),
        "serial": serial,
    })
}

/// A `device_add` object rendered as a `-device` argument.
pub(crate) fn device_arg(dev: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(obj) = dev.as_object() {
        if let Some(d) = obj.get("driver").and_then(Value::as_str) {
            parts.push(d.to_owned());
        }
        for (k, v) in obj {
            if k == "driver" {
                continue;
            }
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            parts.push(format!("{k}={v}"));
        }
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::VolumeId;
    use std::path::PathBuf;

    fn conn(path: &str, format: &str) -> VolumeConnection {
        VolumeConnection {
            volume_id: VolumeId::new_v4(),
            path: PathBuf::from(path),
            format: format.into(),
        }
    }

    #[test]
    fn file_and_iscsi_volumes() {
        let v = volume_blockdev("vdb", &conn("/v/a.qcow2", "qcow2")).unwrap();
        assert_eq!(v["node-name"], "vol-vdb");
        assert_eq!(v["file"]["filename"], "/v/a.qcow2");
        let v = volume_blockdev(
            "vdc",
            &conn(
                "iscsi://127.0.0.1:3260/iqn.2010-10.org.openstack:vol-1/1",
                "raw",
            ),
        )
        .unwrap();
        assert_eq!(v["driver"], "raw");
        assert_eq!(v["file"]["driver"], "iscsi");
        assert_eq!(v["file"]["portal"], "127.0.0.1:3260");
        assert_eq!(v["file"]["target"], "iqn.2010-10.org.openstack:vol-1");
        assert_eq!(v["file"]["lun"], 1);
        assert!(volume_blockdev("vdb", &conn("iscsi://h:1/iqn", "raw")).is_err());
        assert!(volume_blockdev("vdb", &conn("/v/a.vmdk", "vmdk")).is_err());
    }

    #[test]
    fn device_names_are_checked() {
        assert_eq!(device_name("/dev/vdb").unwrap(), "vdb");
        assert!(device_name("/dev/../x").is_err());
        assert!(device_name("").is_err());
        let d = volume_device("vdb", &conn("/x", "raw"));
        let arg = device_arg(&d);
        assert!(arg.starts_with("virtio-blk-pci,"), "{arg}");
        assert!(arg.contains("drive=vol-vdb") && arg.contains("id=dev-vdb"));
    }
}
