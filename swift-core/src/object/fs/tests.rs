use std::path::Path;

use bytes::Bytes;
use futures::stream::{self as fstream, StreamExt};

use super::*;
use crate::hash::HashConfig;
use crate::object::{conformance, ObjectLocation};
use crate::stream;

fn config(root: &Path, mount_check: bool) -> NodeConfig {
    NodeConfig {
        devices: root.to_path_buf(),
        mount_check,
        hash: HashConfig::new("p", "s"),
        fsync: true,
    }
}

fn backend(root: &Path) -> FsObjectBackend {
    for d in ["d1", "d2"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    FsObjectBackend::new(config(root, true))
}

fn loc() -> ObjectLocation {
    ObjectLocation::new(
        "d1",
        5,
        HashConfig::new("p", "s").hash_path("a", Some("c"), Some("o")),
    )
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn fs_backend_conforms() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path());
    conformance::run_all(&b).await;
    assert!(files_under(&tmp.path().join("d1/tmp")).is_empty());
}

#[tokio::test]
async fn layout_is_swift_like() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path());
    let l = loc();
    let obj = NewObject::new("/a/c/o", "1700000000.00000".parse().unwrap(), "text/plain");
    b.put(&l, obj, stream::once("abc"), PutOptions::default())
        .await
        .unwrap();
    let path = tmp.path().join(format!(
        "d1/objects/5/{}/{}/1700000000.00000.data",
        l.hash.suffix(),
        l.hash
    ));
    let raw = std::fs::read(&path).unwrap();
    assert!(raw.starts_with(b"abc"));
    assert!(raw.ends_with(format::MAGIC));
}

#[tokio::test]
async fn interrupted_write_leaves_no_litter() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path());
    let body = fstream::iter(vec![
        Ok(Bytes::from(vec![7u8; 200_000])),
        Err(Error::Unavailable {
            reason: "disconnect".into(),
        }),
    ])
    .boxed();
    let obj = NewObject::new("/a/c/o", "1700000000.00000".parse().unwrap(), "text/plain");
    assert!(b
        .put(&loc(), obj, body, PutOptions::default())
        .await
        .is_err());
    assert!(
        files_under(&tmp.path().join("d1")).is_empty(),
        "{:?}",
        files_under(tmp.path())
    );
    assert_eq!(b.open(&loc()).await.unwrap(), ObjectState::Missing);
}

#[tokio::test]
async fn cancelled_write_leaves_no_litter() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path());
    let (tx, rx) = futures::channel::mpsc::unbounded::<crate::error::Result<Bytes>>();
    tx.unbounded_send(Ok(Bytes::from_static(b"partial")))
        .unwrap();
    let obj = NewObject::new("/a/c/o", "1700000000.00000".parse().unwrap(), "text/plain");
    let l = loc();
    let fut = b.put(&l, obj, rx.boxed(), PutOptions::default());
    // The body never ends; the request is abandoned.
    let r = tokio::time::timeout(std::time::Duration::from_millis(200), fut).await;
    assert!(r.is_err());
    drop(tx);
    assert!(files_under(&tmp.path().join("d1/tmp")).is_empty());
    assert_eq!(b.open(&loc()).await.unwrap(), ObjectState::Missing);
}

#[tokio::test]
async fn bit_rot_is_reported_at_end_of_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path());
    let l = loc();
    let obj = NewObject::new("/a/c/o", "1700000000.00000".parse().unwrap(), "text/plain");
    b.put(&l, obj, stream::once("hello world"), PutOptions::default())
        .await
        .unwrap();
    let data: Vec<String> = files_under(&tmp.path().join("d1/objects"))
        .into_iter()
        .filter(|f| f.ends_with(".data"))
        .collect();
    assert_eq!(data.len(), 1);
    let mut raw = std::fs::read(&data[0]).unwrap();
    raw[0] = b'J';
    std::fs::write(&data[0], raw).unwrap();
    let r = b.read(&l, ReadOptions::default()).await.unwrap();
    let mut s = r.body;
    // The only chunk is withheld: the corrupt bytes never come out.
    assert!(matches!(s.next().await, Some(Err(Error::Corrupt { .. }))));
    assert!(s.next().await.is_none());
    // A range read does not verify.
    let opts = ReadOptions {
        range: Some(crate::object::ByteRange { start: 0, end: 5 }),
        timestamp: None,
    };
    let part = stream::collect(b.read(&l, opts).await.unwrap().body, 100)
        .await
        .unwrap();
    assert_eq!(&part[..], b"Jello");
}

#[tokio::test]
async fn without_mount_check_devices_are_created() {
    let tmp = tempfile::tempdir().unwrap();
    let b = FsObjectBackend::new(config(tmp.path(), false));
    assert!(!b.capabilities().checks_devices);
    assert_eq!(b.open(&loc()).await.unwrap(), ObjectState::Missing);
    let obj = NewObject::new("/a/c/o", "1700000000.00000".parse().unwrap(), "text/plain");
    b.put(&loc(), obj, stream::once("x"), PutOptions::default())
        .await
        .unwrap();
    assert!(tmp.path().join("d1/objects/5").is_dir());
    let bad = ObjectLocation::new("..", 5, loc().hash);
    assert!(matches!(
        b.open(&bad).await,
        Err(Error::InsufficientStorage { .. })
    ));
}

async fn put_at(b: &FsObjectBackend, l: &ObjectLocation, secs: u64) {
    let obj = crate::object::NewObject::new(
        "/a/c/o",
        crate::timestamp::Timestamp::from_ticks(secs * 100_000),
        "text/plain",
    );
    b.put(l, obj, stream::once("data"), Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn suffix_hashes_are_cached_and_invalidated_by_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path());
    let l = loc();
    let suffix = l.hash.suffix();
    let part_dir = tmp.path().join("d1/objects/5");
    put_at(&b, &l, 100).await;
    // The write marked its suffix invalid.
    let invalid = std::fs::read_to_string(part_dir.join("hashes.invalid")).unwrap();
    assert_eq!(invalid.trim(), suffix);
    let real = b.suffix_hashes("d1", 5, &[]).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(part_dir.join("hashes.invalid")).unwrap(),
        ""
    );
    // The cache answers until the suffix is invalid: a planted value shows.
    let planted = format!("{{\"{suffix}\":\"planted\"}}");
    std::fs::write(part_dir.join("hashes.json"), planted).unwrap();
    assert_eq!(
        b.suffix_hashes("d1", 5, &[]).await.unwrap()[&suffix],
        "planted"
    );
    // Asking to recalculate rehashes from the files.
    let again = b
        .suffix_hashes("d1", 5, std::slice::from_ref(&suffix))
        .await
        .unwrap();
    assert_eq!(again, real);
    // So does a write into the suffix.
    std::fs::write(
        part_dir.join("hashes.json"),
        format!("{{\"{suffix}\":\"x\"}}"),
    )
    .unwrap();
    b.delete(&l, crate::timestamp::Timestamp::from_ticks(200 * 100_000))
        .await
        .unwrap();
    let after = b.suffix_hashes("d1", 5, &[]).await.unwrap();
    assert_ne!(after[&suffix], "x");
    assert_ne!(after, real);
    // A corrupt cache file is rebuilt from disk.
    std::fs::write(part_dir.join("hashes.json"), b"{not json").unwrap();
    assert_eq!(b.suffix_hashes("d1", 5, &[]).await.unwrap(), after);
}

#[tokio::test]
async fn quarantine_moves_files_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path());
    let l = loc();
    put_at(&b, &l, 100).await;
    b.quarantine(&l).await.unwrap();
    let q = tmp
        .path()
        .join("d1/quarantined/objects")
        .join(l.hash.to_hex());
    assert_eq!(files_under(&q).len(), 1, "the .data file is kept aside");
    // A second quarantine of the same hash does not clobber the first.
    put_at(&b, &l, 200).await;
    b.quarantine(&l).await.unwrap();
    assert_eq!(
        files_under(&tmp.path().join("d1/quarantined/objects")).len(),
        2
    );
    assert!(b.suffix_hashes("d1", 5, &[]).await.unwrap().is_empty());
}
