//! The example configs under deploy/ parse and validate.

use std::path::Path;

use swift_server::config::{ProxyServerConfig, StorageServerConfig};

fn deploy(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/swift")
        .join(name)
}

fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let text = std::fs::read_to_string(deploy(name)).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn proxy_example_is_valid() {
    let cfg: ProxyServerConfig = parse("proxy.toml");
    cfg.validate().unwrap();
    assert_eq!(cfg.bind.port(), 8080);
    assert!(cfg.proxy.account_autocreate);
    assert_eq!(cfg.proxy.tempauth.users.len(), 2);
}

#[test]
fn storage_example_is_valid() {
    let cfg: StorageServerConfig = parse("storage-node.toml");
    cfg.validate().unwrap();
    assert_eq!(cfg.bind.port(), 6201);
    assert!(cfg.fsync && cfg.mount_check);
    assert!(cfg.daemons.enabled);
    assert_eq!(cfg.ring_hosts(), vec!["127.0.0.1:6201".to_string()]);
}
