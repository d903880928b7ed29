//! Building the servers from configuration: the storage node (object,
//! container and account servers plus their background loops) and the
//! proxy. Shared by `swift-storage`, `swift-proxy` and `ferrostack up`.
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
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

/// Starts a node's background loops: the container updater (container
/// stats to accounts) and the retry of async-pending container updates.
/// They stop when `shutdown` is cancelled.
pub fn spawn_storage_daemons(
    node: &StorageNode,
    updater_interval: Duration,
    async_pending_interval: Duration,
    shutdown: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let updater = node.container_server().spawn_updater(updater_interval);
    let object = node.object_server().clone();
    let stop = shutdown.clone();
    let retry = tokio::spawn(async move {
        let mut tick = tokio::time::interval(async_pending_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => match object.process_async_pendings_once().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sent = n, "async pendings processed"),
                    Err(e) => tracing::warn!(error = %e, "async pending pass failed"),
                },
            }
        }
    });
    // The updater has no stop hook of its own: abort it on shutdown.
    let abort = updater.abort_handle();
    let watcher = tokio::spawn(async move {
        shutdown.cancelled().await;
        abort.abort();
    });
    vec![updater, retry, watcher]
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
