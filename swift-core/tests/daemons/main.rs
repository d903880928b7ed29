//! The node daemons on several in-process storage nodes: database
//! replication, auditors, updaters, the runner and recon.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use swift_core::db::{self, AccountBroker, ContainerBroker, ListingParams, ObjectRecord};
use swift_core::hash::HashConfig;
use swift_core::node::{
    AccountServer, ContainerServer, InProcessNodeClient, NodeClient, NodeConfig, ObjectServer,
    StorageNode,
};
use swift_core::object::FsObjectBackend;
use swift_core::ring::{DeviceSpec, RebalanceOptions, Ring, RingBuilder, RingKind, Rings};
use swift_core::timestamp::Timestamp;

mod auditor;
mod db_repl;
mod updaters;

pub(crate) struct Node {
    pub(crate) host: String,
    pub(crate) cfg: NodeConfig,
    pub(crate) storage: StorageNode,
}

pub(crate) struct Cluster {
    _dir: tempfile::TempDir,
    pub(crate) client: Arc<InProcessNodeClient>,
    pub(crate) rings: Arc<Rings>,
    pub(crate) nodes: Vec<Node>,
}

pub(crate) fn ring(hosts: &[String], replicas: usize) -> Ring {
    let mut b = RingBuilder::create(4, replicas, 0).unwrap();
    for (i, h) in hosts.iter().enumerate() {
        let (ip, port) = h.split_once(':').unwrap();
        b.add(DeviceSpec::new(
            1,
            i as u8 + 1,
            ip,
            port.parse().unwrap(),
            "d1",
            1.0,
        ))
        .unwrap();
    }
    b.rebalance(&RebalanceOptions::at(1_700_000_000, 7))
        .unwrap();
    b.build()
}

/// `n` nodes with one device `d1` each, rings of 3 replicas over all.
pub(crate) fn cluster(n: usize) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let hash = HashConfig::new("pre", "suf");
    let hosts: Vec<String> = (0..n).map(|i| format!("127.0.0.1:{}", 6301 + i)).collect();
    let rings = Arc::new(Rings::new(
        ring(&hosts, 3),
        ring(&hosts, 3),
        ring(&hosts, 3),
    ));
    let client = Arc::new(InProcessNodeClient::new());
    let dyn_client: Arc<dyn NodeClient> = client.clone();
    let mut nodes = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        let devices = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(devices.join("d1")).unwrap();
        let cfg = NodeConfig {
            devices,
            mount_check: true,
            hash: hash.clone(),
            fsync: false,
        };
        let backend = Arc::new(FsObjectBackend::new(cfg.clone()));
        let object = Arc::new(ObjectServer::new(
            cfg.clone(),
            rings.clone(),
            backend,
            dyn_client.clone(),
        ));
        let container = Arc::new(ContainerServer::new(
            cfg.clone(),
            rings.clone(),
            dyn_client.clone(),
        ));
        let account = Arc::new(AccountServer::new(cfg.clone()));
        let storage = StorageNode::new(object, container, account);
        client.register(host.clone(), storage.clone());
        nodes.push(Node {
            host: host.clone(),
            cfg,
            storage,
        });
    }
    Cluster {
        _dir: dir,
        client,
        rings,
        nodes,
    }
}

impl Cluster {
    pub(crate) fn client(&self) -> Arc<dyn NodeClient> {
        self.client.clone()
    }

    pub(crate) fn container_part(&self, account: &str, container: &str) -> u32 {
        self.rings.get(RingKind::Container).partition_for(
            &self.nodes[0].cfg.hash,
            account,
            Some(container),
            None,
        )
    }

    pub(crate) fn account_part(&self, account: &str) -> u32 {
        self.rings.get(RingKind::Account).partition_for(
            &self.nodes[0].cfg.hash,
            account,
            None,
            None,
        )
    }

    /// Indexes of the nodes holding the primaries of a container.
    pub(crate) fn container_primaries(&self, account: &str, container: &str) -> Vec<usize> {
        let ring = self.rings.get(RingKind::Container);
        let part = self.container_part(account, container);
        ring.primary_nodes(part)
            .iter()
            .map(|n| {
                self.nodes
                    .iter()
                    .position(|x| x.host == n.device.host())
                    .unwrap()
            })
            .collect()
    }

    pub(crate) fn container(&self, i: usize, account: &str, container: &str) -> ContainerBroker {
        let part = self.container_part(account, container);
        db::container_broker(&self.nodes[i].cfg, "d1", part, account, container)
    }

    pub(crate) fn account(&self, i: usize, account: &str) -> AccountBroker {
        db::account_broker(
            &self.nodes[i].cfg,
            "d1",
            self.account_part(account),
            account,
        )
    }

    pub(crate) fn devices(&self, i: usize) -> PathBuf {
        self.nodes[i].cfg.devices.clone()
    }
}

/// A timestamp `t` ticks after an hour ago: recent enough that no
/// deletion is older than the reclaim age.
pub(crate) fn ts(t: u64) -> Timestamp {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| Timestamp::now().ticks() - 3600 * 100_000);
    Timestamp::from_ticks(base + t)
}

pub(crate) fn obj(name: &str, ticks: u64) -> ObjectRecord {
    ObjectRecord {
        name: name.into(),
        created_at: ts(ticks),
        size: 3,
        content_type: "text/plain".into(),
        etag: "etag".into(),
        deleted: false,
        storage_policy_index: 0,
    }
}

pub(crate) async fn names(b: &ContainerBroker) -> Vec<String> {
    b.list_objects(ListingParams::default(), 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e {
            db::ListingEntry::Item(o) => o.name,
            db::ListingEntry::Subdir(s) => s,
        })
        .collect()
}
