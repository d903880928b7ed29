//! The one conformance suite every [`Cache`] passes: the in-memory cache
//! with a test clock and memcached with real time.
//!
//! Keys carry a random prefix, so runs may share one memcached.

use std::future::Future;
use std::time::Duration;

use super::Cache;

/// Runs every check against `cache`. `elapse(d)` makes `d` pass for the
/// cache: advance an injected clock, or sleep for a real server (expiry
/// checks use TTLs of 1–2 s and elapse 3 s in total).
pub async fn run_all<F, Fut>(cache: &dyn Cache, elapse: F)
where
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    let p = format!("conf-{}-", uuid::Uuid::new_v4().simple());
    absent_keys(cache, &p).await;
    set_get(cache, &p).await;
    overwrite(cache, &p).await;
    delete(cache, &p).await;
    odd_keys(cache, &p).await;
    large_values(cache, &p).await;
    expiry(cache, &p, elapse).await;
}

const LONG: Duration = Duration::from_secs(60);

/// Keys never set, and deleting them, are fine.
pub async fn absent_keys(cache: &dyn Cache, p: &str) {
    let k = format!("{p}absent");
    assert_eq!(cache.get(&k).await, None);
    cache.delete(&k).await;
    assert_eq!(cache.get(&k).await, None);
}

/// A set value reads back; keys are distinct.
pub async fn set_get(cache: &dyn Cache, p: &str) {
    cache.set(&format!("{p}a"), "one".into(), LONG).await;
    cache.set(&format!("{p}b"), "two".into(), LONG).await;
    cache.set(&format!("{p}empty"), String::new(), LONG).await;
    assert_eq!(cache.get(&format!("{p}a")).await.as_deref(), Some("one"));
    assert_eq!(cache.get(&format!("{p}b")).await.as_deref(), Some("two"));
    assert_eq!(cache.get(&format!("{p}empty")).await.as_deref(), Some(""));
    assert_eq!(cache.get(&format!("{p}c")).await, None);
}

/// A second set replaces the first.
pub async fn overwrite(cache: &dyn Cache, p: &str) {
    let k = format!("{p}over");
    cache.set(&k, "first".into(), LONG).await;
    cache.set(&k, "second".into(), LONG).await;
    assert_eq!(cache.get(&k).await.as_deref(), Some("second"));
}

/// Delete removes one key only.
pub async fn delete(cache: &dyn Cache, p: &str) {
    let (k, other) = (format!("{p}del"), format!("{p}keep"));
    cache.set(&k, "x".into(), LONG).await;
    cache.set(&other, "y".into(), LONG).await;
    cache.delete(&k).await;
    assert_eq!(cache.get(&k).await, None);
    assert_eq!(cache.get(&other).await.as_deref(), Some("y"));
}

/// Spaces, control characters, non-ASCII, the empty key and keys past
/// memcached's 250 bytes all work and stay distinct.
pub async fn odd_keys(cache: &dyn Cache, p: &str) {
    let long_a = format!("{p}{}", "a".repeat(300));
    let long_b = format!("{p}{}b", "a".repeat(299));
    let keys = [
        format!("{p}with space"),
        format!("{p}with\r\nset x 0 0 1\r\n"),
        format!("{p}tab\there"),
        format!("{p}ключ/ü/✓"),
        format!("{p}#hash"),
        p.to_string(),
        long_a,
        long_b,
        String::new(),
    ];
    for (i, k) in keys.iter().enumerate() {
        cache.set(k, format!("v{i}"), LONG).await;
    }
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(cache.get(k).await, Some(format!("v{i}")), "key {k:?}");
    }
    for k in &keys {
        cache.delete(k).await;
        assert_eq!(cache.get(k).await, None, "key {k:?}");
    }
}

/// Values up to 100 KB, including line breaks, round-trip exactly.
pub async fn large_values(cache: &dyn Cache, p: &str) {
    let k = format!("{p}big");
    let v: String = (0..100 * 1024)
        .map(|i| match i % 64 {
            0 => '\r',
            1 => '\n',
            n => char::from(b'a' + (n % 26) as u8),
        })
        .collect();
    cache.set(&k, v.clone(), LONG).await;
    assert_eq!(cache.get(&k).await.map(|g| g == v), Some(true));
    let k2 = format!("{p}unicode");
    let v2 = "ü✓\r\nEND\r\n".repeat(1000);
    cache.set(&k2, v2.clone(), LONG).await;
    assert_eq!(cache.get(&k2).await, Some(v2));
}

/// Entries vanish after their TTL; a zero TTL stores nothing readable.
pub async fn expiry<F, Fut>(cache: &dyn Cache, p: &str, elapse: F)
where
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    let (short, long, zero) = (format!("{p}short"), format!("{p}long"), format!("{p}zero"));
    cache.set(&short, "s".into(), Duration::from_secs(2)).await;
    cache.set(&long, "l".into(), LONG).await;
    cache.set(&zero, "z".into(), Duration::ZERO).await;
    assert_eq!(cache.get(&short).await.as_deref(), Some("s"));
    assert_eq!(cache.get(&zero).await, None);
    elapse(Duration::from_secs(3)).await;
    assert_eq!(cache.get(&short).await, None);
    assert_eq!(cache.get(&long).await.as_deref(), Some("l"));
    // A set after expiry stores afresh.
    cache.set(&short, "again".into(), LONG).await;
    assert_eq!(cache.get(&short).await.as_deref(), Some("again"));
}
