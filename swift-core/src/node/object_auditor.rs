//! The object auditor: re-reads every object on the node's devices and
//! quarantines the ones that went bad.
//!
//! An object is bad when its metadata does not parse, its name does not
//! hash to where it is stored, its length differs from the stored length
//! or the MD5 of its bytes differs from its ETag. Quarantine moves it out
//! of the object tree and invalidates its suffix hash, so the replicators
//! of the other primaries restore a good copy. Reads are paced to
//! `files_per_second` and `bytes_per_second`.
//!
//! Counters of a pass: `objects_checked`, `bytes_checked`, `quarantined`,
//! plus `errors`.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde::Deserialize;

use super::object_replicator::Tally;
use super::pacer::Pacer;
use crate::daemon::{Daemon, PassReport};
use crate::error::{Error, Result};
use crate::hash::HashConfig;
use crate::object::{ObjectBackend, ObjectLocation, ObjectMetadata, ObjectState, ReadOptions};
use crate::ring::{RingKind, Rings};

/// Settings of the object auditor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectAuditorConfig {
    /// Objects opened per second at most (default 20, Swift's); `None`
    /// for unlimited.
    #[serde(default = "default_files_per_second")]
    pub files_per_second: Option<f64>,
    /// Bytes read per second at most (default 10 MB/s, Swift's); `None`
    /// for unlimited.
    #[serde(default = "default_bytes_per_second")]
    pub bytes_per_second: Option<f64>,
}

fn default_files_per_second() -> Option<f64> {
    Some(20.0)
}

fn default_bytes_per_second() -> Option<f64> {
    Some(10_000_000.0)
}

impl Default for ObjectAuditorConfig {
    fn default() -> Self {
        Self {
            files_per_second: default_files_per_second(),
            bytes_per_second: default_bytes_per_second(),
        }
    }
}

impl ObjectAuditorConfig {
    /// Fails with `Error::InvalidConfig` for a rate that is not positive.
    pub fn validate(&self) -> Result<()> {
        for (name, rate) in [
            ("files_per_second", self.files_per_second),
            ("bytes_per_second", self.bytes_per_second),
        ] {
            if rate.is_some_and(|r| !r.is_finite() || r <= 0.0) {
                return Err(Error::InvalidConfig {
                    reason: format!("object auditor: {name} must be positive"),
                });
            }
        }
        Ok(())
    }
}

/// Audits the objects of one storage node's devices.
#[derive(Debug)]
pub struct ObjectAuditor {
    host: String,
    rings: Arc<Rings>,
    hash: HashConfig,
    backend: Arc<dyn ObjectBackend>,
    files: Pacer,
    bytes: Pacer,
}

/// The verdict on one object.
enum Verdict {
    Good(u64),
    Bad(String),
    /// Deleted, missing or replaced while being read.
    Skip,
}

impl ObjectAuditor {
    /// An auditor for the devices the object ring places on `host`
    /// (`ip:port`), checking names against `hash`. Fails with
    /// `Error::InvalidConfig` when `config` is invalid.
    pub fn new(
        config: ObjectAuditorConfig,
        host: impl Into<String>,
        rings: Arc<Rings>,
        hash: HashConfig,
        backend: Arc<dyn ObjectBackend>,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            host: host.into(),
            rings,
            hash,
            backend,
            files: Pacer::new(config.files_per_second),
            bytes: Pacer::new(config.bytes_per_second),
        })
    }

    fn name_matches(&self, m: &ObjectMetadata, loc: &ObjectLocation) -> bool {
        let mut it = m.name.strip_prefix('/').unwrap_or("").splitn(3, '/');
        match (it.next(), it.next(), it.next()) {
            (Some(a), Some(c), Some(o)) => self.hash.hash_path(a, Some(c), Some(o)) == loc.hash,
            _ => false,
        }
    }

    /// Re-reads one object.
    async fn check(&self, loc: &ObjectLocation) -> Result<Verdict> {
        self.files.take(1.0).await;
        let meta = match self.backend.open(loc).await {
            Ok(ObjectState::Present(m)) => m,
            Ok(_) | Err(Error::NotFound { .. }) => return Ok(Verdict::Skip),
            Err(Error::Corrupt { what }) => return Ok(Verdict::Bad(what)),
            Err(e) => return Err(e),
        };
        if !self.name_matches(&meta, loc) {
            return Ok(Verdict::Bad(format!(
                "name {:?} not at its hash",
                meta.name
            )));
        }
        let opts = ReadOptions {
            range: None,
            timestamp: Some(meta.timestamp),
        };
        let mut body = match self.backend.read(loc, opts).await {
            Ok(r) => r.body,
            Err(Error::NotFound { .. }) => return Ok(Verdict::Skip),
            Err(Error::Corrupt { what }) => return Ok(Verdict::Bad(what)),
            Err(e) => return Err(e),
        };
        let mut len = 0u64;
        // The backend's whole-body read checks the MD5 against the ETag
        // and ends with `Error::Corrupt` on mismatch.
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(c) => {
                    len += c.len() as u64;
                    self.bytes.take(c.len() as f64).await;
                }
                Err(Error::Corrupt { what }) => return Ok(Verdict::Bad(what)),
                Err(e) => return Err(e),
            }
        }
        if len != meta.content_length {
            return Ok(Verdict::Bad(format!(
                "{len} bytes, metadata says {}",
                meta.content_length
            )));
        }
        Ok(Verdict::Good(len))
    }

    async fn audit(&self, loc: ObjectLocation, tally: &Tally) {
        match self.check(&loc).await {
            Ok(Verdict::Good(bytes)) => {
                tally.add("objects_checked", 1);
                tally.add("bytes_checked", bytes);
            }
            Ok(Verdict::Skip) => {}
            Ok(Verdict::Bad(why)) => {
                tally.add("objects_checked", 1);
                match self.backend.quarantine(&loc).await {
                    Ok(()) => {
                        tracing::warn!(object = %loc, reason = why, "auditor quarantined object");
                        tally.add("quarantined", 1);
                    }
                    Err(e) => {
                        tracing::error!(object = %loc, error = %e, "quarantine failed");
                        tally.error();
                    }
                }
            }
            Err(e) => {
                tracing::warn!(object = %loc, error = %e, "audit failed");
                tally.error();
            }
        }
    }

    async fn audit_device(&self, device: &str, tally: &Tally) -> Result<()> {
        for part in self.backend.list_partitions(device).await? {
            for suffix in self.backend.list_suffixes(device, part).await? {
                for hash in self.backend.list_hashes(device, part, &suffix).await? {
                    self.audit(ObjectLocation::new(device, part, hash), tally)
                        .await;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Daemon for ObjectAuditor {
    fn name(&self) -> &'static str {
        "object-auditor"
    }

    async fn run_once(&self) -> Result<PassReport> {
        let tally = Tally::new(&["objects_checked", "bytes_checked", "quarantined"]);
        let ring = self.rings.get(RingKind::Object);
        let mut devices: Vec<String> = ring
            .devices()
            .filter(|d| d.host() == self.host)
            .map(|d| d.device.clone())
            .collect();
        devices.sort();
        devices.dedup();
        for device in devices {
            if let Err(e) = self.audit_device(&device, &tally).await {
                tracing::warn!(device, error = %e, "cannot walk device");
                tally.error();
            }
        }
        Ok(tally.into_report())
    }
}
