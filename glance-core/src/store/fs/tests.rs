use bytes::Bytes;
use futures::StreamExt;

use super::*;
use crate::store::conformance;
use crate::stream;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn fs_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsImageStore::open(FsImageStoreConfig::new(dir.path().join("images"))).unwrap();
    conformance::run_all(&store).await;
    assert!(names(store.dir())
        .iter()
        .all(|n| !n.starts_with(TMP_PREFIX)));
}

#[tokio::test]
async fn failed_and_cancelled_puts_leave_no_litter() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsImageStore::open(FsImageStoreConfig::new(dir.path())).unwrap();
    let id = ImageId::new_v4();
    let failing = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(Error::Unavailable {
            reason: "cut".into(),
        }),
    ])
    .boxed();
    assert!(store
        .put(&id, failing, PutOptions::default())
        .await
        .is_err());
    let r = store
        .put(
            &id,
            stream::once("toolong"),
            PutOptions::default().max_size(3),
        )
        .await;
    assert!(matches!(r, Err(Error::QuotaExceeded { .. })));
    // A put whose stream never ends, dropped midway.
    let pending = futures::stream::iter(vec![Ok(Bytes::from_static(b"x"))])
        .chain(futures::stream::pending())
        .boxed();
    let put = store.put(&id, pending, PutOptions::default());
    let timed = tokio::time::timeout(std::time::Duration::from_millis(50), put).await;
    assert!(timed.is_err());
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

#[tokio::test]
async fn location_is_a_file_url_and_open_cleans_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{TMP_PREFIX}crashed")), b"x").unwrap();
    let store = FsImageStore::open(FsImageStoreConfig::new(dir.path())).unwrap();
    assert!(names(dir.path()).is_empty());
    let id = ImageId::new_v4();
    let stored = store
        .put(&id, stream::once("abc"), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(
        stored.location,
        format!("file://{}/{id}", dir.path().display())
    );
    assert_eq!(names(dir.path()), vec![id.to_string()]);
}

#[test]
fn config_validates_and_deserializes() {
    assert!(FsImageStoreConfig::new("").validate().is_err());
    let c: FsImageStoreConfig = serde_json::from_str(r#"{"dir":"/x"}"#).unwrap();
    assert!(c.fsync);
    assert!(serde_json::from_str::<FsImageStoreConfig>(r#"{"dir":"/x","bogus":1}"#).is_err());
}
