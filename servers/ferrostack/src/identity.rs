//! The identity part of `ferrostack up`: a Keystone v3 server on port 5000
//! whose catalog lists every service of the cloud, with an admin user and
//! project bootstrapped from the data dir's admin key.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use identity_core::backend::Location;
use identity_core::service::BootstrapConfig;
use identity_core::{
    AssignmentTarget, Catalog, DomainId, IdentityBackend, IdentityConfig, IdentityService, Password,
};

use crate::config::{ExtraUser, IdentityUpConfig};
use crate::up::Service;

/// Where the other services are, for the catalog.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub(crate) identity: SocketAddr,
    pub(crate) image: SocketAddr,
    pub(crate) object_store: SocketAddr,
    pub(crate) compute: SocketAddr,
    pub(crate) volume: SocketAddr,
    pub(crate) network: SocketAddr,
    pub(crate) ec2: SocketAddr,
}

impl Endpoints {
    pub(crate) fn identity_url(&self) -> String {
        format!("http://{}/v3", self.identity)
    }

    /// The catalog of the cloud in `region`.
    pub(crate) fn catalog(&self, region: &str) -> Catalog {
        let mut c = Catalog::new();
        c.register_all("identity", "keystone", region, &self.identity_url())
            .register_all("image", "glance", region, &format!("http://{}", self.image))
            .register_all(
                "object-store",
                "swift",
                region,
                &format!("http://{}/v1/AUTH_$(project_id)s", self.object_store),
            )
            .register_all(
                "compute",
                "nova",
                region,
                &format!("http://{}/v2.1", self.compute),
            )
            .register_all(
                "network",
                "neutron",
                region,
                &format!("http://{}", self.network),
            );
        c.register_all("ec2", "nova-ec2", region, &format!("http://{}/", self.ec2));
        let volume = format!("http://{}/v3/$(project_id)s", self.volume);
        c.register_all("block-storage", "cinder", region, &volume)
            .register_all("volumev3", "cinderv3", region, &volume);
        c
    }
}

/// Opens the identity store, builds the service and bootstraps the admin.
pub(crate) async fn build(
    cfg: &IdentityUpConfig,
    dir: &Path,
    endpoints: &Endpoints,
    admin_password: &str,
) -> anyhow::Result<Arc<IdentityService>> {
    let location = cfg
        .database
        .clone()
        .unwrap_or_else(|| Location::Sqlite(dir.join("identity.db")));
    let backend: Arc<dyn IdentityBackend> = identity_core::backend::open_location(&location)
        .await
        .with_context(|| format!("opening identity database {location}"))?;
    let identity_cfg = IdentityConfig {
        token_ttl_secs: cfg.token_ttl_secs,
        ..IdentityConfig::default()
    };
    let identity = IdentityService::new(backend, identity_cfg)
        .context("invalid identity settings")?
        .with_catalog(endpoints.catalog(&cfg.region));
    identity
        .bootstrap(&BootstrapConfig::new(Password::new(admin_password)))
        .await
        .context("identity bootstrap")?;
    for u in &cfg.users {
        add_user(&identity, u)
            .await
            .with_context(|| format!("creating user {}", u.name))?;
    }
    Ok(Arc::new(identity))
}

/// Creates (or updates) one `[[identity.users]]` entry.
async fn add_user(identity: &IdentityService, u: &ExtraUser) -> anyhow::Result<()> {
    let domain = DomainId::default_domain();
    let backend = identity.backend();
    let project = match backend.find_project(&domain, &u.project).await {
        Ok(p) => p,
        Err(identity_core::Error::NotFound { .. }) => {
            identity.create_project(&domain, &u.project).await?
        }
        Err(e) => return Err(e.into()),
    };
    let password = Password::new(u.password.clone());
    let user = match backend.find_user(&domain, &u.name).await {
        Ok(user) => {
            identity.set_password(&user.id, &password).await?;
            user
        }
        Err(identity_core::Error::NotFound { .. }) => {
            identity
                .create_user(&domain, &u.name, Some(&password))
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    for role in &u.roles {
        identity
            .grant_role_by_name(
                &user.id,
                AssignmentTarget::Project(project.id.clone()),
                role,
            )
            .await?;
    }
    Ok(())
}

/// The identity service once it listens.
#[derive(Debug)]
pub(crate) struct IdentityUp {
    pub(crate) url: String,
    pub(crate) region: String,
    pub(crate) admin_password: String,
}

impl Service for IdentityUp {
    fn name(&self) -> &str {
        "identity"
    }

    fn endpoints(&self) -> Vec<(String, String)> {
        vec![("identity (keystone v3)".into(), self.url.clone())]
    }

    fn openrc_vars(&self) -> Vec<(String, String)> {
        // No OS_IDENTITY_API_VERSION: python-swiftclient would read it as
        // its auth version and stop using ST_AUTH (tempauth).
        [
            ("OS_AUTH_URL", self.url.as_str()),
            ("OS_AUTH_TYPE", "password"),
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", self.admin_password.as_str()),
            ("OS_PROJECT_NAME", "admin"),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_DOMAIN_NAME", "Default"),
            ("OS_REGION_NAME", self.region.as_str()),
            ("OS_INTERFACE", "public"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}
