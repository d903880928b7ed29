//! Two proxies built with `memcache_servers` share tempauth tokens through
//! memcached (`FERROSTACK_MEMCACHED`, e.g. `127.0.0.1:11299`); skipped when
//! unset unless `FERROSTACK_REQUIRE_SERVICES=1`.

use std::time::{SystemTime, UNIX_EPOCH};

use swift_core::node::NodeClient;
use swift_core::proxy::{Proxy, ProxyConfig, TempAuthUser};
use swift_core::stream;
use swift_server::services::{build_proxy_with_memcache, http_client};

use super::storage_node::rings;

fn config(user: &str) -> ProxyConfig {
    let mut c = ProxyConfig::default();
    c.tempauth.users = vec![TempAuthUser {
        account: "test".into(),
        user: user.into(),
        key: "testing".into(),
        groups: vec![".admin".into()],
    }];
    c
}

async fn token(proxy: &Proxy, user: &str) -> String {
    let req = http::Request::builder()
        .uri("/auth/v1.0")
        .header("host", "proxy.test")
        .header("x-auth-user", format!("test:{user}"))
        .header("x-auth-key", "testing")
        .body(stream::full_body(Vec::new()))
        .unwrap();
    let resp = proxy.handle(req).await;
    assert_eq!(resp.status(), 200);
    resp.headers()["x-auth-token"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn proxies_with_memcache_servers_share_tokens() {
    let Some(addr) = std::env::var("FERROSTACK_MEMCACHED")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        assert!(
            std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "FERROSTACK_MEMCACHED is unset but FERROSTACK_REQUIRE_SERVICES=1"
        );
        println!(
            "proxies_with_memcache_servers_share_tokens: skipped (FERROSTACK_MEMCACHED is unset)"
        );
        return;
    };
    // A user no other run has, so the cached token is this test's.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let user = format!("u{}x{nanos}", std::process::id());
    let client = || -> std::sync::Arc<dyn NodeClient> {
        http_client(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(1),
        )
        .unwrap()
    };
    let servers = [addr];
    let a = build_proxy_with_memcache(config(&user), rings(), client(), &servers).unwrap();
    let b = build_proxy_with_memcache(config(&user), rings(), client(), &servers).unwrap();
    let tok = token(&a, &user).await;
    // tempauth hands out the user's cached token: b sees a's.
    assert_eq!(token(&b, &user).await, tok);
    // Without memcached each proxy has its own.
    let c = build_proxy_with_memcache(config(&user), rings(), client(), &[]).unwrap();
    assert_ne!(token(&c, &user).await, tok);
}
