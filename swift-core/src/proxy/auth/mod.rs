//! Authentication for the proxy: a pluggable cache and clock, and tempauth.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub(crate) mod keystone;
pub(crate) mod tempauth;

pub use keystone::{KeystoneAuthConfig, KeystoneIdentity, KeystoneValidator};

/// The wall clock, injectable so tests can move time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A string key-value cache with expiry, shared by the proxy's token and
/// info caches. In memory by default; memcached can implement it for
/// several proxies.
#[async_trait]
pub trait Cache: Send + Sync + fmt::Debug + 'static {
    /// The value of `key`, unless absent or expired.
    async fn get(&self, key: &str) -> Option<String>;
    /// Stores `value` under `key` for `ttl`, replacing any earlier value.
    async fn set(&self, key: &str, value: String, ttl: Duration);
    /// Removes `key`; absent keys are fine.
    async fn delete(&self, key: &str);
}

/// A [`Cache`] in this process's memory; expired entries are dropped when
/// read and swept when the map grows.
#[derive(Debug)]
pub struct MemoryCache {
    clock: Arc<dyn Clock>,
    map: Mutex<HashMap<String, (String, SystemTime)>>,
}

impl MemoryCache {
    /// An empty cache using `clock` for expiry.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            map: Mutex::new(HashMap::new()),
        }
    }
}

/// Entries past which a set sweeps expired ones.
const SWEEP_AT: usize = 10_000;

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Option<String> {
        let now = self.clock.now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((v, exp)) if *exp > now => Some(v.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    async fn set(&self, key: &str, value: String, ttl: Duration) {
        let now = self.clock.now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, exp)| *exp > now);
        }
        map.insert(key.to_string(), (value, now + ttl));
    }

    async fn delete(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

/// Who made a request, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `account:user`.
    pub user: String,
    /// Groups: `account:user`, `account`, the configured groups and, for
    /// `.admin` users, the account they own (`AUTH_account`).
    pub groups: Vec<String>,
    /// Accounts this identity may only read (GET and HEAD), e.g. through a
    /// Keystone reader role.
    pub read_only: Vec<String>,
}

impl Identity {
    /// Whether the identity is in `group`.
    pub fn has_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(Mutex<SystemTime>);
    impl Clock for Fixed {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    #[tokio::test]
    async fn memory_cache_expires() {
        let clock = Arc::new(Fixed(Mutex::new(SystemTime::UNIX_EPOCH)));
        let cache = MemoryCache::new(clock.clone());
        cache.set("k", "v".into(), Duration::from_secs(10)).await;
        assert_eq!(cache.get("k").await.as_deref(), Some("v"));
        *clock.0.lock().unwrap() += Duration::from_secs(10);
        assert_eq!(cache.get("k").await, None);
        cache.set("k", "w".into(), Duration::from_secs(10)).await;
        cache.delete("k").await;
        assert_eq!(cache.get("k").await, None);
    }
}
