//! The ring file: a versioned, checksummed binary format.
//!
//! Layout (integers little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FSTKRING` |
//! | 4 | format version (1) |
//! | 4 | header length `n` |
//! | n | JSON header: `part_power`, `replica_count`, `row_lengths`, `devices` |
//! | 2 each | `replica2part2dev` rows, one after another, as u16 |
//! | 32 | SHA-256 of everything before it |

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ring::{Device, Ring};

/// Magic bytes at the start of a ring file.
pub const RING_MAGIC: &[u8; 8] = b"FSTKRING";
/// The ring file format version this code writes and reads.
pub const RING_FORMAT_VERSION: u32 = 1;

const CHECKSUM_LEN: usize = 32;
const PREFIX_LEN: usize = 16;

#[derive(Serialize, Deserialize)]
struct Header {
    part_power: u8,
    replica_count: usize,
    row_lengths: Vec<usize>,
    devices: Vec<Option<Device>>,
}

impl Ring {
    /// Serializes the ring in the ring file format.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = Header {
            part_power: self.part_power,
            replica_count: self.replica2part2dev.len(),
            row_lengths: self.replica2part2dev.iter().map(Vec::len).collect(),
            devices: self.devices.clone(),
        };
        let json = serde_json::to_vec(&header).map_err(|e| Error::Backend {
            backend: "ring-file",
            source: Box::new(e),
        })?;
        let header_len =
            u32::try_from(json.len()).map_err(|_| Error::invalid("ring header too large"))?;
        let rows: usize = header.row_lengths.iter().sum();
        let mut out = Vec::with_capacity(PREFIX_LEN + json.len() + rows * 2 + CHECKSUM_LEN);
        out.extend_from_slice(RING_MAGIC);
        out.extend_from_slice(&RING_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&header_len.to_le_bytes());
        out.extend_from_slice(&json);
        for row in &self.replica2part2dev {
            for d in row {
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        Ok(out)
    }

    /// Parses a ring file.
    ///
    /// Fails with [`Error::InvalidConfig`] when the bytes are not a ring
    /// file (bad magic) or have an unsupported version, and with
    /// [`Error::Corrupt`] when they are truncated, fail the checksum, or
    /// are inconsistent.
    pub fn from_bytes(bytes: &[u8]) -> Result<Ring> {
        let magic_len = bytes.len().min(RING_MAGIC.len());
        if bytes[..magic_len] != RING_MAGIC[..magic_len] {
            return Err(Error::config("not a ring file (bad magic bytes)"));
        }
        if bytes.len() < PREFIX_LEN + CHECKSUM_LEN {
            return Err(corrupt("file is truncated"));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != RING_FORMAT_VERSION {
            return Err(Error::config(format!(
                "unsupported ring file version {version} (expected {RING_FORMAT_VERSION})"
            )));
        }
        let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if Sha256::digest(body).as_slice() != sum {
            return Err(corrupt("checksum mismatch (truncated or damaged file)"));
        }
        let header_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        let rest = &body[PREFIX_LEN..];
        if header_len > rest.len() {
            return Err(corrupt("header length exceeds file"));
        }
        let (json, mut tables) = rest.split_at(header_len);
        let header: Header =
            serde_json::from_slice(json).map_err(|e| corrupt(format!("bad header: {e}")))?;
        if header.part_power > 31 {
            return Err(corrupt(format!("part power {}", header.part_power)));
        }
        let parts = 1usize << header.part_power;
        if header.row_lengths.len() != header.replica_count
            || header.row_lengths.iter().any(|&n| n > parts)
        {
            return Err(corrupt("bad replica row lengths"));
        }
        let expected: usize = header.row_lengths.iter().sum::<usize>() * 2;
        if tables.len() != expected {
            return Err(corrupt(format!(
                "tables hold {} bytes, header says {expected}",
                tables.len()
            )));
        }
        for (i, d) in header.devices.iter().enumerate() {
            if d.as_ref().is_some_and(|d| usize::from(d.id) != i) {
                return Err(corrupt(format!("device at index {i} has the wrong id")));
            }
        }
        let mut replica2part2dev = Vec::with_capacity(header.replica_count);
        for &n in &header.row_lengths {
            let (row, next) = tables.split_at(n * 2);
            replica2part2dev.push(
                row.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            );
            tables = next;
        }
        Ok(Ring {
            part_power: header.part_power,
            devices: header.devices,
            replica2part2dev,
        })
    }

    /// Reads a ring file (blocking). A missing file is
    /// [`Error::NotFound`]; see [`Ring::from_bytes`] for the rest.
    pub fn load(path: &Path) -> Result<Ring> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::io(format!("ring {}", path.display()), e))?;
        Ring::from_bytes(&bytes).map_err(|e| match e {
            Error::InvalidConfig { reason } => {
                Error::config(format!("{}: {reason}", path.display()))
            }
            Error::Corrupt { what } => Error::Corrupt {
                what: format!("ring {}: {what}", path.display()),
            },
            other => other,
        })
    }

    /// Writes the ring file atomically: temp file, fsync, rename, fsync of
    /// the directory (blocking).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }
}

fn corrupt(what: impl Into<String>) -> Error {
    Error::Corrupt {
        what: format!("ring file: {}", what.into()),
    }
}

/// Writes `bytes` to `path` so readers see the old or the new file, never
/// a partial one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let what = || path.display().to_string();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("no file name in {}", what())))?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(what(), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{DeviceSpec, RebalanceOptions, RingBuilder};

    fn ring() -> Ring {
        let mut b = RingBuilder::create(6, 3, 1).unwrap();
        for z in 1..=4u8 {
            b.add(DeviceSpec::new(
                1,
                z,
                "127.0.0.1",
                6200 + u16::from(z),
                "sdb",
                1.0,
            ))
            .unwrap();
        }
        b.rebalance(&RebalanceOptions::at(1, 7)).unwrap();
        b.build()
    }

    #[test]
    fn round_trips_through_bytes_and_files() {
        let r = ring();
        assert_eq!(Ring::from_bytes(&r.to_bytes().unwrap()).unwrap(), r);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("object.ring");
        r.save(&path).unwrap();
        assert_eq!(Ring::load(&path).unwrap(), r);
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn rejects_bad_files() {
        let bytes = ring().to_bytes().unwrap();
        let truncated = Ring::from_bytes(&bytes[..bytes.len() - 10]);
        assert!(
            matches!(truncated, Err(Error::Corrupt { .. })),
            "{truncated:?}"
        );
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        assert!(matches!(
            Ring::from_bytes(&flipped),
            Err(Error::Corrupt { .. })
        ));
        let mut version = bytes.clone();
        version[8] = 2;
        let err = Ring::from_bytes(&version).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }));
        assert!(err.to_string().contains("version 2"), "{err}");
        assert!(matches!(
            Ring::from_bytes(b"hello world"),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            Ring::from_bytes(b"FSTK"),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(Ring::from_bytes(b""), Err(Error::Corrupt { .. })));
        let missing = Ring::load(Path::new("/nonexistent/x.ring"));
        assert!(matches!(missing, Err(Error::NotFound { .. })));
    }
}
