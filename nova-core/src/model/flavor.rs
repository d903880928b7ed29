//! Flavors (Nova's instance types) and the default m1.* set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::FlavorId;
use crate::error::{Error, Result};

/// A flavor: the size of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    /// Its id (`"1"`..`"5"` for the defaults, a UUID for created ones).
    pub id: FlavorId,
    /// Unique display name.
    pub name: String,
    /// Memory in MiB.
    pub ram_mb: u64,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Root disk in GiB (0 = image size).
    pub root_gb: u64,
    /// Ephemeral disk in GiB.
    pub ephemeral_gb: u64,
    /// Swap in MiB.
    pub swap_mb: u64,
    /// Network bandwidth factor.
    pub rxtx_factor: f64,
    /// Visible to every project.
    pub is_public: bool,
    /// Hidden from new boots.
    pub disabled: bool,
    /// Free-form scheduler and driver hints.
    pub extra_specs: BTreeMap<String, String>,
    /// Description (microversion 2.55+).
    pub description: Option<String>,
}

impl Flavor {
    /// A public flavor; validated.
    pub fn new(
        id: FlavorId,
        name: impl Into<String>,
        ram_mb: u64,
        vcpus: u32,
        root_gb: u64,
    ) -> Result<Self> {
        let f = Self {
            id,
            name: name.into(),
            ram_mb,
            vcpus,
            root_gb,
            ephemeral_gb: 0,
            swap_mb: 0,
            rxtx_factor: 1.0,
            is_public: true,
            disabled: false,
            extra_specs: BTreeMap::new(),
            description: None,
        };
        f.validate()?;
        Ok(f)
    }

    /// Nova's limits: a 1..=255 character name without surrounding
    /// blanks, RAM and vCPUs at least 1, a positive rxtx factor.
    pub fn validate(&self) -> Result<()> {
        let n = &self.name;
        if n.is_empty() || n.chars().count() > 255 || n.trim() != n {
            return Err(Error::invalid(format!("bad flavor name {n:?}")));
        }
        if self.ram_mb < 1 || self.vcpus < 1 {
            return Err(Error::invalid(format!(
                "flavor {n} needs at least 1 MB of RAM and 1 vCPU"
            )));
        }
        if !(self.rxtx_factor > 0.0 && self.rxtx_factor.is_finite()) {
            return Err(Error::invalid(format!("flavor {n} has a bad rxtx_factor")));
        }
        Ok(())
    }

    /// Root plus ephemeral disk in GiB.
    pub fn total_disk_gb(&self) -> u64 {
        self.root_gb + self.ephemeral_gb
    }
}

/// The flavors Nova used to create by default: m1.tiny to m1.xlarge,
/// ids `1` to `5`.
pub fn default_flavors() -> Vec<Flavor> {
    const SET: [(&str, &str, u64, u32, u64); 5] = [
        ("1", "m1.tiny", 512, 1, 1),
        ("2", "m1.small", 2048, 1, 20),
        ("3", "m1.medium", 4096, 2, 40),
        ("4", "m1.large", 8192, 4, 80),
        ("5", "m1.xlarge", 16384, 8, 160),
    ];
    SET.iter()
        .filter_map(|&(id, name, ram, vcpus, disk)| {
            let id = FlavorId::new(id).ok()?;
            Flavor::new(id, name, ram, vcpus, disk).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_set_is_m1_tiny_to_xlarge() {
        let f = default_flavors();
        let names: Vec<_> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
        );
        assert_eq!(f[0].id.as_str(), "1");
        assert_eq!((f[0].ram_mb, f[0].vcpus, f[0].root_gb), (512, 1, 1));
        assert_eq!((f[4].ram_mb, f[4].vcpus, f[4].root_gb), (16384, 8, 160));
        assert!(f.iter().all(|f| f.is_public && !f.disabled));
    }

    #[test]
    fn validation_refuses_nonsense() {
        let id = || FlavorId::new("x").unwrap();
        assert!(Flavor::new(id(), "", 1, 1, 0).is_err());
        assert!(Flavor::new(id(), " pad", 1, 1, 0).is_err());
        assert!(Flavor::new(id(), "ok", 0, 1, 0).is_err());
        assert!(Flavor::new(id(), "ok", 1, 0, 0).is_err());
        let mut f = Flavor::new(id(), "ok", 1, 1, 0).unwrap();
        f.ephemeral_gb = 5;
        assert_eq!(f.total_disk_gb(), 5);
        f.rxtx_factor = 0.0;
        assert!(f.validate().is_err());
    }
}
