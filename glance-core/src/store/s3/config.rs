//! Configuration of [`super::S3ImageStore`].

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::remote::Secret;

/// How bucket names go into request URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum S3Addressing {
    /// `http://host/bucket/key`.
    Path,
    /// `http://bucket.host/key`.
    Virtual,
    /// Virtual-host when the endpoint is a DNS name and the bucket a valid
    /// DNS label without dots, else path-style.
    #[default]
    Auto,
}

/// Configuration of [`super::S3ImageStore`] (glance_store's `s3` driver).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3StoreConfig {
    /// The S3 endpoint, e.g. `http://127.0.0.1:5055` (`s3_store_host`).
    pub endpoint: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: Secret,
    /// The bucket holding the images.
    pub bucket: String,
    /// Signing region (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Path-style, virtual-host or automatic addressing (default `auto`).
    #[serde(default)]
    pub addressing: S3Addressing,
    /// Create the bucket on the first put (default true).
    #[serde(default = "default_true")]
    pub create_bucket: bool,
    /// Images of at least this size, or of unknown size that fill a part,
    /// go up as multipart uploads (default 100 MiB).
    #[serde(default = "default_large_object_size")]
    pub large_object_size: u64,
    /// Size of one part, at least 5 MiB (default 10 MiB); for a known size
    /// the part is `max(part_size, size / 10000)`. One part is buffered in
    /// memory during a multipart upload.
    #[serde(default = "default_part_size")]
    pub part_size: u64,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_true() -> bool {
    true
}

fn default_large_object_size() -> u64 {
    100 << 20
}

fn default_part_size() -> u64 {
    10 << 20
}

/// S3's smallest part (all but the last).
pub(crate) const MIN_PART_SIZE: u64 = 5 << 20;
/// S3's largest part.
pub(crate) const MAX_PART_SIZE: u64 = 5 << 30;
/// S3's most parts in one upload.
pub(crate) const MAX_PARTS: u64 = 10_000;

impl S3StoreConfig {
    /// A config with the defaults.
    pub fn new(
        endpoint: impl Into<String>,
        access_key: impl Into<String>,
        secret_key: Secret,
        bucket: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            access_key: access_key.into(),
            secret_key,
            bucket: bucket.into(),
            region: default_region(),
            addressing: S3Addressing::Auto,
            create_bucket: true,
            large_object_size: default_large_object_size(),
            part_size: default_part_size(),
        }
    }

    /// Checks the endpoint, bucket name and sizes.
    pub fn validate(&self) -> Result<()> {
        let url = reqwest::Url::parse(&self.endpoint)
            .map_err(|_| Error::config(format!("s3 endpoint {} is not a URL", self.endpoint)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::config(format!(
                "s3 endpoint {} must be http(s)://host[:port]",
                self.endpoint
            )));
        }
        let b = &self.bucket;
        let ok = (3..=63).contains(&b.len())
            && b.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
            && !b.starts_with(['-', '.'])
            && !b.ends_with(['-', '.']);
        if !ok {
            return Err(Error::config(format!(
                "s3 bucket {b:?} must be 3-63 of a-z 0-9 - ."
            )));
        }
        if self.access_key.is_empty() || self.region.is_empty() {
            return Err(Error::config("s3 access_key and region are required"));
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(Error::config(format!(
                "s3 part_size must be {MIN_PART_SIZE}..={MAX_PART_SIZE}"
            )));
        }
        if self.large_object_size == 0 {
            return Err(Error::config("s3 large_object_size must be positive"));
        }
        Ok(())
    }

    /// Whether requests use virtual-host addressing.
    pub(crate) fn virtual_host(&self, url: &reqwest::Url) -> bool {
        match self.addressing {
            S3Addressing::Path => false,
            S3Addressing::Virtual => true,
            S3Addressing::Auto => {
                let dns_host = url.domain().is_some_and(|d| d != "localhost");
                dns_host && !self.bucket.contains('.')
            }
        }
    }
}
