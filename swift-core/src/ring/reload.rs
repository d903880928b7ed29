//! Reloading ring files when they change on disk.
//!
//! Storage nodes and proxies share only ring files: an operator writes a
//! new ring (after adding or removing devices and rebalancing) and copies
//! it to every machine. [`RingReloader`] notices the change (modification
//! time and size first, then the content's MD5) and swaps the new ring into
//! [`Rings`] atomically; readers holding the old `Arc<Ring>` finish with it.
//! A file that does not parse (say, half copied by a tool that does not
//! rename) is ignored and retried on the next check.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use md5::{Digest, Md5};

use super::{Ring, RingKind, Rings};
use crate::daemon::{Daemon, PassReport};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    mtime: Option<SystemTime>,
    len: u64,
    md5: [u8; 16],
}

/// Watches the ring files of [`Rings`] and swaps in new versions.
#[derive(Debug)]
pub struct RingReloader {
    rings: Arc<Rings>,
    files: Vec<(RingKind, PathBuf)>,
    seen: Mutex<HashMap<RingKind, Seen>>,
}

impl RingReloader {
    /// A reloader of `rings` from `files`. The files as they are now are
    /// taken to be what `rings` holds already.
    pub fn new(rings: Arc<Rings>, files: Vec<(RingKind, PathBuf)>) -> Self {
        let mut seen = HashMap::new();
        for (kind, path) in &files {
            if let Ok(bytes) = std::fs::read(path) {
                let meta = std::fs::metadata(path).ok();
                seen.insert(
                    *kind,
                    Seen {
                        mtime: meta.as_ref().and_then(|m| m.modified().ok()),
                        len: bytes.len() as u64,
                        md5: Md5::digest(&bytes).into(),
                    },
                );
            }
        }
        Self {
            rings,
            files,
            seen: Mutex::new(seen),
        }
    }

    /// The rings being kept up to date.
    pub fn rings(&self) -> &Arc<Rings> {
        &self.rings
    }

    /// Checks every file once and swaps in those that changed (blocking).
    /// Returns the kinds reloaded; a file that cannot be read or parsed
    /// leaves its ring as it was and is reported as an error.
    pub fn check(&self) -> Result<Vec<RingKind>> {
        let mut reloaded = Vec::new();
        let mut first_err = None;
        for (kind, path) in &self.files {
            match self.check_one(*kind, path) {
                Ok(true) => reloaded.push(*kind),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(ring = %path.display(), error = %e, "ring not reloaded");
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) if reloaded.is_empty() => Err(e),
            _ => Ok(reloaded),
        }
    }

    fn check_one(&self, kind: RingKind, path: &std::path::Path) -> Result<bool> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("ring {}", path.display()), e))?;
        let (mtime, len) = (meta.modified().ok(), meta.len());
        let prev = self.seen.lock().ok().and_then(|s| s.get(&kind).cloned());
        if prev
            .as_ref()
            .is_some_and(|p| p.mtime == mtime && p.len == len && mtime.is_some())
        {
            return Ok(false);
        }
        let bytes =
            std::fs::read(path).map_err(|e| Error::io(format!("ring {}", path.display()), e))?;
        let md5: [u8; 16] = Md5::digest(&bytes).into();
        let seen = Seen {
            mtime,
            len: bytes.len() as u64,
            md5,
        };
        if prev.as_ref().is_some_and(|p| p.md5 == md5) {
            if let Ok(mut s) = self.seen.lock() {
                s.insert(kind, seen);
            }
            return Ok(false);
        }
        let ring = Ring::from_bytes(&bytes)?;
        tracing::info!(
            ring = %path.display(),
            devices = ring.devices().count(),
            "ring reloaded"
        );
        self.rings.replace(kind, ring);
        if let Ok(mut s) = self.seen.lock() {
            s.insert(kind, seen);
        }
        Ok(true)
    }
}

#[async_trait]
impl Daemon for RingReloader {
    fn name(&self) -> &'static str {
        "ring-reloader"
    }

    /// One check of every ring file. Counters: `rings_checked`,
    /// `rings_reloaded`; unreadable or invalid files count as errors.
    async fn run_once(&self) -> Result<PassReport> {
        let mut report = PassReport::start();
        let mut errors = 0;
        let mut reloaded = 0;
        for (kind, path) in &self.files {
            match self.check_one(*kind, path) {
                Ok(true) => reloaded += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(ring = %path.display(), error = %e, "ring not reloaded");
                    errors += 1;
                }
            }
        }
        report.add("rings_checked", self.files.len() as u64);
        report.add("rings_reloaded", reloaded);
        report.errors = errors;
        Ok(report.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{DeviceSpec, RebalanceOptions, RingBuilder};

    fn ring(devs: u16) -> Ring {
        let mut b = RingBuilder::create(4, 3, 0).unwrap();
        for i in 0..devs {
            b.add(DeviceSpec::new(
                1,
                i as u8 + 1,
                "127.0.0.1",
                6200 + i,
                "d1",
                1.0,
            ))
            .unwrap();
        }
        b.rebalance(&RebalanceOptions::at(1_700_000_000, 1))
            .unwrap();
        b.build()
    }

    #[tokio::test]
    async fn picks_up_a_new_ring_and_ignores_a_broken_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("container.ring");
        ring(3).save(&path).unwrap();
        let rings = Arc::new(Rings::new(ring(3), ring(3), ring(3)));
        let r = RingReloader::new(rings.clone(), vec![(RingKind::Container, path.clone())]);
        assert!(r.check().unwrap().is_empty());

        ring(4).save(&path).unwrap();
        let rep = r.run_once().await.unwrap();
        assert_eq!(rep.count("rings_reloaded"), 1);
        assert_eq!(rings.get(RingKind::Container).devices().count(), 4);
        assert_eq!(rings.get(RingKind::Object).devices().count(), 3);
        // Unchanged now.
        assert!(r.check().unwrap().is_empty());

        std::fs::write(&path, b"garbage").unwrap();
        assert!(r.check().is_err());
        assert_eq!(rings.get(RingKind::Container).devices().count(), 4);
        ring(5).save(&path).unwrap();
        let rep = r.run_once().await.unwrap();
        assert_eq!((rep.count("rings_reloaded"), rep.errors), (1, 0));
        assert_eq!(rings.get(RingKind::Container).devices().count(), 5);
        // Rewriting the same bytes (a new mtime) reloads nothing.
        ring(5).save(&path).unwrap();
        assert!(r.check().unwrap().is_empty());
    }
}
