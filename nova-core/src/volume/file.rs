//! [`FileVolumes`]: one qcow2 or raw file per volume in a directory,
//! created and grown with `qemu-img`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::{check_size, not_found, VolumeDriver};
use crate::error::{Error, Result};
use crate::model::VolumeId;
use crate::virt::VolumeConnection;

const GIB: u64 = 1 << 30;

/// The image format of the volume files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeFormat {
    /// qcow2 (thin, the default).
    #[default]
    Qcow2,
    /// raw (sparse file).
    Raw,
}

impl VolumeFormat {
    /// The `qemu-img -f` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qcow2 => "qcow2",
            Self::Raw => "raw",
        }
    }
}

/// Settings of [`FileVolumes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileVolumesConfig {
    /// Directory holding `volume-<id>.<format>` files.
    pub dir: PathBuf,
    /// File format.
    #[serde(default)]
    pub format: VolumeFormat,
    /// The `qemu-img` binary.
    #[serde(default = "default_qemu_img")]
    pub qemu_img: PathBuf,
}

fn default_qemu_img() -> PathBuf {
    PathBuf::from("qemu-img")
}

impl FileVolumesConfig {
    /// Qcow2 volumes in `dir` with `qemu-img` from `PATH`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            format: VolumeFormat::default(),
            qemu_img: default_qemu_img(),
        }
    }

    /// Checks the directory is set.
    pub fn validate(&self) -> Result<()> {
        if self.dir.as_os_str().is_empty() {
            return Err(Error::config("file volumes need a directory"));
        }
        Ok(())
    }
}

/// Why `qemu-img` failed (kept private behind [`Error::Backend`]).
#[derive(Debug, thiserror::Error)]
enum QemuImgError {
    #[error("qemu-img {op} exited with {status}: {stderr}")]
    Failed {
        op: &'static str,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("qemu-img info printed no virtual-size")]
    NoSize,
    #[error("i/o on the volume directory")]
    Io(#[from] std::io::Error),
}

impl From<QemuImgError> for Error {
    fn from(e: QemuImgError) -> Self {
        Error::backend("file", e)
    }
}

/// File-backed [`VolumeDriver`].
#[derive(Debug, Clone)]
pub struct FileVolumes {
    config: FileVolumesConfig,
}

impl FileVolumes {
    /// Creates the directory if needed; [`Error::InvalidConfig`] for a
    /// bad config.
    pub async fn new(config: FileVolumesConfig) -> Result<Self> {
        config.validate()?;
        tokio::fs::create_dir_all(&config.dir)
            .await
            .map_err(QemuImgError::from)?;
        Ok(Self { config })
    }

    /// The file of volume `id`.
    pub fn path_of(&self, id: &VolumeId) -> PathBuf {
        self.config
            .dir
            .join(format!("volume-{id}.{}", self.config.format.as_str()))
    }

    async fn qemu_img(&self, op: &'static str, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>> {
        let out = Command::new(&self.config.qemu_img)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    Error::unavailable(format!("{} not found", self.config.qemu_img.display()))
                }
                _ => QemuImgError::Io(e).into(),
            })?;
        if !out.status.success() {
            return Err(QemuImgError::Failed {
                op,
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            }
            .into());
        }
        Ok(out.stdout)
    }

    async fn require(&self, id: &VolumeId) -> Result<PathBuf> {
        let p = self.path_of(id);
        match tokio::fs::try_exists(&p).await {
            Ok(true) => Ok(p),
            Ok(false) => Err(not_found(id)),
            Err(e) => Err(QemuImgError::Io(e).into()),
        }
    }

    async fn virtual_size(&self, path: &Path) -> Result<u64> {
        let fmt = self.config.format.as_str();
        let out = self
            .qemu_img(
                "info",
                &[
                    "info".as_ref(),
                    "--output=json".as_ref(),
                    "-U".as_ref(),
                    "-f".as_ref(),
                    fmt.as_ref(),
                    path.as_os_str(),
                ],
            )
            .await?;
        let v: serde_json::Value =
            serde_json::from_slice(&out).map_err(|e| Error::backend("file", e))?;
        v.get("virtual-size")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| QemuImgError::NoSize.into())
    }
}

#[async_trait]
impl VolumeDriver for FileVolumes {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn create(&self, id: &VolumeId, size_gb: u64) -> Result<()> {
        check_size(size_gb)?;
        let path = self.path_of(id);
        let tmp = self
            .config
            .dir
            .join(format!(".tmp-{id}-{}", uuid::Uuid::new_v4().simple()));
        let size = format!("{size_gb}G");
        let fmt = self.config.format.as_str();
        let made = self
            .qemu_img(
                "create",
                &[
                    "create".as_ref(),
                    "-q".as_ref(),
                    "-f".as_ref(),
                    fmt.as_ref(),
                    tmp.as_os_str(),
                    size.as_ref(),
                ],
            )
            .await;
        if let Err(e) = made {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        // A hard link never replaces an existing file, so two concurrent
        // creates of one id cannot both win.
        let linked = tokio::fs::hard_link(&tmp, &path).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::already_exists(format!("volume {id}")))
            }
            Err(e) => Err(QemuImgError::Io(e).into()),
        }
    }

    async fn delete(&self, id: &VolumeId) -> Result<()> {
        match tokio::fs::remove_file(self.path_of(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(QemuImgError::Io(e).into()),
        }
    }

    async fn extend(&self, id: &VolumeId, new_size_gb: u64) -> Result<()> {
        let path = self.require(id).await?;
        let now = self.virtual_size(&path).await? / GIB;
        if new_size_gb <= now {
            return Err(Error::invalid(format!(
                "new size {new_size_gb} must be larger than {now}"
            )));
        }
        let size = format!("{new_size_gb}G");
        let fmt = self.config.format.as_str();
        self.qemu_img(
            "resize",
            &[
                "resize".as_ref(),
                "-q".as_ref(),
                "-f".as_ref(),
                fmt.as_ref(),
                path.as_os_str(),
                size.as_ref(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn size_gb(&self, id: &VolumeId) -> Result<u64> {
        let path = self.require(id).await?;
        Ok(self.virtual_size(&path).await? / GIB)
    }

    async fn export(&self, id: &VolumeId) -> Result<VolumeConnection> {
        let path = self.require(id).await?;
        Ok(VolumeConnection {
            volume_id: *id,
            path,
            format: self.config.format.as_str().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn have_qemu_img() -> bool {
        std::process::Command::new("qemu-img")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    async fn conforms(format: VolumeFormat) {
        if !have_qemu_img() {
            assert!(
                std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "qemu-img is required"
            );
            println!("skipped: qemu-img is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = FileVolumesConfig::new(dir.path().join("vols"));
        cfg.format = format;
        let v = FileVolumes::new(cfg).await.unwrap();
        super::super::conformance::run_all(&v).await;
        // Nothing but finished volume files is left behind.
        let mut names = std::fs::read_dir(dir.path().join("vols")).unwrap();
        assert!(names.all(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("volume-")));
    }

    #[tokio::test]
    async fn qcow2_file_volumes_conform() {
        conforms(VolumeFormat::Qcow2).await;
    }

    #[tokio::test]
    async fn raw_file_volumes_conform() {
        conforms(VolumeFormat::Raw).await;
    }

    #[tokio::test]
    async fn missing_qemu_img_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = FileVolumesConfig::new(dir.path());
        cfg.qemu_img = dir.path().join("no-such-qemu-img");
        let v = FileVolumes::new(cfg).await.unwrap();
        let e = v.create(&VolumeId::new_v4(), 1).await.unwrap_err();
        assert!(matches!(e, Error::Unavailable { .. }), "{e:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn qcow2_file_is_really_qcow2() {
        if !have_qemu_img() {
            println!("skipped: qemu-img is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let v = FileVolumes::new(FileVolumesConfig::new(dir.path()))
            .await
            .unwrap();
        let id = VolumeId::new_v4();
        v.create(&id, 1).await.unwrap();
        let head = std::fs::read(v.path_of(&id)).unwrap();
        assert_eq!(&head[..4], b"QFI\xfb");
    }
}
