//! The builder file: JSON with the tables as base64 of little-endian
//! integers, written atomically.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::tiers::NONE;
use super::{RingBuilder, MAX_PART_POWER, MAX_REPLICAS};
use crate::error::{Error, Result};
use crate::ring::file::write_atomic;
use crate::ring::Device;

const FORMAT: &str = "ferrostack-ring-builder";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuilderFile {
    format: String,
    version: u32,
    part_power: u8,
    replicas: usize,
    min_part_hours: u32,
    devices: Vec<Option<Device>>,
    /// One base64 string of little-endian u16 per replica.
    replica2part2dev: Vec<String>,
    /// Base64 of little-endian u64 unix seconds per partition.
    last_move: String,
}

impl RingBuilder {
    /// The builder as JSON bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let file = BuilderFile {
            format: FORMAT.into(),
            version: VERSION,
            part_power: self.part_power,
            replicas: self.replicas,
            min_part_hours: self.min_part_hours,
            devices: self.devices.clone(),
            replica2part2dev: self
                .table
                .iter()
                .map(|row| B64.encode(row.iter().flat_map(|d| d.to_le_bytes()).collect::<Vec<_>>()))
                .collect(),
            last_move: B64.encode(
                self.last_move
                    .iter()
                    .flat_map(|t| t.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
        };
        serde_json::to_vec_pretty(&file).map_err(|e| Error::Backend {
            backend: "ring-builder",
            source: Box::new(e),
        })
    }

    /// Parses a builder file. Fails with [`Error::InvalidConfig`] for a
    /// file that is not a builder or has an unsupported version, and with
    /// [`Error::Corrupt`] for inconsistent contents.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let file: BuilderFile = serde_json::from_slice(bytes)
            .map_err(|e| Error::config(format!("not a ring builder file: {e}")))?;
        if file.format != FORMAT {
            return Err(Error::config(format!(
                "not a ring builder file (format {:?})",
                file.format
            )));
        }
        if file.version != VERSION {
            return Err(Error::config(format!(
                "unsupported ring builder version {}",
                file.version
            )));
        }
        if file.part_power > MAX_PART_POWER || file.replicas == 0 || file.replicas > MAX_REPLICAS {
            return Err(corrupt("part power or replica count out of range"));
        }
        for (i, d) in file.devices.iter().enumerate() {
            if let Some(d) = d {
                if usize::from(d.id) != i || d.id == NONE {
                    return Err(corrupt(format!("device at index {i} has id {}", d.id)));
                }
            }
        }
        let parts = 1usize << file.part_power;
        let mut table = Vec::with_capacity(file.replica2part2dev.len());
        for row in &file.replica2part2dev {
            let raw = B64.decode(row).map_err(|_| corrupt("bad base64 table"))?;
            if raw.len() != parts * 2 {
                return Err(corrupt("replica table has the wrong length"));
            }
            table.push(
                raw.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<u16>>(),
            );
        }
        if !table.is_empty() && table.len() != file.replicas {
            return Err(corrupt("replica table count differs from replicas"));
        }
        let raw = B64
            .decode(&file.last_move)
            .map_err(|_| corrupt("bad base64 last_move"))?;
        if raw.len() % 8 != 0 || (!raw.is_empty() && raw.len() != parts * 8) {
            return Err(corrupt("last_move has the wrong length"));
        }
        let last_move = raw
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        Ok(Self {
            part_power: file.part_power,
            replicas: file.replicas,
            min_part_hours: file.min_part_hours,
            devices: file.devices,
            table,
            last_move,
        })
    }

    /// Reads a builder file (blocking). A missing file is
    /// [`Error::NotFound`]; see [`RingBuilder::from_bytes`] for the rest.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("ring builder {}", path.display()), e))?;
        Self::from_bytes(&bytes)
    }

    /// Writes the builder file atomically (temp file, fsync, rename, fsync
    /// of the directory; blocking).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }
}

fn corrupt(what: impl Into<String>) -> Error {
    Error::Corrupt {
        what: format!("ring builder: {}", what.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{DeviceSpec, RebalanceOptions};

    #[test]
    fn round_trips_and_rejects_garbage() {
        let mut b = RingBuilder::create(4, 2, 1).unwrap();
        b.add(DeviceSpec::new(1, 1, "10.0.0.1", 6200, "sda", 1.0))
            .unwrap();
        b.add(DeviceSpec::new(1, 2, "10.0.0.2", 6200, "sda", 1.0))
            .unwrap();
        b.rebalance(&RebalanceOptions::at(5000, 1)).unwrap();
        let again = RingBuilder::from_bytes(&b.to_bytes().unwrap()).unwrap();
        assert_eq!(again, b);
        assert!(matches!(
            RingBuilder::from_bytes(b"{}"),
            Err(Error::InvalidConfig { .. })
        ));
        let text = String::from_utf8(b.to_bytes().unwrap()).unwrap();
        let bumped = text.replace("\"version\": 1", "\"version\": 9");
        assert!(matches!(
            RingBuilder::from_bytes(bumped.as_bytes()),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
