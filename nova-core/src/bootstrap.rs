//! First-run defaults of a cloud: Nova's flavors, a default network and a
//! public floating IP pool. [`ensure_defaults`] is idempotent, so every
//! start may call it.

use crate::db::NovaDb;
use crate::error::{Error, Result};
use crate::model::{default_flavors, Flavor, Ipv4Cidr, Network, NetworkMode};

/// The default network to create when none has its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultNetwork {
    /// Label (`private`).
    pub label: String,
    /// Mode (`FlatDhcp`).
    pub mode: NetworkMode,
    /// Range (`10.0.0.0/24`).
    pub cidr: Ipv4Cidr,
    /// Bridge (`br100`).
    pub bridge: String,
}

/// What [`ensure_defaults`] creates.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapConfig {
    /// Flavors (m1.tiny ... m1.xlarge).
    pub flavors: Vec<Flavor>,
    /// The shared network, if any.
    pub network: Option<DefaultNetwork>,
    /// A floating IP pool name and range, if any (`public`,
    /// `172.24.4.0/24`).
    pub floating_pool: Option<(String, Ipv4Cidr)>,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            flavors: default_flavors(),
            network: Ipv4Cidr::new(std::net::Ipv4Addr::new(10, 0, 0, 0), 24)
                .ok()
                .map(|cidr| DefaultNetwork {
                    label: "private".into(),
                    mode: NetworkMode::FlatDhcp,
                    cidr,
                    bridge: "br100".into(),
                }),
            floating_pool: Ipv4Cidr::new(std::net::Ipv4Addr::new(172, 24, 4, 0), 24)
                .ok()
                .map(|c| ("public".to_owned(), c)),
        }
    }
}

/// Creates what `cfg` asks for unless it exists: flavors by id, the
/// network by label, the pool's addresses (known ones are skipped).
pub async fn ensure_defaults(db: &dyn NovaDb, cfg: &BootstrapConfig) -> Result<()> {
    for f in &cfg.flavors {
        match db.create_flavor(f).await {
            Ok(()) | Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(n) = &cfg.network {
        let exists = db.list_networks().await?.iter().any(|x| x.label == n.label);
        if !exists {
            let net = Network::new(&n.label, n.mode, n.cidr, &n.bridge)?;
            db.create_network(&net, &[]).await?;
        }
    }
    if let Some((pool, range)) = &cfg.floating_pool {
        db.create_floating_ips(pool, *range).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn defaults_are_created_once() {
        let db = crate::db::open("memory:").await.unwrap();
        let cfg = BootstrapConfig::default();
        ensure_defaults(&*db, &cfg).await.unwrap();
        ensure_defaults(&*db, &cfg).await.unwrap();
        let names: Vec<_> = db
            .list_flavors()
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
        );
        let nets = db.list_networks().await.unwrap();
        assert_eq!(nets.len(), 1);
        assert_eq!(nets[0].label, "private");
        assert_eq!(nets[0].cidr.to_string(), "10.0.0.0/24");
        assert_eq!(db.floating_pools().await.unwrap(), ["public"]);
        let p = crate::model::ProjectId::new("p").unwrap();
        let f = db.allocate_floating_ip("public", &p).await.unwrap();
        assert!(f.address.to_string().starts_with("172.24.4."));
    }
}
