//! The calls into other helpers' APIs that `ferrostack up` makes directly
//! (ring building, tempauth users); kept together so a rename upstream is
//! a one-file fix. Node and proxy construction is in
//! `swift_server::services`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use swift_core::proxy::{ProxyConfig, TempAuthUser};
use swift_core::ring::{DeviceSpec, RebalanceOptions, Ring, RingBuilder, Rings};

use crate::rings::{
    builder_file, ring_file, sync_addresses, zone_of, DEVICE, KINDS, PART_POWER, REPLICAS,
};

/// Builds a fresh ring over one device per node.
fn create_ring(addrs: &[SocketAddr]) -> anyhow::Result<(RingBuilder, Ring)> {
    let mut builder = RingBuilder::create(PART_POWER, REPLICAS, 1)?;
    for (i, addr) in addrs.iter().enumerate() {
        let mut spec = DeviceSpec::new(
            1,
            zone_of(i),
            addr.ip().to_string(),
            addr.port(),
            DEVICE,
            100.0,
        );
        spec.meta = format!("node{}", i + 1);
        builder.add(spec)?;
    }
    builder.rebalance(&RebalanceOptions::default())?;
    let ring = builder.build();
    Ok((builder, ring))
}

/// Loads the rings under `ring_dir` (pointing them at `addrs`), or creates
/// them on first start.
pub(crate) fn load_or_create_rings(
    ring_dir: &Path,
    addrs: &[SocketAddr],
) -> anyhow::Result<Arc<Rings>> {
    std::fs::create_dir_all(ring_dir)
        .with_context(|| format!("creating {}", ring_dir.display()))?;
    let mut rings = Vec::with_capacity(KINDS.len());
    for kind in KINDS {
        let path = ring_file(ring_dir, kind);
        let ring = if path.exists() {
            let mut ring =
                Ring::load(&path).with_context(|| format!("loading {}", path.display()))?;
            if sync_addresses(&mut ring, addrs)? {
                ring.save(&path)
                    .with_context(|| format!("saving {}", path.display()))?;
            }
            ring
        } else {
            let (builder, ring) = create_ring(addrs)?;
            builder.save(&builder_file(ring_dir, kind))?;
            ring.save(&path)
                .with_context(|| format!("saving {}", path.display()))?;
            ring
        };
        rings.push(ring);
    }
    let mut it = rings.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(a), Some(c), Some(o)) => Ok(Arc::new(Rings::new(a, c, o))),
        _ => anyhow::bail!("expected three rings"),
    }
}

/// The proxy settings of the embedded cluster: account auto-create on.
pub(crate) fn default_proxy_config() -> ProxyConfig {
    ProxyConfig {
        account_autocreate: true,
        ..ProxyConfig::default()
    }
}

/// Adds the default user `admin:admin` (group `.admin`) with `key`.
pub(crate) fn add_admin_user(cfg: &mut ProxyConfig, key: &str) {
    cfg.tempauth.users.push(TempAuthUser {
        account: "admin".into(),
        user: "admin".into(),
        key: key.to_string(),
        groups: vec![".admin".into()],
    });
}

/// Whether any tempauth user is configured.
pub(crate) fn has_users(cfg: &ProxyConfig) -> bool {
    !cfg.tempauth.users.is_empty()
}

/// `account:user` and key of the first configured user (the openrc user).
pub(crate) fn first_user(cfg: &ProxyConfig) -> Option<(String, String)> {
    cfg.tempauth
        .users
        .first()
        .map(|u| (format!("{}:{}", u.account, u.user), u.key.clone()))
}
