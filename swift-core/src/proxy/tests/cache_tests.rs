//! The cache conformance suite against [`MemoryCache`] and, when
//! `FERROSTACK_MEMCACHED` (e.g. `127.0.0.1:11299`) is set, memcached;
//! skipped when unset unless `FERROSTACK_REQUIRE_SERVICES=1`.

use super::*;
use crate::proxy::cache_conformance;

#[tokio::test]
async fn memory_cache_conformance() {
    let clock = Arc::new(TestClock(Mutex::new(SystemTime::now())));
    let cache = MemoryCache::new(clock.clone());
    cache_conformance::run_all(&cache, |d| {
        clock.advance(d);
        async {}
    })
    .await;
}

#[cfg(feature = "memcached")]
mod memcached {
    use super::*;
    use crate::proxy::memcached::wire_key;
    use crate::proxy::{MemcachedCache, MemcachedConfig};

    fn server(test: &str) -> Option<String> {
        match std::env::var("FERROSTACK_MEMCACHED") {
            Ok(s) if !s.is_empty() => Some(s),
            _ => {
                assert!(
                    std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
                    "{test}: FERROSTACK_MEMCACHED is unset but FERROSTACK_REQUIRE_SERVICES=1"
                );
                println!("{test}: skipped (FERROSTACK_MEMCACHED is unset)");
                None
            }
        }
    }

    #[tokio::test]
    async fn memcached_cache_conformance() {
        let Some(addr) = server("memcached_cache_conformance") else {
            return;
        };
        let cache = MemcachedCache::new(MemcachedConfig::new(vec![addr]));
        cache_conformance::run_all(&cache, tokio::time::sleep).await;
    }

    /// Several entries of the ring on one real server still pass: every
    /// key lands on a server that answers.
    #[tokio::test]
    async fn memcached_ring_of_aliases() {
        let Some(addr) = server("memcached_ring_of_aliases") else {
            return;
        };
        let port = addr.rsplit(':').next().unwrap().to_string();
        let servers = vec![addr.clone(), format!("localhost:{port}")];
        let cache = MemcachedCache::new(MemcachedConfig::new(servers));
        let p = uuid::Uuid::new_v4().simple().to_string();
        cache_conformance::set_get(&cache, &p).await;
        cache_conformance::odd_keys(&cache, &p).await;
    }

    #[tokio::test]
    async fn down_server_misses_and_drops_writes() {
        // A port nothing listens on.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let cache = MemcachedCache::new(MemcachedConfig::new(vec![addr]));
        cache.set("k", "v".into(), Duration::from_secs(60)).await;
        assert_eq!(cache.get("k").await, None);
        cache.delete("k").await;
        let none = MemcachedCache::new(MemcachedConfig::new(vec![]));
        none.set("k", "v".into(), Duration::from_secs(60)).await;
        assert_eq!(none.get("k").await, None);
    }

    #[test]
    fn wire_keys_are_valid_and_distinct() {
        assert_eq!(wire_key("AUTH_test/c"), "AUTH_test/c");
        let long = "k".repeat(251);
        for k in ["a b", "", "#x", "ü", long.as_str(), "a\r\n"] {
            let w = wire_key(k);
            assert!(w.starts_with('#') && w.len() <= 250, "{k:?} -> {w}");
            assert!(w.bytes().all(|b| b > b' ' && b < 0x7f));
        }
        assert_ne!(wire_key("a b"), wire_key("a  b"));
        assert_eq!(wire_key(&"k".repeat(250)), "k".repeat(250));
    }

    /// Two proxies sharing one memcached accept each other's tempauth
    /// tokens; with separate in-memory caches they do not.
    #[tokio::test]
    async fn proxies_share_tokens_through_memcached() {
        let Some(addr) = server("proxies_share_tokens_through_memcached") else {
            return;
        };
        let cache: Arc<dyn Cache> = Arc::new(MemcachedCache::new(MemcachedConfig::new(vec![addr])));
        let clock = || Arc::new(TestClock(Mutex::new(SystemTime::now())));
        let a = Harness::with_cache(config(), cache.clone(), clock());
        let b = Harness::with_cache(config(), cache, clock());
        let tok = a.token("test:tester", "testing").await;
        let r = b
            .req(
                "PUT",
                "/v1/AUTH_test/shared",
                &[("x-auth-token", &tok)],
                b"",
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = b
            .req(
                "GET",
                "/v1/AUTH_test",
                &[("x-auth-token", "AUTH_tkbogus")],
                b"",
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text());

        let c = Harness::new();
        let r = c
            .req(
                "PUT",
                "/v1/AUTH_test/shared",
                &[("x-auth-token", &tok)],
                b"",
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.text());
    }
}
