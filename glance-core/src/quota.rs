//! Per-image quotas (`image_*_quota`, `image_size_cap`) as a typed config.

use serde::Deserialize;

use crate::error::{Error, Result};

/// Limits on a single image. Going over any of them is
/// [`Error::QuotaExceeded`] (HTTP 413).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// Maximum custom properties per image (`image_property_quota`).
    #[serde(default = "default_property_quota")]
    pub image_property_quota: usize,
    /// Maximum tags per image (`image_tag_quota`).
    #[serde(default = "default_tag_quota")]
    pub image_tag_quota: usize,
    /// Maximum members per image (`image_member_quota`).
    #[serde(default = "default_member_quota")]
    pub image_member_quota: usize,
    /// Maximum locations per image (`image_location_quota`).
    #[serde(default = "default_location_quota")]
    pub image_location_quota: usize,
    /// Maximum image size in bytes (`image_size_cap`).
    #[serde(default = "default_size_cap")]
    pub image_size_cap: u64,
}

fn default_property_quota() -> usize {
    128
}
fn default_tag_quota() -> usize {
    128
}
fn default_member_quota() -> usize {
    128
}
fn default_location_quota() -> usize {
    10
}
fn default_size_cap() -> u64 {
    1 << 40
}

/// Glance's hard upper bound on `image_size_cap` (8 EiB - 1).
pub const MAX_IMAGE_SIZE_CAP: u64 = (1 << 63) - 1;

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            image_property_quota: default_property_quota(),
            image_tag_quota: default_tag_quota(),
            image_member_quota: default_member_quota(),
            image_location_quota: default_location_quota(),
            image_size_cap: default_size_cap(),
        }
    }
}

impl QuotaConfig {
    /// Checks the values: a size cap between 1 byte and
    /// [`MAX_IMAGE_SIZE_CAP`], at least one location per image.
    pub fn validate(&self) -> Result<()> {
        if self.image_size_cap == 0 || self.image_size_cap > MAX_IMAGE_SIZE_CAP {
            return Err(Error::config(format!(
                "image_size_cap {} is outside 1..={MAX_IMAGE_SIZE_CAP}",
                self.image_size_cap
            )));
        }
        if self.image_location_quota == 0 {
            return Err(Error::config("image_location_quota must be at least 1"));
        }
        Ok(())
    }

    /// Checks that an image may have `n` custom properties.
    pub fn check_properties(&self, n: usize) -> Result<()> {
        check("image_property_quota", n, self.image_property_quota)
    }

    /// Checks that an image may have `n` tags.
    pub fn check_tags(&self, n: usize) -> Result<()> {
        check("image_tag_quota", n, self.image_tag_quota)
    }

    /// Checks that an image may have `n` members.
    pub fn check_members(&self, n: usize) -> Result<()> {
        check("image_member_quota", n, self.image_member_quota)
    }

    /// Checks that an image may have `n` locations.
    pub fn check_locations(&self, n: usize) -> Result<()> {
        check("image_location_quota", n, self.image_location_quota)
    }

    /// Checks that an image may hold `size` bytes.
    pub fn check_size(&self, size: u64) -> Result<()> {
        if size > self.image_size_cap {
            return Err(Error::quota(format!(
                "image size {size} exceeds image_size_cap {}",
                self.image_size_cap
            )));
        }
        Ok(())
    }
}

fn check(name: &str, n: usize, limit: usize) -> Result<()> {
    if n > limit {
        return Err(Error::quota(format!("{n} exceeds {name} {limit}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_glance_defaults_and_valid() {
        let q = QuotaConfig::default();
        assert_eq!(q.image_property_quota, 128);
        assert_eq!(q.image_tag_quota, 128);
        assert_eq!(q.image_member_quota, 128);
        assert_eq!(q.image_location_quota, 10);
        assert_eq!(q.image_size_cap, 1 << 40);
        q.validate().unwrap();
        let parsed: QuotaConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, q);
        assert!(serde_json::from_str::<QuotaConfig>(r#"{"bogus":1}"#).is_err());
    }

    #[test]
    fn validate_rejects_bad_values() {
        let q = QuotaConfig {
            image_size_cap: 0,
            ..Default::default()
        };
        assert!(matches!(q.validate(), Err(Error::InvalidConfig { .. })));
        let q = QuotaConfig {
            image_size_cap: u64::MAX,
            ..Default::default()
        };
        assert!(q.validate().is_err());
        let q = QuotaConfig {
            image_location_quota: 0,
            ..Default::default()
        };
        assert!(q.validate().is_err());
    }

    #[test]
    fn limits_are_inclusive() {
        let q = QuotaConfig {
            image_property_quota: 2,
            image_tag_quota: 1,
            image_member_quota: 0,
            image_location_quota: 1,
            image_size_cap: 10,
        };
        assert!(q.check_properties(2).is_ok());
        assert!(matches!(
            q.check_properties(3),
            Err(Error::QuotaExceeded { .. })
        ));
        assert!(q.check_tags(1).is_ok() && q.check_tags(2).is_err());
        assert!(q.check_members(0).is_ok() && q.check_members(1).is_err());
        assert!(q.check_locations(1).is_ok() && q.check_locations(2).is_err());
        assert!(q.check_size(10).is_ok());
        assert!(matches!(q.check_size(11), Err(Error::QuotaExceeded { .. })));
    }
}
