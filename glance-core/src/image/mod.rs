//! The image model: identifiers, formats, the image record, its status
//! machine ([`status`]), visibility and member rules ([`access`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

pub mod access;
pub mod inspect;
pub mod status;

pub use access::{Caller, ImageMember, MemberStatus, Visibility};
pub use status::ImageStatus;

/// An image id: a UUID, shown hyphenated and lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageId(Uuid);

impl ImageId {
    /// A fresh random id.
    pub fn new_v4() -> Self {
        Self(Uuid::new_v4())
    }

    /// The UUID inside.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl From<Uuid> for ImageId {
    fn from(u: Uuid) -> Self {
        Self(u)
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for ImageId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| Error::invalid(format!("image id {s:?} is not a uuid")))
    }
}

/// A Keystone project id (the image owner, or a member).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectId(String);

impl ProjectId {
    /// Validates a project id: 1 to 255 characters with no control characters.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
            return Err(Error::invalid(format!("bad project id {s:?}")));
        }
        Ok(Self(s))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectId {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<ProjectId> for String {
    fn from(p: ProjectId) -> String {
        p.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vm])* $v,)* }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| Error::invalid(format!(concat!("unknown ", $what, " {:?}"), s)))
            }
        }
    };
}

wire_enum!(
    /// The format of the disk image inside.
    DiskFormat, "disk_format" {
        /// Amazon machine image.
        Ami = "ami",
        /// Amazon ramdisk image.
        Ari = "ari",
        /// Amazon kernel image.
        Aki = "aki",
        /// Virtual PC / Hyper-V.
        Vhd = "vhd",
        /// Hyper-V, large disks.
        Vhdx = "vhdx",
        /// VMware.
        Vmdk = "vmdk",
        /// Raw bytes.
        Raw = "raw",
        /// QEMU copy-on-write v2.
        Qcow2 = "qcow2",
        /// VirtualBox.
        Vdi = "vdi",
        /// ISO 9660 optical disc.
        Iso = "iso",
        /// Virtuozzo.
        Ploop = "ploop",
    }
);

wire_enum!(
    /// The container around the disk image.
    ContainerFormat, "container_format" {
        /// Amazon machine image.
        Ami = "ami",
        /// Amazon ramdisk image.
        Ari = "ari",
        /// Amazon kernel image.
        Aki = "aki",
        /// No container.
        Bare = "bare",
        /// Open Virtualization Format.
        Ovf = "ovf",
        /// OVF tar archive.
        Ova = "ova",
        /// Docker tar archive.
        Docker = "docker",
        /// Compressed archive.
        Compressed = "compressed",
    }
);

/// Where an image's data lives: a store URL and the store's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLocation {
    /// The store-specific URL, e.g. `file:///var/lib/glance/images/<id>`.
    pub url: String,
    /// The id of the store that holds it (multi-store `{"store": id}`).
    pub store: String,
}

/// The hash algorithm of `os_hash_value`; Glance's default.
pub const OS_HASH_ALGO: &str = "sha512";

/// An image record: metadata, status and where its data is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The id.
    pub id: ImageId,
    /// Free-form name; not unique.
    pub name: Option<String>,
    /// Lifecycle status.
    pub status: ImageStatus,
    /// Who may see it.
    pub visibility: Visibility,
    /// Protected images cannot be deleted.
    pub protected: bool,
    /// Left out of default lists.
    pub os_hidden: bool,
    /// The owner project (none for images created without a project scope).
    pub owner: Option<ProjectId>,
    /// Disk format, once set.
    pub disk_format: Option<DiskFormat>,
    /// Container format, once set.
    pub container_format: Option<ContainerFormat>,
    /// Size of the data in bytes; null while queued.
    pub size: Option<u64>,
    /// Size of the virtual disk, from the disk format's header.
    pub virtual_size: Option<u64>,
    /// MD5 hex of the data (32 chars).
    pub checksum: Option<String>,
    /// The multihash algorithm (`sha512`) once data is present.
    pub os_hash_algo: Option<String>,
    /// The multihash of the data in hex (128 chars for sha512).
    pub os_hash_value: Option<String>,
    /// Minimum disk in GiB to boot it.
    pub min_disk: u64,
    /// Minimum RAM in MiB to boot it.
    pub min_ram: u64,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Custom properties.
    pub properties: BTreeMap<String, String>,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Last update time, seconds since the Unix epoch.
    pub updated_at: u64,
    /// Where the data is stored.
    pub locations: Vec<ImageLocation>,
}

impl Image {
    /// A new queued image with Glance's defaults (visibility `shared`, not
    /// protected, no data) created at `now`.
    pub fn new(id: ImageId, owner: Option<ProjectId>, now: u64) -> Self {
        Self {
            id,
            name: None,
            status: ImageStatus::Queued,
            visibility: Visibility::Shared,
            protected: false,
            os_hidden: false,
            owner,
            disk_format: None,
            container_format: None,
            size: None,
            virtual_size: None,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            min_disk: 0,
            min_ram: 0,
            tags: BTreeSet::new(),
            properties: BTreeMap::new(),
            created_at: now,
            updated_at: now,
            locations: Vec::new(),
        }
    }

    /// Moves to `to` if the status machine allows it, else [`Error::Conflict`].
    pub fn set_status(&mut self, to: ImageStatus) -> Result<()> {
        self.status = self.status.transition(to)?;
        Ok(())
    }

    /// Clears the data fields, as when an upload fails and the image returns
    /// to `queued`.
    pub fn clear_data(&mut self) {
        self.size = None;
        self.virtual_size = None;
        self.checksum = None;
        self.os_hash_algo = None;
        self.os_hash_value = None;
        self.locations.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_image_has_glance_defaults() {
        let img = Image::new(ImageId::new_v4(), None, 5);
        assert_eq!(img.status, ImageStatus::Queued);
        assert_eq!(img.visibility, Visibility::Shared);
        assert!(!img.protected);
        assert!(img.checksum.is_none() && img.size.is_none() && img.os_hash_value.is_none());
        assert_eq!((img.created_at, img.updated_at), (5, 5));
    }

    #[test]
    fn set_status_follows_the_machine() {
        let mut img = Image::new(ImageId::new_v4(), None, 0);
        img.set_status(ImageStatus::Saving).unwrap();
        assert!(matches!(
            img.set_status(ImageStatus::Deactivated),
            Err(Error::Conflict { .. })
        ));
        assert_eq!(img.status, ImageStatus::Saving);
        img.set_status(ImageStatus::Active).unwrap();
    }

    #[test]
    fn ids_and_formats_parse() {
        let id = ImageId::new_v4();
        assert_eq!(id.to_string().parse::<ImageId>().unwrap(), id);
        assert!("not-a-uuid".parse::<ImageId>().is_err());
        assert_eq!("qcow2".parse::<DiskFormat>().unwrap(), DiskFormat::Qcow2);
        assert_eq!(
            "bare".parse::<ContainerFormat>().unwrap(),
            ContainerFormat::Bare
        );
        assert!("zip".parse::<ContainerFormat>().is_err());
        assert!(ProjectId::new("").is_err());
        assert!(ProjectId::new("a\nb").is_err());
        let img = Image::new(id, Some(ProjectId::new("p1").unwrap()), 1);
        let json = serde_json::to_string(&img).unwrap();
        assert_eq!(serde_json::from_str::<Image>(&json).unwrap(), img);
    }
}
