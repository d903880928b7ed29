//! The account, container and object controllers, and what they share:
//! ring lookups and the short-lived account/container existence cache.

use super::fanout::{quorum_size, Nodes, Target};
use super::response::Reply;
use super::{Ctx, Inner, INFO_TTL};
use crate::headers::Headers;
use crate::node::{NodeMethod, NodeRequest};
use crate::ring::RingKind;
use crate::timestamp::Timestamp;

mod account;
mod container;
pub(crate) mod object;
pub(crate) mod object_put;
mod resume;

pub(crate) use object::apply_delete_at;

/// Whether an account or container exists, as far as the proxy can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exists {
    Yes,
    No,
    /// No node answered usefully.
    Unknown,
}

impl Inner {
    /// The nodes of an account, container or object.
    pub(crate) fn nodes(
        &self,
        kind: RingKind,
        account: &str,
        container: Option<&str>,
        object: Option<&str>,
    ) -> Nodes {
        let ring = self.rings.get(kind);
        let part = ring.partition_for(&self.config.hash, account, container, object);
        Nodes::new(&ring, part)
    }

    fn info_key(account: &str, container: Option<&str>) -> String {
        match container {
            Some(c) => format!("info/container/{account}/{c}"),
            None => format!("info/account/{account}"),
        }
    }

    /// Forgets cached existence and headers (after this proxy changed them).
    pub(crate) async fn forget_info(&self, account: &str, container: Option<&str>) {
        let key = Self::info_key(account, container);
        self.cache.delete(&format!("{key}/headers")).await;
        self.cache.delete(&key).await;
    }

    /// The headers of an account's or container's HEAD (metadata, ACLs,
    /// system metadata), cached for [`INFO_TTL`]; `None` when it does not
    /// exist or no node answered.
    pub(crate) async fn info_headers(
        &self,
        ctx: &Ctx,
        account: &str,
        container: Option<&str>,
    ) -> Option<Headers> {
        let key = format!("{}/headers", Self::info_key(account, container));
        if let Some(v) = self.cache.get(&key).await {
            if let Ok(pairs) = serde_json::from_str::<Vec<(String, String)>>(&v) {
                return Some(pairs.into_iter().collect());
            }
        }
        let kind = if container.is_some() {
            RingKind::Container
        } else {
            RingKind::Account
        };
        let nodes = self.nodes(kind, account, container, None);
        let path = match container {
            Some(c) => format!("{account}/{c}"),
            None => account.to_string(),
        };
        let resp = self
            .read_failover(&nodes.read_order(), |t| {
                let mut r = NodeRequest::new(NodeMethod::Head, &t.device, t.partition, &path);
                r.headers = Headers::new().with("x-trans-id", ctx.trans_id.clone());
                r
            })
            .await;
        if !(200..300).contains(&resp.status) {
            return None;
        }
        let pairs: Vec<(&str, &str)> = resp.headers.iter().collect();
        if let Ok(v) = serde_json::to_string(&pairs) {
            self.cache.set(&key, v, INFO_TTL).await;
        }
        Some(resp.headers)
    }

    /// HEADs an account or container (cached while it exists).
    pub(crate) async fn exists(&self, ctx: &Ctx, account: &str, container: Option<&str>) -> Exists {
        let key = Self::info_key(account, container);
        if self.cache.get(&key).await.is_some() {
            return Exists::Yes;
        }
        let kind = if container.is_some() {
            RingKind::Container
        } else {
            RingKind::Account
        };
        let nodes = self.nodes(kind, account, container, None);
        let path = match container {
            Some(c) => format!("{account}/{c}"),
            None => account.to_string(),
        };
        let resp = self
            .read_failover(&nodes.read_order(), |t| {
                let mut r = NodeRequest::new(NodeMethod::Head, &t.device, t.partition, &path);
                r.headers = Headers::new().with("x-trans-id", ctx.trans_id.clone());
                r
            })
            .await;
        match resp.status {
            s if (200..300).contains(&s) => {
                self.cache.set(&key, "1".into(), INFO_TTL).await;
                Exists::Yes
            }
            404 | 410 => Exists::No,
            _ => Exists::Unknown,
        }
    }

    /// Creates an account on its replicas (account autocreate); true when a
    /// quorum did.
    pub(crate) async fn autocreate_account(&self, ctx: &Ctx, account: &str) -> bool {
        let nodes = self.nodes(RingKind::Account, account, None, None);
        let ts = Timestamp::now().internal();
        let outcomes = self
            .make_requests(&nodes, |t, _| {
                let mut r = NodeRequest::new(NodeMethod::Put, &t.device, t.partition, account);
                r.headers = Headers::new()
                    .with("x-timestamp", ts.clone())
                    .with("x-trans-id", ctx.trans_id.clone())
                    .with("user-agent", "proxy-server");
                r
            })
            .await;
        let ok = outcomes
            .iter()
            .filter(|o| (200..300).contains(&o.status))
            .count();
        let created = ok >= quorum_size(nodes.primaries.len());
        if created {
            self.cache
                .set(&Self::info_key(account, None), "1".into(), INFO_TTL)
                .await;
        }
        created
    }

    /// Makes sure the account exists, creating it when allowed. `Err` is the
    /// reply to send instead.
    pub(crate) async fn ensure_account(&self, ctx: &Ctx, account: &str) -> Result<(), Reply> {
        match self.exists(ctx, account, None).await {
            Exists::Yes => Ok(()),
            Exists::No if self.config.account_autocreate => {
                if self.autocreate_account(ctx, account).await {
                    Ok(())
                } else {
                    Err(Reply::status(503))
                }
            }
            Exists::No => Err(Reply::status(404)),
            Exists::Unknown => Err(Reply::status(503)),
        }
    }
}

/// Pairs each replica `i` of one ring with the update targets of another
/// ring, as Swift's proxy spreads container updates over the object nodes:
/// replica `i` gets the targets `i, i+n, ...` of `updates`.
pub(crate) fn update_targets(updates: &[Target], replicas: usize, i: usize) -> Vec<&Target> {
    if replicas == 0 {
        return Vec::new();
    }
    let mut out: Vec<&Target> = updates.iter().skip(i).step_by(replicas).collect();
    if out.is_empty() && !updates.is_empty() {
        out.push(&updates[i % updates.len()]);
    }
    out
}

/// Sets `X-<Kind>-Host`, `-Device` and `-Partition` for the update targets
/// (comma-separated when several).
pub(crate) fn set_update_headers(h: &mut Headers, kind: &str, targets: &[&Target]) {
    if targets.is_empty() {
        return;
    }
    let join =
        |f: &dyn Fn(&Target) -> String| targets.iter().map(|t| f(t)).collect::<Vec<_>>().join(",");
    h.set(format!("x-{kind}-host"), join(&|t| t.host.clone()));
    h.set(format!("x-{kind}-device"), join(&|t| t.device.clone()));
    h.set(
        format!("x-{kind}-partition"),
        targets[0].partition.to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u32) -> Target {
        Target {
            host: format!("h{n}"),
            device: format!("d{n}"),
            partition: 7,
        }
    }

    #[test]
    fn update_targets_spread_over_replicas() {
        let ups = vec![t(0), t(1), t(2)];
        for i in 0..3 {
            let got = update_targets(&ups, 3, i);
            assert_eq!(got, vec![&ups[i]]);
        }
        let mut h = Headers::new();
        set_update_headers(&mut h, "container", &update_targets(&ups, 2, 0));
        assert_eq!(h.get("x-container-host"), Some("h0,h2"));
        assert_eq!(h.get("x-container-device"), Some("d0,d2"));
        assert_eq!(h.get("x-container-partition"), Some("7"));
        // Fewer update targets than replicas: everyone still gets one.
        assert_eq!(update_targets(&ups[..1], 3, 2), vec![&ups[0]]);
    }
}
