//! Swift's constraints on names and metadata, with Swift's defaults.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::headers::Headers;

/// Cluster-wide limits, published in `/info` under `swift`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Constraints {
    /// Largest object body accepted in one PUT.
    pub max_file_size: u64,
    /// Longest metadata name (after the `X-*-Meta-` prefix).
    pub max_meta_name_length: usize,
    /// Longest metadata value.
    pub max_meta_value_length: usize,
    /// Most metadata items on one entity.
    pub max_meta_count: usize,
    /// Largest sum of metadata name and value lengths.
    pub max_meta_overall_size: usize,
    /// Largest single request header line.
    pub max_header_size: usize,
    /// Longest object name in bytes.
    pub max_object_name_length: usize,
    /// Most rows in one container listing.
    pub container_listing_limit: usize,
    /// Most rows in one account listing.
    pub account_listing_limit: usize,
    /// Longest account name in bytes.
    pub max_account_name_length: usize,
    /// Longest container name in bytes.
    pub max_container_name_length: usize,
    /// Extra headers allowed beyond metadata.
    pub extra_header_count: usize,
}

impl Default for Constraints {
    fn default() -> Self {
        Self {
            max_file_size: 5_368_709_122,
            max_meta_name_length: 128,
            max_meta_value_length: 256,
            max_meta_count: 90,
            max_meta_overall_size: 4096,
            max_header_size: 8192,
            max_object_name_length: 1024,
            container_listing_limit: 10_000,
            account_listing_limit: 10_000,
            max_account_name_length: 256,
            max_container_name_length: 256,
            extra_header_count: 0,
        }
    }
}

/// Which entity metadata belongs to; picks the header prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKind {
    /// `X-Account-Meta-*`
    Account,
    /// `X-Container-Meta-*`
    Container,
    /// `X-Object-Meta-*`
    Object,
}

impl MetaKind {
    /// The lowercase user-metadata header prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            MetaKind::Account => "x-account-meta-",
            MetaKind::Container => "x-container-meta-",
            MetaKind::Object => "x-object-meta-",
        }
    }
}

impl Constraints {
    /// Checks that a value names an account: non-empty, not too long, no NUL.
    pub fn check_account(&self, name: &str) -> Result<()> {
        check_segment("account", name, self.max_account_name_length)
    }

    /// Checks a container name: non-empty, not too long, no NUL, no `/`.
    pub fn check_container(&self, name: &str) -> Result<()> {
        check_segment("container", name, self.max_container_name_length)?;
        if name.contains('/') {
            return Err(Error::invalid("container name cannot contain slashes"));
        }
        Ok(())
    }

    /// Checks an object name: non-empty, not too long, no NUL.
    pub fn check_object(&self, name: &str) -> Result<()> {
        check_segment("object", name, self.max_object_name_length)
    }

    /// Checks user metadata in `headers` against the limits, as Swift's
    /// `check_metadata` does. Removal headers (`X-Remove-*-Meta-`) and empty
    /// values do not count toward the totals.
    pub fn check_metadata(&self, headers: &Headers, kind: MetaKind) -> Result<()> {
        let prefix = kind.prefix();
        let mut count = 0;
        let mut size = 0;
        for (name, value) in headers.iter() {
            let Some(key) = name.strip_prefix(prefix) else {
                continue;
            };
            if value.contains('\0') {
                return Err(Error::invalid("metadata values cannot contain NUL bytes"));
            }
            if key.is_empty() {
                return Err(Error::invalid("metadata name cannot be empty"));
            }
            count += 1;
            size += key.len() + value.len();
            if key.len() > self.max_meta_name_length {
                return Err(Error::invalid(format!(
                    "metadata name too long: {}{}",
                    prefix, key
                )));
            }
            if value.len() > self.max_meta_value_length {
                return Err(Error::invalid(format!(
                    "metadata value longer than {}: {}{}",
                    self.max_meta_value_length, prefix, key
                )));
            }
            if count > self.max_meta_count {
                return Err(Error::invalid(format!(
                    "too many metadata items; max {}",
                    self.max_meta_count
                )));
            }
            if size > self.max_meta_overall_size {
                return Err(Error::invalid(format!(
                    "total metadata too large; max {}",
                    self.max_meta_overall_size
                )));
            }
        }
        Ok(())
    }
}

fn check_segment(what: &str, name: &str, max: usize) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} name cannot be empty")));
    }
    if name.len() > max {
        return Err(Error::invalid(format!(
            "{what} name length of {} longer than {max}",
            name.len()
        )));
    }
    if name.contains('\0') {
        return Err(Error::invalid(format!(
            "{what} name cannot contain NUL bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_limits() {
        let c = Constraints::default();
        assert!(c.check_object(&"a".repeat(1024)).is_ok());
        assert!(c.check_object(&"a".repeat(1025)).is_err());
        assert!(c.check_object("").is_err());
        assert!(c.check_object("a\0b").is_err());
        assert!(c.check_container("a/b").is_err());
        assert!(c.check_account(&"a".repeat(257)).is_err());
    }

    #[test]
    fn metadata_limits() {
        let c = Constraints::default();
        let ok = Headers::new().with("X-Object-Meta-Color", "red");
        assert!(c.check_metadata(&ok, MetaKind::Object).is_ok());
        let long_name = Headers::new().with(format!("x-object-meta-{}", "n".repeat(129)), "v");
        assert!(c.check_metadata(&long_name, MetaKind::Object).is_err());
        let long_value = Headers::new().with("x-object-meta-a", "v".repeat(257));
        assert!(c.check_metadata(&long_value, MetaKind::Object).is_err());
        let mut many = Headers::new();
        for i in 0..91 {
            many.set(format!("x-object-meta-k{i}"), "v");
        }
        assert!(c.check_metadata(&many, MetaKind::Object).is_err());
        let mut big = Headers::new();
        for i in 0..20 {
            big.set(format!("x-object-meta-k{i:02}"), "v".repeat(250));
        }
        assert!(c.check_metadata(&big, MetaKind::Object).is_err());
        let empty = Headers::new().with("x-object-meta-", "v");
        assert!(c.check_metadata(&empty, MetaKind::Object).is_err());
    }
}
