//! On-disk formats: the metadata trailer of `.data` files, `.meta` files,
//! and version file names.
//!
//! A `.data` file is `body ++ json ++ u32_be(len(json)) ++ MAGIC`: the
//! metadata goes last because the ETag is known only once the body has been
//! written, and one open reads both.

use std::io::{Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::object::{MetadataUpdate, ObjectMetadata};
use crate::timestamp::Timestamp;

/// Marks the end of a `.data` file.
pub(super) const MAGIC: &[u8; 8] = b"FSOBJv1\n";
/// Length of the fixed tail: json length plus magic.
pub(super) const TAIL: u64 = 12;

/// The kind of a version file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Data,
    Meta,
    Tombstone,
}

impl Kind {
    pub(super) fn ext(self) -> &'static str {
        match self {
            Kind::Data => "data",
            Kind::Meta => "meta",
            Kind::Tombstone => "ts",
        }
    }
}

/// `<timestamp>.<ext>`.
pub(super) fn file_name(ts: Timestamp, kind: Kind) -> String {
    format!("{}.{}", ts.internal(), kind.ext())
}

/// Parses a version file name; `None` for anything else (temp files, junk).
pub(super) fn parse_file_name(name: &str) -> Option<(Timestamp, Kind)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let kind = match ext {
        "data" => Kind::Data,
        "meta" => Kind::Meta,
        "ts" => Kind::Tombstone,
        _ => return None,
    };
    let ts: Timestamp = stem.parse().ok()?;
    // Only canonical names: `1.5.data` must not alias `0000000001.50000.data`.
    (ts.internal() == stem).then_some((ts, kind))
}

#[derive(Serialize, Deserialize)]
struct DataJson {
    name: String,
    timestamp: String,
    content_type: String,
    etag: String,
    content_length: u64,
    user_meta: Vec<(String, String)>,
    system_meta: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct MetaJson {
    timestamp: String,
    user_meta: Vec<(String, String)>,
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        what: format!("{what}: {detail}"),
    }
}

/// The trailer that ends a `.data` file.
pub(super) fn encode_trailer(meta: &ObjectMetadata) -> Result<Vec<u8>> {
    let j = DataJson {
        name: meta.name.clone(),
        timestamp: meta.timestamp.internal(),
        content_type: meta.content_type.clone(),
        etag: meta.etag.clone(),
        content_length: meta.content_length,
        user_meta: meta.user_meta.clone(),
        system_meta: meta.system_meta.clone(),
    };
    let mut out = serde_json::to_vec(&j).map_err(|e| Error::Backend {
        backend: "fs",
        source: Box::new(e),
    })?;
    let len = u32::try_from(out.len()).map_err(|_| Error::invalid("object metadata too large"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(MAGIC);
    Ok(out)
}

/// Reads the trailer of an open `.data` file; leaves the cursor anywhere.
/// `what` names the file in errors.
pub(super) fn read_trailer<F: Read + Seek>(f: &mut F, what: &str) -> Result<ObjectMetadata> {
    let io = |e: std::io::Error| corrupt(what, e);
    let total = f.seek(SeekFrom::End(0)).map_err(io)?;
    if total < TAIL {
        return Err(corrupt(what, "file too short"));
    }
    f.seek(SeekFrom::Start(total - TAIL)).map_err(io)?;
    let mut tail = [0u8; TAIL as usize];
    f.read_exact(&mut tail).map_err(io)?;
    if &tail[4..] != MAGIC {
        return Err(corrupt(what, "bad magic"));
    }
    let json_len = u64::from(u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]));
    let body_len = total
        .checked_sub(TAIL + json_len)
        .ok_or_else(|| corrupt(what, "bad trailer length"))?;
    f.seek(SeekFrom::Start(body_len)).map_err(io)?;
    let mut json = Vec::new();
    f.take(json_len).read_to_end(&mut json).map_err(io)?;
    let j: DataJson = serde_json::from_slice(&json).map_err(|e| corrupt(what, e))?;
    if j.content_length != body_len {
        return Err(corrupt(what, "length does not match body"));
    }
    Ok(ObjectMetadata {
        name: j.name,
        timestamp: j.timestamp.parse().map_err(|e| corrupt(what, e))?,
        meta_timestamp: None,
        content_type: j.content_type,
        etag: j.etag,
        content_length: j.content_length,
        user_meta: j.user_meta,
        system_meta: j.system_meta,
    })
}

/// The contents of a `.meta` file.
pub(super) fn encode_meta(update: &MetadataUpdate) -> Result<Vec<u8>> {
    let j = MetaJson {
        timestamp: update.timestamp.internal(),
        user_meta: update.user_meta.clone(),
    };
    serde_json::to_vec(&j).map_err(|e| Error::Backend {
        backend: "fs",
        source: Box::new(e),
    })
}

/// Parses a `.meta` file.
pub(super) fn decode_meta(bytes: &[u8], what: &str) -> Result<MetadataUpdate> {
    let j: MetaJson = serde_json::from_slice(bytes).map_err(|e| corrupt(what, e))?;
    Ok(MetadataUpdate {
        timestamp: j.timestamp.parse().map_err(|e| corrupt(what, e))?,
        user_meta: j.user_meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn trailer_round_trips_and_detects_damage() {
        let meta = ObjectMetadata {
            name: "/a/c/o".into(),
            timestamp: "1700000000.12345".parse().unwrap(),
            meta_timestamp: None,
            content_type: "text/plain".into(),
            etag: "5d41402abc4b2a76b9719d911017c592".into(),
            content_length: 5,
            user_meta: vec![("x-object-meta-a".into(), "b".into())],
            system_meta: vec![],
        };
        let mut file = b"hello".to_vec();
        file.extend(encode_trailer(&meta).unwrap());
        assert_eq!(
            read_trailer(&mut Cursor::new(file.clone()), "f").unwrap(),
            meta
        );
        let mut short = file.clone();
        short.remove(0);
        assert!(matches!(
            read_trailer(&mut Cursor::new(short), "f"),
            Err(Error::Corrupt { .. })
        ));
        let mut bad = file;
        let n = bad.len();
        bad[n - 1] = b'x';
        assert!(read_trailer(&mut Cursor::new(bad), "f").is_err());
        assert!(read_trailer(&mut Cursor::new(b"tiny".to_vec()), "f").is_err());
    }

    #[test]
    fn file_names_parse_canonical_only() {
        let ts: Timestamp = "1700000000.12345_0000000000000002".parse().unwrap();
        assert_eq!(
            parse_file_name(&file_name(ts, Kind::Meta)),
            Some((ts, Kind::Meta))
        );
        assert_eq!(parse_file_name("1.5.data"), None);
        assert_eq!(parse_file_name("1700000000.12345.tmp"), None);
        assert_eq!(parse_file_name("junk"), None);
    }
}
