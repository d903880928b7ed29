//! The versions in one hash directory, and Swift's cleanup of them
//! (`hash_cleanup_listdir`): the newest `.data` or `.ts` wins, and only the
//! newest `.meta` newer than that data is kept. Blocking code.

use std::io;
use std::path::{Path, PathBuf};

use super::format::{parse_file_name, Kind};
use crate::timestamp::Timestamp;

/// What a hash directory holds, after choosing the winners.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The newest data version or tombstone.
    pub(super) current: Option<(Timestamp, Kind)>,
    /// The newest metadata update newer than the current data.
    pub(super) meta: Option<Timestamp>,
    /// Every version file with its parsed name.
    pub(super) files: Vec<(Timestamp, Kind, String)>,
}

impl Scan {
    /// The timestamp of the current data version or tombstone.
    pub(super) fn current_ts(&self) -> Option<Timestamp> {
        self.current.map(|(t, _)| t)
    }

    /// Whether `name` survives cleanup.
    fn keeps(&self, ts: Timestamp, kind: Kind) -> bool {
        match kind {
            Kind::Meta => self.meta == Some(ts),
            _ => self.current == Some((ts, kind)),
        }
    }
}

/// Lists and classifies `dir`; a missing directory is empty.
pub(super) fn scan(dir: &Path) -> io::Result<Scan> {
    let mut s = Scan::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(s),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some((ts, kind)) = parse_file_name(&name) {
            s.files.push((ts, kind, name));
        }
    }
    // Newest first; at equal times a tombstone beats data (Kind order).
    s.files.sort_by_key(|f| std::cmp::Reverse((f.0, f.1)));
    s.current = s
        .files
        .iter()
        .find(|(_, k, _)| *k != Kind::Meta)
        .map(|(t, k, _)| (*t, *k));
    if let Some((data_ts, Kind::Data)) = s.current {
        s.meta = s
            .files
            .iter()
            .find(|(t, k, _)| *k == Kind::Meta && *t > data_ts)
            .map(|(t, _, _)| *t);
    }
    Ok(s)
}

/// Removes every version file `scan` does not keep, then the directory
/// itself if it became empty. Errors removing single files are ignored: a
/// later cleanup retries.
pub(super) fn cleanup(dir: &Path, scan: &Scan) {
    for (ts, kind, name) in &scan.files {
        if !scan.keeps(*ts, *kind) {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    // Fails (harmlessly) unless empty.
    let _ = std::fs::remove_dir(dir);
}

/// Path of a version file in a hash directory.
pub(super) fn version_path(dir: &Path, ts: Timestamp, kind: Kind) -> PathBuf {
    dir.join(super::format::file_name(ts, kind))
}

/// fsyncs a directory so a rename into it is durable.
pub(super) fn fsync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), b"").unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn cleanup_keeps_newest_data_and_newer_meta() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for n in [
            "0000000001.00000.data",
            "0000000002.00000.meta",
            "0000000003.00000.data",
            "0000000004.00000.meta",
            "0000000005.00000.meta",
            "junk.tmp",
        ] {
            touch(d, n);
        }
        let s = scan(d).unwrap();
        assert_eq!(s.current.map(|c| c.1), Some(Kind::Data));
        cleanup(d, &s);
        assert_eq!(
            names(d),
            vec!["0000000003.00000.data", "0000000005.00000.meta", "junk.tmp"]
        );
    }

    #[test]
    fn tombstone_wins_and_drops_meta() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("h");
        std::fs::create_dir(&d).unwrap();
        for n in [
            "0000000001.00000.data",
            "0000000002.00000.meta",
            "0000000003.00000.ts",
        ] {
            touch(&d, n);
        }
        let s = scan(&d).unwrap();
        assert_eq!(s.current.map(|c| c.1), Some(Kind::Tombstone));
        assert_eq!(s.meta, None);
        cleanup(&d, &s);
        assert_eq!(names(&d), vec!["0000000003.00000.ts"]);
        assert!(scan(&tmp.path().join("missing")).unwrap().current.is_none());
    }
}
