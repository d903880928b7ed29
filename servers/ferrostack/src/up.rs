//! `ferrostack up`: the whole cloud in one process on loopback: identity
//! (Keystone v3), images (Glance v2), compute (Nova v2.1 with the Cinder v3
//! and Neutron v2.0 subsets, two or more fake hosts) and a Swift cluster of three storage
//! nodes (each its own HTTP server, talking to the others over HTTP) and a
//! proxy. Glance and the proxy validate Keystone tokens in process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use swift_core::daemon::ReconStore;
use swift_core::hash::HashConfig;
use swift_core::node::NodeConfig;
use swift_core::proxy::KeystoneAuthConfig;
use swift_core::ring::RingKind;
use swift_server::daemons::{storage_daemons, NodeDaemonParts};
use swift_server::keystone::IdentityTokens;
use swift_server::runtime::{bind, shutdown_signal, RunningServer};
use swift_server::s3::IdentityS3Credentials;
use swift_server::services::{build_proxy_with_memcache, build_storage_node, http_client};
use swift_server::{proxy_router, storage_router_with_recon};
use tokio_util::sync::CancellationToken;

use crate::cluster::{
    add_admin_user, default_proxy_config, first_user, has_users, load_or_create_rings,
};
use crate::config::UpConfig;
use crate::glance::GlanceUp;
use crate::identity::{Endpoints, IdentityUp};
use crate::nova::NovaUp;
use crate::openrc::OpenRc;
use crate::rings::DEVICE;
use crate::secrets::{load_or_create_cluster, load_or_create_key};
use nova_server::ec2::{Ec2State, IdentityEc2Credentials};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const NODE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may run on after Ctrl-C.
const GRACE: Duration = Duration::from_secs(30);

/// A service of the all-in-one cloud: what it prints and what it adds to
/// `openrc`. Later services (identity, images, compute) implement it too.
pub(crate) trait Service {
    /// Name in the banner and in `openrc`.
    fn name(&self) -> &str;
    /// `(label, url)` pairs to print.
    fn endpoints(&self) -> Vec<(String, String)>;
    /// `(variable, value)` pairs for `openrc`.
    fn openrc_vars(&self) -> Vec<(String, String)>;
}

/// The Swift part of the cloud once it listens.
#[derive(Debug)]
struct SwiftService {
    proxy: SocketAddr,
    storage: Vec<SocketAddr>,
    user: Option<(String, String)>,
}

impl SwiftService {
    fn auth_url(&self) -> String {
        format!("http://{}/auth/v1.0", self.proxy)
    }
}

impl Service for SwiftService {
    fn name(&self) -> &str {
        "swift"
    }

    fn endpoints(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (
                "object-store (swift proxy)".into(),
                format!("http://{}", self.proxy),
            ),
            ("swift auth (tempauth v1.0)".into(), self.auth_url()),
        ];
        for (i, a) in self.storage.iter().enumerate() {
            out.push((
                format!("swift storage node {}", i + 1),
                format!("http://{a}"),
            ));
        }
        out
    }

    fn openrc_vars(&self) -> Vec<(String, String)> {
        let mut v = vec![("ST_AUTH".to_string(), self.auth_url())];
        if let Some((user, key)) = &self.user {
            v.push(("ST_USER".into(), user.clone()));
            v.push(("ST_KEY".into(), key.clone()));
        }
        v
    }
}

/// Runs the cloud until SIGINT/SIGTERM.
pub(crate) async fn run(data_dir: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    let cfg = UpConfig::load(config)?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let dir: PathBuf = data_dir
        .canonicalize()
        .with_context(|| format!("resolving {}", data_dir.display()))?;
    let openrc_path = dir.join("openrc");
    // A stale openrc would point at the previous run's ports.
    if let Err(e) = std::fs::remove_file(&openrc_path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(e).context("removing stale openrc");
        }
    }

    let secrets = load_or_create_cluster(&dir.join("swift.toml"))?;
    let hash = HashConfig::new(secrets.hash.prefix.clone(), secrets.hash.suffix.clone());
    let mut proxy_cfg = cfg.swift.proxy.clone().unwrap_or_else(default_proxy_config);
    if !has_users(&proxy_cfg) {
        add_admin_user(&mut proxy_cfg, &load_or_create_key(&dir.join("admin.key"))?);
    }
    proxy_cfg.hash = hash.clone();

    // Bind every socket first: port 0 gets its real port before the rings
    // (which name the nodes' addresses) are written.
    let mut listeners = Vec::new();
    for addr in &cfg.swift.storage_binds {
        listeners.push(bind(*addr).await?);
    }
    let proxy_listener = bind(cfg.swift.proxy_bind).await?;
    let identity_listener = bind(cfg.identity.bind).await?;
    let glance_listener = bind(cfg.glance.bind).await?;
    let compute_listener = bind(cfg.nova.compute_bind).await?;
    let volume_listener = bind(cfg.nova.volume_bind).await?;
    let network_listener = bind(cfg.nova.network_bind).await?;
    let ec2_listener = bind(cfg.nova.ec2_bind).await?;
    let endpoints = Endpoints {
        identity: identity_listener.local_addr()?,
        image: glance_listener.local_addr()?,
        object_store: proxy_listener.local_addr()?,
        compute: compute_listener.local_addr()?,
        volume: volume_listener.local_addr()?,
        network: network_listener.local_addr()?,
        ec2: ec2_listener.local_addr()?,
    };
    let admin_password = load_or_create_key(&dir.join("admin.key"))?;
    let identity = crate::identity::build(&cfg.identity, &dir, &endpoints, &admin_password).await?;
    let storage_addrs = listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<Vec<_>, _>>()?;
    let rings = load_or_create_rings(&dir.join("rings"), &storage_addrs)?;
    let ring_files: Vec<_> = [RingKind::Account, RingKind::Container, RingKind::Object]
        .into_iter()
        .map(|k| (k, crate::rings::ring_file(&dir.join("rings"), k)))
        .collect();

    let shutdown = CancellationToken::new();
    let mut storage_servers = Vec::new();
    let mut daemons = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let devices = dir.join("nodes").join((i + 1).to_string());
        std::fs::create_dir_all(devices.join(DEVICE))
            .with_context(|| format!("creating {}", devices.display()))?;
        let node_cfg = NodeConfig {
            devices,
            mount_check: true,
            hash: hash.clone(),
            fsync: cfg.swift.fsync,
        };
        let client = http_client(CONNECT_TIMEOUT, NODE_TIMEOUT)?;
        let node = build_storage_node(node_cfg.clone(), rings.clone(), client.clone());
        let recon = Arc::new(ReconStore::new());
        storage_servers.push(RunningServer::spawn(
            format!("swift-storage-{}", i + 1),
            listener,
            storage_router_with_recon(node.clone(), recon.clone()),
            shutdown.clone(),
        )?);
        let parts = NodeDaemonParts {
            node,
            config: node_cfg,
            rings: rings.clone(),
            client,
            ring_hosts: vec![storage_addrs[i].to_string()],
            // One process holds every node: the first one watches the
            // shared ring files for all.
            ring_files: if i == 0 {
                ring_files.clone()
            } else {
                Vec::new()
            },
            container_updater: Duration::from_secs(cfg.swift.updater_interval_secs),
            object_updater: Duration::from_secs(cfg.swift.async_pending_interval_secs),
        };
        daemons.extend(
            storage_daemons(&parts, &cfg.swift.daemons, recon, false).spawn(shutdown.clone()),
        );
    }
    let proxy = build_proxy_with_memcache(
        proxy_cfg.clone(),
        rings,
        http_client(CONNECT_TIMEOUT, NODE_TIMEOUT)?,
        &cfg.swift.memcache_servers,
    )?
    .with_keystone(
        Arc::new(IdentityTokens(identity.clone())),
        KeystoneAuthConfig::default(),
    )?
    .with_s3(Arc::new(IdentityS3Credentials(identity.clone())))?;
    let proxy_server = RunningServer::spawn(
        "swift-proxy",
        proxy_listener,
        proxy_router(proxy),
        shutdown.clone(),
    )?;

    let identity_server = RunningServer::spawn(
        "identity",
        identity_listener,
        identity_server::router(identity_server::AppState::new(
            identity.clone(),
            &format!("http://{}", endpoints.identity),
        )),
        shutdown.clone(),
    )?;
    let swift_auth = crate::glance::SwiftStoreAuth {
        identity_url: endpoints.identity_url(),
        admin_password: admin_password.clone(),
        region: cfg.identity.region.clone(),
    };
    let glance_state = crate::glance::build(&cfg.glance, &dir, identity.clone(), &swift_auth)
        .await?
        .with_public_endpoint(format!("http://{}", endpoints.image));
    let glance_server = RunningServer::spawn(
        "glance",
        glance_listener,
        glance_server::router(glance_state),
        shutdown.clone(),
    )?;

    let ec2_credentials = Arc::new(IdentityEc2Credentials::new(identity.clone()));
    let nova = crate::nova::start(
        &cfg.nova,
        &dir,
        identity,
        &format!("http://{}", endpoints.image),
        &endpoints.identity_url(),
    )
    .await?;
    let nova_urls = NovaUp {
        compute: format!("http://{}", endpoints.compute),
        volume: format!("http://{}", endpoints.volume),
        network: format!("http://{}", endpoints.network),
        ec2: format!("http://{}", endpoints.ec2),
    };
    let nova_servers = [
        RunningServer::spawn(
            "nova-compute-api",
            compute_listener,
            nova_server::compute::router(
                nova.state.clone().with_public_endpoint(&nova_urls.compute),
            ),
            shutdown.clone(),
        )?,
        RunningServer::spawn(
            "nova-volume-api",
            volume_listener,
            nova_server::volume::router(nova.state.clone().with_public_endpoint(&nova_urls.volume)),
            shutdown.clone(),
        )?,
        RunningServer::spawn(
            "nova-network-api",
            network_listener,
            nova_server::network::router(
                nova.state.clone().with_public_endpoint(&nova_urls.network),
            ),
            shutdown.clone(),
        )?,
        RunningServer::spawn(
            "nova-ec2-api",
            ec2_listener,
            nova_server::ec2::router(Ec2State::new(
                nova.embedded.api.clone(),
                ec2_credentials,
                cfg.identity.region.clone(),
            )),
            shutdown.clone(),
        )?,
    ];

    let services: Vec<Box<dyn Service>> = vec![
        Box::new(IdentityUp {
            url: endpoints.identity_url(),
            region: cfg.identity.region.clone(),
            admin_password,
        }),
        Box::new(GlanceUp {
            url: format!("http://{}", endpoints.image),
        }),
        Box::new(nova_urls),
        Box::new(SwiftService {
            proxy: proxy_server.local_addr(),
            storage: storage_addrs,
            user: first_user(&proxy_cfg),
        }),
    ];
    let mut rc = OpenRc::default();
    for s in &services {
        rc.add(s.name(), s.openrc_vars());
    }
    rc.write(&openrc_path)?;
    print_banner(&dir, &openrc_path, &services);

    shutdown_signal().await;
    shutdown.cancel();
    proxy_server.wait(GRACE).await?;
    identity_server.wait(GRACE).await?;
    glance_server.wait(GRACE).await?;
    for s in nova_servers {
        s.wait(GRACE).await?;
    }
    nova.embedded.shutdown().await;
    for s in storage_servers {
        s.wait(GRACE).await?;
    }
    for d in daemons {
        let _ = tokio::time::timeout(GRACE, d).await;
    }
    println!("ferrostack stopped; data kept in {}", dir.display());
    Ok(())
}

fn print_banner(dir: &Path, openrc: &Path, services: &[Box<dyn Service>]) {
    println!("ferrostack is up (data in {})", dir.display());
    for s in services {
        for (label, url) in s.endpoints() {
            println!("  {label:<30} {url}");
        }
    }
    println!();
    println!("Credentials for the clients:");
    println!("  source {}", openrc.display());
    println!("Press Ctrl-C to stop.");
}
