//! The Swift store against a real cluster in this process: three storage
//! nodes and a tempauth proxy, each served over HTTP on a loopback port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use swift_core::hash::HashConfig;
use swift_core::node::NodeConfig;
use swift_core::proxy::{ProxyConfig, TempAuthUser};
use swift_core::ring::{DeviceSpec, RebalanceOptions, RingBuilder, Rings};
use swift_server::services::{build_proxy, build_storage_node, http_client};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::store::{conformance, ByteRange};
use crate::stream;

const USER: &str = "glance:svc";
const KEY: &str = "s3cr3t";

pub(crate) struct Cluster {
    _dir: tempfile::TempDir,
    pub(crate) proxy: SocketAddr,
    stop: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// Starts three storage nodes and a proxy with the tempauth user
/// `glance:svc` (group `.admin`), all on ephemeral ports.
pub(crate) async fn cluster() -> Cluster {
    cluster_with(|p| p).await
}

/// [`cluster`] with the proxy adjusted by `configure` (e.g. S3 on).
pub(crate) async fn cluster_with(
    configure: impl FnOnce(swift_core::proxy::Proxy) -> swift_core::proxy::Proxy,
) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let stop = CancellationToken::new();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(listener().await);
    }
    let ring = || {
        let mut b = RingBuilder::create(6, 3, 0).unwrap();
        for (i, (_, addr)) in nodes.iter().enumerate() {
            let spec = DeviceSpec::new(
                1,
                i as u8 + 1,
                addr.ip().to_string(),
                addr.port(),
                "d1",
                1.0,
            );
            b.add(spec).unwrap();
        }
        b.rebalance(&RebalanceOptions::at(1_700_000_000, 7))
            .unwrap();
        b.build()
    };
    let rings = Arc::new(Rings::new(ring(), ring(), ring()));
    let hash = HashConfig::new("pre", "suf");
    let client = http_client(Duration::from_secs(2), Duration::from_secs(20)).unwrap();
    for (i, (l, _)) in nodes.into_iter().enumerate() {
        let devices = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(devices.join("d1")).unwrap();
        let cfg = NodeConfig {
            devices,
            mount_check: true,
            hash: hash.clone(),
            fsync: false,
        };
        let node = build_storage_node(cfg, rings.clone(), client.clone());
        let router = swift_server::storage_router(node);
        server_runtime::RunningServer::spawn(format!("node{i}"), l, router, stop.clone()).unwrap();
    }
    let mut config = ProxyConfig {
        hash,
        account_autocreate: true,
        ..ProxyConfig::default()
    };
    config.tempauth.users.push(TempAuthUser {
        account: "glance".into(),
        user: "svc".into(),
        key: KEY.into(),
        groups: vec![".admin".into()],
    });
    let proxy = configure(build_proxy(config, rings, client).unwrap());
    let (l, proxy_addr) = listener().await;
    server_runtime::RunningServer::spawn(
        "proxy",
        l,
        swift_server::proxy_router(proxy),
        stop.clone(),
    )
    .unwrap();
    Cluster {
        _dir: dir,
        proxy: proxy_addr,
        stop,
    }
}

fn tempauth(proxy: SocketAddr, key: &str) -> SwiftAuthConfig {
    SwiftAuthConfig::Tempauth {
        auth_url: format!("http://{proxy}/auth/v1.0"),
        user: USER.into(),
        key: remote::Secret::new(key),
    }
}

fn segmented(proxy: SocketAddr) -> SwiftStoreConfig {
    SwiftStoreConfig {
        large_object_size: 120_000,
        segment_size: 64 * 1024,
        ..SwiftStoreConfig::new(tempauth(proxy, KEY))
    }
}

#[tokio::test]
async fn swift_store_conforms_with_segments() {
    let c = cluster().await;
    let store = SwiftImageStore::new(segmented(c.proxy)).unwrap();
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn swift_store_conforms_with_single_puts_in_one_container() {
    let c = cluster().await;
    let config = SwiftStoreConfig {
        container: "images".into(),
        segment_container: Some("images".into()),
        ..SwiftStoreConfig::new(tempauth(c.proxy, KEY))
    };
    let store = SwiftImageStore::new(config).unwrap();
    conformance::run_all(&store).await;
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

/// Lists a container's object names straight from the proxy.
async fn listing(store: &SwiftImageStore, container: &str) -> Vec<String> {
    let session = store.auth.session().await.unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}/{container}?format=json", session.storage_url))
        .header("x-auth-token", session.token.expose())
        .send()
        .await
        .unwrap();
    if resp.status() == 404 {
        return Vec::new();
    }
    let v: Vec<serde_json::Value> = resp.json().await.unwrap();
    v.iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn segmented_put_writes_segments_and_a_manifest_and_cleans_up() {
    let c = cluster().await;
    let store = SwiftImageStore::new(segmented(c.proxy)).unwrap();
    let id = ImageId::new_v4();
    let d = data(300_000);
    let chunks = d.chunks(10_000).map(Bytes::copy_from_slice).collect();
    let stored = store
        .put(&id, stream::chunks(chunks), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(
        stored.location,
        format!("swift+http://{}/glance/{id}", c.proxy)
    );
    let segs = listing(&store, "glance_segments").await;
    assert_eq!(segs.len(), 5, "{segs:?}"); // 4 x 64 KiB + 37856
    assert!(segs.iter().all(|s| s.starts_with(&format!("{id}-"))));
    assert!(segs[0].ends_with("-00001") && segs[4].ends_with("-00005"));
    // A range across segment boundaries.
    let r = ByteRange {
        start: 60_000,
        end: Some(200_000),
    };
    let got = store.get(&id, GetOptions::range(r)).await.unwrap();
    let got = stream::collect(got, 1 << 20).await.unwrap();
    assert_eq!(&got[..], &d[60_000..200_000]);

    // A stream failing after two segments leaves no segments behind.
    let bad = ImageId::new_v4();
    let failing = futures::stream::iter(vec![
        Ok(Bytes::from(data(150_000))),
        Err(Error::Unavailable {
            reason: "cut".into(),
        }),
    ])
    .boxed();
    assert!(store
        .put(&bad, failing, PutOptions::default())
        .await
        .is_err());
    assert_eq!(listing(&store, "glance_segments").await.len(), 5);

    store.delete(&id).await.unwrap();
    assert!(listing(&store, "glance_segments").await.is_empty());
    assert!(listing(&store, "glance").await.is_empty());
}

#[tokio::test]
async fn streaming_put_cut_midway_leaves_nothing() {
    let c = cluster().await;
    let store = SwiftImageStore::new(SwiftStoreConfig::new(tempauth(c.proxy, KEY))).unwrap();
    let id = ImageId::new_v4();
    let failing = futures::stream::iter(vec![
        Ok(Bytes::from(data(50_000))),
        Err(Error::Unavailable {
            reason: "client went away".into(),
        }),
    ])
    .boxed();
    let opts = PutOptions::default().expected_size(100_000);
    let err = store.put(&id, failing, opts).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert!(!store.exists(&id).await.unwrap());
    // Too few bytes for the declared size.
    let opts = PutOptions::default().expected_size(100_000);
    let err = store
        .put(&id, stream::once(data(10)), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(!store.exists(&id).await.unwrap());
    assert!(listing(&store, "glance").await.is_empty());
}

#[tokio::test]
async fn token_is_refetched_once_after_401_and_bad_keys_are_config_errors() {
    let c = cluster().await;
    let store = SwiftImageStore::new(SwiftStoreConfig::new(tempauth(c.proxy, KEY))).unwrap();
    let good = store.auth.session().await.unwrap();
    // Replace the cached token with a bogus one: the next call must
    // re-authenticate and succeed.
    *store.auth.cached.lock().await = Some(Session {
        token: remote::Secret::new("AUTH_tkbogus"),
        storage_url: good.storage_url.clone(),
    });
    assert!(!store.exists(&ImageId::new_v4()).await.unwrap());
    assert_ne!(
        store.auth.session().await.unwrap().token.expose(),
        "AUTH_tkbogus"
    );

    let bad = SwiftImageStore::new(SwiftStoreConfig::new(tempauth(c.proxy, "wrong"))).unwrap();
    let err = bad.exists(&ImageId::new_v4()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    assert!(!format!("{:?}", bad.config()).contains("wrong"));
}

#[test]
fn config_defaults_validation_and_redaction() {
    let c: SwiftStoreConfig = serde_json::from_value(serde_json::json!({
        "auth": {"type": "tempauth", "auth_url": "http://h:8080/auth/v1.0",
                 "user": "a:u", "key": "k3y"}
    }))
    .unwrap();
    assert_eq!(c.container, "glance");
    assert_eq!(c.segment_container(), "glance_segments");
    assert!(c.create_container);
    assert_eq!((c.large_object_size, c.segment_size), (5 << 30, 200 << 20));
    assert!(c.validate().is_ok());
    assert!(!format!("{c:?}").contains("k3y"));
    let bad = SwiftStoreConfig {
        container: "a/b".into(),
        ..c.clone()
    };
    assert!(bad.validate().is_err());
    let bad = SwiftStoreConfig {
        segment_size: 0,
        ..c
    };
    assert!(bad.validate().is_err());
    let unknown = serde_json::json!({"auth": {"type": "tempauth", "auth_url": "http://h",
        "user": "a:u", "key": "k", "bogus": 1}});
    assert!(serde_json::from_value::<SwiftStoreConfig>(unknown).is_err());
}

#[tokio::test]
async fn keystone_auth_takes_the_object_store_endpoint_from_the_catalog() {
    use identity_core::service::{BootstrapConfig, PasswordHashing};
    use identity_core::{
        Catalog, IdentityConfig, IdentityService, MemoryIdentityBackend, Password,
    };

    let c = cluster().await;
    let (l, addr) = listener().await;
    let mut catalog = Catalog::new();
    catalog
        .register_all(
            "identity",
            "keystone",
            "RegionOne",
            &format!("http://{addr}/v3"),
        )
        .register_all(
            "object-store",
            "swift",
            "RegionOne",
            &format!("http://{}/v1/AUTH_$(project_id)s", c.proxy),
        );
    let cfg = IdentityConfig {
        password_hashing: PasswordHashing::insecure_fast(),
        ..IdentityConfig::default()
    };
    let identity = IdentityService::new(Arc::new(MemoryIdentityBackend::new()), cfg)
        .unwrap()
        .with_catalog(catalog);
    let boot = identity
        .bootstrap(&BootstrapConfig::new(Password::new("adminpw")))
        .await
        .unwrap();
    let state = identity_server::AppState::new(Arc::new(identity), &format!("http://{addr}"));
    server_runtime::RunningServer::spawn(
        "keystone",
        l,
        identity_server::router(state),
        c.stop.clone(),
    )
    .unwrap();

    let auth = |region: Option<&str>, password: &str| SwiftAuthConfig::Keystone {
        auth_url: format!("http://{addr}/v3"),
        user: "admin".into(),
        password: remote::Secret::new(password),
        project: "admin".into(),
        user_domain: "Default".into(),
        project_domain: "Default".into(),
        region: region.map(str::to_string),
        interface: "public".into(),
    };
    let store =
        SwiftImageStore::new(SwiftStoreConfig::new(auth(Some("RegionOne"), "adminpw"))).unwrap();
    let session = store.auth.session().await.unwrap();
    assert_eq!(
        session.storage_url,
        format!("http://{}/v1/AUTH_{}", c.proxy, boot.admin_project.id)
    );
    // The token is one keystone itself accepts.
    let check = reqwest::Client::new()
        .get(format!("http://{addr}/v3/auth/tokens"))
        .header("x-auth-token", session.token.expose())
        .header("x-subject-token", session.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), 200);

    let elsewhere =
        SwiftImageStore::new(SwiftStoreConfig::new(auth(Some("RegionTwo"), "adminpw"))).unwrap();
    let err = elsewhere.storage_url().await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    let wrong = SwiftImageStore::new(SwiftStoreConfig::new(auth(None, "nope"))).unwrap();
    let err = wrong.storage_url().await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
}
