//! Building the servers from configuration: the storage node (object,
//! container and account servers; its daemons are in [`crate::daemons`])
//! and the proxy. Shared by `swift-storage`, `swift-proxy` and `ferrostack up`.
//!
//! This is the one place that calls the other helpers' constructors.

use std::sync::Arc;
use std::time::Duration;

use swift_core::client::HttpNodeClient;
use swift_core::node::{
    AccountServer, ContainerServer, NodeClient, NodeConfig, ObjectServer, StorageNode,
};
use swift_core::object::{FsObjectBackend, ObjectBackend};
use swift_core::proxy::{
    Cache, MemcachedCache, MemcachedConfig, MemoryCache, Proxy, ProxyConfig, SystemClock,
};
use swift_core::ring::Rings;

/// The HTTP client nodes and proxies use to reach storage nodes.
pub fn http_client(
    connect_timeout: Duration,
    node_timeout: Duration,
) -> anyhow::Result<Arc<dyn NodeClient>> {
    Ok(Arc::new(HttpNodeClient::new(
        connect_timeout,
        node_timeout,
    )?))
}

/// A storage node over the filesystem devices of `config`.
pub fn build_storage_node(
    config: NodeConfig,
    rings: Arc<Rings>,
    client: Arc<dyn NodeClient>,
) -> StorageNode {
    let backend: Arc<dyn ObjectBackend> = Arc::new(FsObjectBackend::new(config.clone()));
    let object = ObjectServer::new(config.clone(), rings.clone(), backend, client.clone());
    let container = ContainerServer::new(config.clone(), rings, client);
    let account = AccountServer::new(config);
    StorageNode::new(Arc::new(object), Arc::new(container), Arc::new(account))
}

/// The proxy, caching in this process's memory.
pub fn build_proxy(
    config: ProxyConfig,
    rings: Arc<Rings>,
    client: Arc<dyn NodeClient>,
) -> anyhow::Result<Proxy> {
    build_proxy_with_memcache(config, rings, client, &[])
}

/// The proxy, caching tokens and info in the memcached `servers` (shared
/// with other proxies), or in memory when there are none.
pub fn build_proxy_with_memcache(
    config: ProxyConfig,
    rings: Arc<Rings>,
    client: Arc<dyn NodeClient>,
    servers: &[String],
) -> anyhow::Result<Proxy> {
    let clock = Arc::new(SystemClock);
    let cache: Arc<dyn Cache> = if servers.is_empty() {
        Arc::new(MemoryCache::new(clock.clone()))
    } else {
        Arc::new(MemcachedCache::new(MemcachedConfig::new(servers.to_vec())))
    };
    Ok(Proxy::with_parts(config, rings, client, cache, clock)?)
}
