//! The conformance suite every [`VolumeDriver`] must pass. Scenarios use
//! fresh volume ids and delete what they create.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::VolumeDriver;
use crate::error::Error;
use crate::model::VolumeId;

/// Runs every scenario against `d`.
pub async fn run_all(d: &dyn VolumeDriver) {
    create_then_size_and_export(d).await;
    create_twice_is_already_exists(d).await;
    concurrent_creates_one_wins(d).await;
    zero_size_is_invalid(d).await;
    extend_grows_only(d).await;
    delete_is_idempotent_and_forgets(d).await;
    unknown_volume_is_not_found(d).await;
}

/// A new volume has its size and an export for its id.
pub async fn create_then_size_and_export(d: &dyn VolumeDriver) {
    let id = VolumeId::new_v4();
    d.create(&id, 1).await.unwrap();
    assert_eq!(d.size_gb(&id).await.unwrap(), 1);
    let c = d.export(&id).await.unwrap();
    assert_eq!(c.volume_id, id);
    assert!(!c.path.as_os_str().is_empty());
    assert!(matches!(c.format.as_str(), "qcow2" | "raw"), "{}", c.format);
    d.delete(&id).await.unwrap();
}

/// Creating an existing id is `AlreadyExists` and keeps the volume.
pub async fn create_twice_is_already_exists(d: &dyn VolumeDriver) {
    let id = VolumeId::new_v4();
    d.create(&id, 1).await.unwrap();
    let e = d.create(&id, 2).await.unwrap_err();
    assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    assert_eq!(d.size_gb(&id).await.unwrap(), 1);
    d.delete(&id).await.unwrap();
}

/// Of two concurrent creates of one id exactly one succeeds.
pub async fn concurrent_creates_one_wins(d: &dyn VolumeDriver) {
    let id = VolumeId::new_v4();
    let (a, b) = tokio::join!(d.create(&id, 1), d.create(&id, 1));
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    for r in [a, b] {
        if let Err(e) = r {
            assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        }
    }
    d.delete(&id).await.unwrap();
}

/// Size 0 is `InvalidInput` and creates nothing.
pub async fn zero_size_is_invalid(d: &dyn VolumeDriver) {
    let id = VolumeId::new_v4();
    let e = d.create(&id, 0).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    assert!(matches!(d.size_gb(&id).await, Err(Error::NotFound { .. })));
}

/// Extend grows; the same or a smaller size is `InvalidInput`.
pub async fn extend_grows_only(d: &dyn VolumeDriver) {
    let id = VolumeId::new_v4();
    d.create(&id, 1).await.unwrap();
    d.extend(&id, 2).await.unwrap();
    assert_eq!(d.size_gb(&id).await.unwrap(), 2);
    for bad in [1, 2] {
        let e = d.extend(&id, bad).await.unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    }
    assert_eq!(d.size_gb(&id).await.unwrap(), 2);
    d.delete(&id).await.unwrap();
}

/// After delete the volume is gone; deleting again is `Ok`.
pub async fn delete_is_idempotent_and_forgets(d: &dyn VolumeDriver) {
    let id = VolumeId::new_v4();
    d.create(&id, 1).await.unwrap();
    d.delete(&id).await.unwrap();
    d.delete(&id).await.unwrap();
    assert!(matches!(d.size_gb(&id).await, Err(Error::NotFound { .. })));
    assert!(matches!(d.export(&id).await, Err(Error::NotFound { .. })));
    // The id can be reused.
    d.create(&id, 1).await.unwrap();
    d.delete(&id).await.unwrap();
}

/// Every call on an unknown id but delete is `NotFound`.
pub async fn unknown_volume_is_not_found(d: &dyn VolumeDriver) {
    let id = VolumeId::new_v4();
    assert!(matches!(d.size_gb(&id).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        d.extend(&id, 5).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(d.export(&id).await, Err(Error::NotFound { .. })));
    d.delete(&id).await.unwrap();
}
