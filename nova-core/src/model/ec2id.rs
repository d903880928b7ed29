//! EC2 ids: the short ids (`i-0a1b2c3d`, `ami-…`, `vol-…`) the EC2 API
//! shows for our UUIDs. The database keeps the map, so an id never
//! changes once handed out.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What an EC2 id names; each kind has its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ec2Kind {
    /// An instance: `i-`.
    Instance,
    /// A reservation (one RunInstances call): `r-`.
    Reservation,
    /// A machine image: `ami-`.
    Image,
    /// A kernel image: `aki-`.
    Kernel,
    /// A ramdisk image: `ari-`.
    Ramdisk,
    /// A volume: `vol-`.
    Volume,
    /// A snapshot: `snap-`.
    Snapshot,
    /// A security group: `sg-`.
    SecurityGroup,
    /// A floating address allocation: `eipalloc-`.
    Address,
}

/// Every kind.
pub const EC2_KINDS: [Ec2Kind; 9] = [
    Ec2Kind::Instance,
    Ec2Kind::Reservation,
    Ec2Kind::Image,
    Ec2Kind::Kernel,
    Ec2Kind::Ramdisk,
    Ec2Kind::Volume,
    Ec2Kind::Snapshot,
    Ec2Kind::SecurityGroup,
    Ec2Kind::Address,
];

impl Ec2Kind {
    /// The id prefix without the dash (`i`, `ami`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Instance => "i",
            Self::Reservation => "r",
            Self::Image => "ami",
            Self::Kernel => "aki",
            Self::Ramdisk => "ari",
            Self::Volume => "vol",
            Self::Snapshot => "snap",
            Self::SecurityGroup => "sg",
            Self::Address => "eipalloc",
        }
    }

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Reservation => "reservation",
            Self::Image => "image",
            Self::Kernel => "kernel",
            Self::Ramdisk => "ramdisk",
            Self::Volume => "volume",
            Self::Snapshot => "snapshot",
            Self::SecurityGroup => "security_group",
            Self::Address => "address",
        }
    }

    /// The kind stored as `s`.
    pub fn from_name(s: &str) -> Option<Self> {
        EC2_KINDS.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind of a well-formed id (`prefix-` and 8 to 17 lowercase hex
    /// digits), or `None`.
    pub fn of_id(id: &str) -> Option<Self> {
        let (prefix, hex) = id.split_once('-')?;
        let well_formed = (8..=17).contains(&hex.len())
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return None;
        }
        EC2_KINDS.into_iter().find(|k| k.prefix() == prefix)
    }

    /// A fresh random id of this kind (`i-` and 8 hex digits).
    pub fn generate(self) -> String {
        let n: u32 = rand::random();
        format!("{}-{n:08x}", self.prefix())
    }

    /// [`Error::InvalidInput`] unless `id` is a well-formed id of this kind.
    pub fn check(self, id: &str) -> Result<()> {
        if Self::of_id(id) == Some(self) {
            Ok(())
        } else {
            Err(Error::invalid(format!("Invalid id: \"{id}\"")))
        }
    }
}

impl fmt::Display for Ec2Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_prefix() {
        for k in EC2_KINDS {
            let id = k.generate();
            assert_eq!(Ec2Kind::of_id(&id), Some(k), "{id}");
            assert!(k.check(&id).is_ok());
            assert_eq!(Ec2Kind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(Ec2Kind::of_id("i-0123abcd"), Some(Ec2Kind::Instance));
        assert_eq!(Ec2Kind::of_id("i-0123ABCD"), None);
        assert_eq!(Ec2Kind::of_id("i-123"), None);
        assert_eq!(Ec2Kind::of_id("x-01234567"), None);
        assert!(Ec2Kind::Volume.check("i-01234567").is_err());
    }
}
