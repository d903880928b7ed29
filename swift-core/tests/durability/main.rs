//! Durability in one process: storage nodes on the filesystem behind the
//! in-process node client and a proxy, with the object replicator and
//! auditor run pass by pass.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use swift_core::daemon::{Daemon, PassReport};
use swift_core::hash::{HashConfig, PathHash};
use swift_core::node::{
    AccountServer, ContainerServer, InProcessNodeClient, NodeClient, NodeConfig, ObjectAuditor,
    ObjectAuditorConfig, ObjectReplicator, ObjectReplicatorConfig, ObjectServer, StorageNode,
};
use swift_core::object::{
    FsObjectBackend, ObjectBackend, ObjectLocation, ObjectState, ReadOptions,
};
use swift_core::proxy::{Proxy, ProxyConfig, TempAuthUser};
use swift_core::ring::{DeviceSpec, RebalanceOptions, RingBuilder, RingKind, Rings};
use swift_core::stream::{full_body, SwiftBody};

mod auditor;
#[cfg(feature = "http-client")]
mod over_http;
mod replicator;
mod resume;

const PART_POWER: u8 = 4;

#[allow(missing_debug_implementations)]
pub struct Cluster {
    _dir: tempfile::TempDir,
    pub client: Arc<InProcessNodeClient>,
    pub rings: Arc<Rings>,
    pub proxy: Proxy,
    pub hosts: Vec<String>,
    pub roots: Vec<PathBuf>,
    pub backends: Vec<Arc<dyn ObjectBackend>>,
    pub hash: HashConfig,
    token: String,
}

fn ring(hosts: &[String]) -> swift_core::ring::Ring {
    let mut b = RingBuilder::create(PART_POWER, 3, 0).unwrap();
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

pub async fn cluster(nodes: usize) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let hash = HashConfig::new("pre", "suf");
    let hosts: Vec<String> = (0..nodes)
        .map(|i| format!("127.0.0.1:{}", 6201 + i))
        .collect();
    let rings = Arc::new(Rings::new(ring(&hosts), ring(&hosts), ring(&hosts)));
    let client = Arc::new(InProcessNodeClient::new());
    let dyn_client: Arc<dyn NodeClient> = client.clone();
    let (mut roots, mut backends) = (Vec::new(), Vec::new());
    for (i, host) in hosts.iter().enumerate() {
        let devices = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(devices.join("d1")).unwrap();
        let cfg = NodeConfig {
            devices: devices.clone(),
            mount_check: true,
            hash: hash.clone(),
            fsync: false,
        };
        let backend: Arc<dyn ObjectBackend> = Arc::new(FsObjectBackend::new(cfg.clone()));
        let object = Arc::new(ObjectServer::new(
            cfg.clone(),
            rings.clone(),
            backend.clone(),
            dyn_client.clone(),
        ));
        let container = Arc::new(ContainerServer::new(
            cfg.clone(),
            rings.clone(),
            dyn_client.clone(),
        ));
        let account = Arc::new(AccountServer::new(cfg));
        client.register(host.clone(), StorageNode::new(object, container, account));
        roots.push(devices);
        backends.push(backend);
    }
    let mut config = ProxyConfig {
        hash: hash.clone(),
        ..ProxyConfig::default()
    };
    config.tempauth.users = vec![TempAuthUser {
        account: "test".into(),
        user: "tester".into(),
        key: "testing".into(),
        groups: vec![".admin".into()],
    }];
    let proxy = Proxy::new(config, rings.clone(), dyn_client).unwrap();
    let mut c = Cluster {
        _dir: dir,
        client,
        rings,
        proxy,
        hosts,
        roots,
        backends,
        hash,
        token: String::new(),
    };
    let r = c
        .call(
            Method::GET,
            "/auth/v1.0",
            &[("x-auth-user", "test:tester"), ("x-auth-key", "testing")],
            Bytes::new(),
        )
        .await;
    c.token = r.headers["x-auth-token"].to_str().unwrap().to_string();
    let r = c.object(Method::PUT, "", Bytes::new()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    c
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    /// The body, or the error that cut it.
    pub body: Result<Bytes, String>,
}

impl Cluster {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", "127.0.0.1:8080");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if method == Method::PUT || method == Method::POST {
            b = b.header("content-length", body.len());
        }
        let req: Request<SwiftBody> = b.body(full_body(body)).unwrap();
        let resp = self.proxy.handle(req).await;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|e| e.to_string());
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// A request for `/v1/AUTH_test/c/<name>` (the container when empty).
    pub async fn object(&self, method: Method, name: &str, body: Bytes) -> Resp {
        let path = if name.is_empty() {
            "/v1/AUTH_test/c".to_string()
        } else {
            format!("/v1/AUTH_test/c/{name}")
        };
        self.call(method, &path, &[("x-auth-token", &self.token)], body)
            .await
    }

    pub async fn put(&self, name: &str, data: &str) {
        let r = self
            .object(Method::PUT, name, Bytes::from(data.to_string()))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "PUT {name}");
    }

    pub fn set_up(&self, node: usize, up: bool) {
        self.client.set_up(&self.hosts[node], up);
    }

    pub fn hash_of(&self, name: &str) -> PathHash {
        self.hash.hash_path("AUTH_test", Some("c"), Some(name))
    }

    pub fn loc(&self, name: &str) -> ObjectLocation {
        let hash = self.hash_of(name);
        let part = self.rings.get(RingKind::Object).partition_of(&hash);
        ObjectLocation::new("d1", part, hash)
    }

    /// Which nodes are primaries for an object.
    pub fn primaries(&self, name: &str) -> Vec<usize> {
        let ring = self.rings.get(RingKind::Object);
        let part = self.loc(name).partition;
        ring.primary_nodes(part)
            .iter()
            .map(|n| {
                self.hosts
                    .iter()
                    .position(|h| *h == n.device.host())
                    .unwrap()
            })
            .collect()
    }

    pub async fn state(&self, node: usize, name: &str) -> ObjectState {
        self.backends[node].open(&self.loc(name)).await.unwrap()
    }

    /// The bytes a node holds for an object, if it holds data.
    pub async fn bytes(&self, node: usize, name: &str) -> Option<Bytes> {
        let r = self.backends[node]
            .read(&self.loc(name), ReadOptions::default())
            .await
            .ok()?;
        swift_core::stream::collect(r.body, 1 << 24).await.ok()
    }

    pub fn replicator(&self, node: usize, config: ObjectReplicatorConfig) -> ObjectReplicator {
        ObjectReplicator::new(
            config,
            self.hosts[node].clone(),
            self.rings.clone(),
            self.backends[node].clone(),
            self.client.clone(),
        )
        .unwrap()
    }

    pub fn auditor(&self, node: usize, config: ObjectAuditorConfig) -> ObjectAuditor {
        ObjectAuditor::new(
            config,
            self.hosts[node].clone(),
            self.rings.clone(),
            self.hash.clone(),
            self.backends[node].clone(),
        )
        .unwrap()
    }

    /// One replicator pass with the default config on a node.
    pub async fn replicate(&self, node: usize) -> PassReport {
        let r = self.replicator(node, ObjectReplicatorConfig::default());
        assert_eq!(r.name(), "object-replicator");
        r.run_once().await.unwrap()
    }

    /// The `.data` file of an object on a node.
    pub fn data_file(&self, node: usize, name: &str) -> PathBuf {
        let loc = self.loc(name);
        let dir = self.roots[node]
            .join("d1/objects")
            .join(loc.partition.to_string())
            .join(loc.hash.suffix())
            .join(loc.hash.to_hex());
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "data"))
            .unwrap()
    }

    /// Flips one bit of an object's body on a node.
    pub fn corrupt(&self, node: usize, name: &str) {
        let path = self.data_file(node, name);
        let mut raw = std::fs::read(&path).unwrap();
        raw[0] ^= 0x01;
        std::fs::write(&path, raw).unwrap();
    }

    /// Every node's suffix hashes of every partition.
    pub async fn all_hashes(&self, node: usize) -> Vec<(u32, swift_core::object::SuffixHashes)> {
        let mut out = Vec::new();
        for part in 0..(1u32 << PART_POWER) {
            let h = self.backends[node]
                .suffix_hashes("d1", part, &[])
                .await
                .unwrap();
            if !h.is_empty() {
                out.push((part, h));
            }
        }
        out
    }
}
