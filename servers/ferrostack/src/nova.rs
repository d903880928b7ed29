//! The compute part of `ferrostack up`: the embedded nova stack (api,
//! scheduler, network, volume and one compute service per fake host) over
//! a SQLite database in the data dir, reaching images through this cloud's
//! Glance by HTTP, behind three APIs: Compute v2.1 (8774), Block Storage
//! v3 (8776) and Networking v2.0 (9696), all validating Keystone tokens
//! in process.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use identity_core::IdentityService;
use nova_core::bootstrap::BootstrapConfig;
use nova_core::db::Location;
use nova_core::model::HostName;
use nova_core::service::{Embedded, EmbeddedConfig};
use nova_core::virt::fake::FakeDriver;
use nova_core::{HypervisorDriver, InProcessBus};
use nova_server::images::GlanceImages;
use nova_server::{ApiState, KeystoneAuthenticator};

use crate::config::NovaUpConfig;
use crate::up::Service;

/// The running stack and the state its three routers share.
#[derive(Debug)]
pub(crate) struct NovaStack {
    pub(crate) embedded: Embedded,
    pub(crate) state: ApiState,
}

/// Opens the database, bootstraps the defaults and starts the services.
pub(crate) async fn start(
    cfg: &NovaUpConfig,
    dir: &Path,
    identity: Arc<IdentityService>,
    glance_url: &str,
    auth_url: &str,
) -> anyhow::Result<NovaStack> {
    let location = cfg
        .database
        .clone()
        .unwrap_or_else(|| Location::Sqlite(dir.join("nova.db")));
    let db = nova_core::db::open_location(&location)
        .await
        .with_context(|| format!("opening nova database {location}"))?;
    nova_core::bootstrap::ensure_defaults(db.as_ref(), &BootstrapConfig::default())
        .await
        .context("nova bootstrap")?;
    let mut ecfg = EmbeddedConfig::new(
        Arc::clone(&db),
        Arc::new(InProcessBus::new()),
        Arc::new(GlanceImages::new(glance_url)),
    );
    for i in 1..=cfg.hosts {
        let host: HostName = format!("compute-{i}").parse()?;
        let driver: Arc<dyn HypervisorDriver> = Arc::new(FakeDriver::with_defaults(host.clone()));
        ecfg = ecfg.with_host(host, driver);
    }
    let embedded = Embedded::start(ecfg)
        .await
        .context("starting nova services")?;
    let auth = KeystoneAuthenticator::new(identity);
    let state = ApiState::new(embedded.api.clone(), Arc::new(auth)).with_auth_url(auth_url);
    Ok(NovaStack { embedded, state })
}

/// The compute APIs once they listen.
#[derive(Debug)]
pub(crate) struct NovaUp {
    pub(crate) compute: String,
    pub(crate) volume: String,
    pub(crate) network: String,
    pub(crate) ec2: String,
}

impl Service for NovaUp {
    fn name(&self) -> &str {
        "compute"
    }

    fn endpoints(&self) -> Vec<(String, String)> {
        vec![
            (
                "compute (nova v2.1)".into(),
                format!("{}/v2.1", self.compute),
            ),
            (
                "block-storage (cinder v3)".into(),
                format!("{}/v3", self.volume),
            ),
            ("network (neutron v2.0)".into(), self.network.clone()),
            ("ec2".into(), format!("{}/", self.ec2)),
        ]
    }

    fn openrc_vars(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}
