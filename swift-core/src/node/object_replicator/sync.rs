//! Syncing differing suffixes with one peer: ask what it holds, send what
//! it lacks or holds older (Swift's ssync, over `REPLICATE` requests).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;

use super::{Job, ObjectReplicator, Tally, MAX_ANSWER, SUFFIX_BATCH};
use crate::error::{Error, Result};
use crate::hash::PathHash;
use crate::node::object_server::replicate::{
    decode_versions, encode_name, ReplicaVersion, OBJECT_HASH_HEADER, OBJECT_NAME_HEADER,
    REPLICATION_OP_HEADER,
};
use crate::node::{NodeMethod, NodeRequest, SERVER_TYPE_HEADER};
use crate::object::{ObjectLocation, ObjectMetadata, ObjectState, ReadOptions};
use crate::stream::ByteStream;
use crate::timestamp::Timestamp;

/// What to send for one object.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Nothing,
    Tombstone(Timestamp),
    /// The data version, then its metadata update if any.
    Data,
    /// Only the metadata update.
    Meta(Timestamp),
}

/// Decides what the peer needs, given what it has (`None`: nothing).
fn decide(local: &ObjectState, remote: Option<&ReplicaVersion>, cutoff: Timestamp) -> Action {
    match local {
        ObjectState::Missing => Action::Nothing,
        // Reclaimable tombstones are never sent, or they would come back.
        ObjectState::Deleted { timestamp } if *timestamp < cutoff => Action::Nothing,
        ObjectState::Deleted { timestamp } => match remote {
            Some(r) if r.timestamp >= *timestamp => Action::Nothing,
            _ => Action::Tombstone(*timestamp),
        },
        ObjectState::Present(m) => match remote {
            Some(r) if r.timestamp > m.timestamp || (r.timestamp == m.timestamp && r.deleted) => {
                Action::Nothing
            }
            Some(r) if r.timestamp == m.timestamp => match m.meta_timestamp {
                Some(mt) if r.meta_timestamp.is_none_or(|rt| rt < mt) => Action::Meta(mt),
                _ => Action::Nothing,
            },
            _ => Action::Data,
        },
    }
}

fn replication_request(
    op: &str,
    device: &str,
    part: u32,
    hash: &PathHash,
    ts: Timestamp,
) -> NodeRequest {
    let mut req = NodeRequest::new(NodeMethod::Replicate, device, part, "");
    req.headers.set(SERVER_TYPE_HEADER, "object");
    req.headers.set(REPLICATION_OP_HEADER, op);
    req.headers.set(OBJECT_HASH_HEADER, hash.to_hex());
    req.headers.set("x-timestamp", ts.internal());
    req
}

/// Flags `Error::Corrupt` from the local read, so the sender can
/// quarantine its own bad copy.
fn watch_corrupt(body: ByteStream, flag: Arc<AtomicBool>) -> ByteStream {
    body.inspect(move |item| {
        if matches!(item, Err(Error::Corrupt { .. })) {
            flag.store(true, Ordering::SeqCst);
        }
    })
    .boxed()
}

impl ObjectReplicator {
    /// Lists what the peer holds in `suffixes`.
    async fn remote_versions(
        &self,
        host: &str,
        device: &str,
        part: u32,
        suffixes: &[String],
    ) -> Result<BTreeMap<PathHash, ReplicaVersion>> {
        let mut req = NodeRequest::new(NodeMethod::Replicate, device, part, suffixes.join("-"));
        req.headers.set(SERVER_TYPE_HEADER, "object");
        req.headers.set(REPLICATION_OP_HEADER, "list");
        let resp = self.client.send(host, req).await?;
        if resp.status != 200 {
            return Err(Error::Unavailable {
                reason: format!("listing from {host}/{device} answered {}", resp.status),
            });
        }
        decode_versions(&crate::stream::collect(resp.body, MAX_ANSWER).await?)
    }

    /// Sends one request; 2xx and 409 (the peer has something newer) are
    /// success.
    async fn send_item(&self, host: &str, req: NodeRequest) -> Result<()> {
        self.pacer.take(1.0).await;
        let resp = self.client.send(host, req).await?;
        if resp.is_success() || resp.status == 409 {
            Ok(())
        } else {
            Err(Error::Unavailable {
                reason: format!("replication write to {host} answered {}", resp.status),
            })
        }
    }

    async fn send_meta(
        &self,
        host: &str,
        dev: &str,
        loc: &ObjectLocation,
        m: &ObjectMetadata,
        mt: Timestamp,
    ) -> Result<()> {
        let mut req = replication_request("post", dev, loc.partition, &loc.hash, mt);
        for (n, v) in &m.user_meta {
            req.headers.set(n.clone(), v.clone());
        }
        self.send_item(host, req).await
    }

    async fn send_data(
        &self,
        host: &str,
        dev: &str,
        loc: &ObjectLocation,
        m: &ObjectMetadata,
    ) -> Result<()> {
        let read = self
            .backend
            .read(
                loc,
                ReadOptions {
                    range: None,
                    timestamp: Some(m.timestamp),
                },
            )
            .await?;
        let corrupt = Arc::new(AtomicBool::new(false));
        let mut req = replication_request("put", dev, loc.partition, &loc.hash, m.timestamp);
        // The data carries the metadata in effect; the update that follows
        // makes the peer's files the same as ours.
        for (n, v) in m.user_meta.iter().chain(&m.system_meta) {
            req.headers.set(n.clone(), v.clone());
        }
        req.headers.set(OBJECT_NAME_HEADER, encode_name(&m.name));
        req.headers.set("content-type", m.content_type.clone());
        req.headers.set("etag", m.etag.clone());
        req.headers
            .set("content-length", m.content_length.to_string());
        req.body = watch_corrupt(read.body, corrupt.clone());
        let sent = self.send_item(host, req).await;
        if corrupt.load(Ordering::SeqCst) {
            self.backend.quarantine(loc).await?;
            return Err(Error::Corrupt {
                what: format!("local copy of {loc}"),
            });
        }
        sent?;
        if let Some(mt) = m.meta_timestamp {
            self.send_meta(host, dev, loc, m, mt).await?;
        }
        Ok(())
    }
}

/// Sends the peer what it lacks in `suffixes`; returns whether every item
/// went through (failures are counted as errors).
pub(super) async fn sync_suffixes(
    rep: &ObjectReplicator,
    job: &Job,
    host: &str,
    peer_dev: &str,
    suffixes: &[String],
    tally: &Tally,
) -> Result<bool> {
    let (device, part) = (job.device.as_str(), job.partition);
    let mut remote = BTreeMap::new();
    for batch in suffixes.chunks(SUFFIX_BATCH) {
        remote.extend(rep.remote_versions(host, peer_dev, part, batch).await?);
    }
    let cutoff = rep.reclaim_cutoff();
    let mut ok = true;
    for suffix in suffixes {
        for hash in rep.backend.list_hashes(device, part, suffix).await? {
            let loc = ObjectLocation::new(device, part, hash);
            let state = match rep.backend.open(&loc).await {
                Ok(s) => s,
                Err(Error::Corrupt { .. }) => {
                    // A bad local copy: set it aside; the peers restore it.
                    rep.backend.quarantine(&loc).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let result = match decide(&state, remote.get(&hash), cutoff) {
                Action::Nothing => Ok(()),
                Action::Tombstone(ts) => {
                    let req = replication_request("delete", peer_dev, part, &hash, ts);
                    let r = rep.send_item(host, req).await;
                    if r.is_ok() {
                        tally.add("tombstones_sent", 1);
                    }
                    r
                }
                Action::Data => match &state {
                    ObjectState::Present(m) => {
                        let r = rep.send_data(host, peer_dev, &loc, m).await;
                        if r.is_ok() {
                            tally.add("objects_sent", 1);
                        }
                        r
                    }
                    _ => Ok(()),
                },
                Action::Meta(mt) => match &state {
                    ObjectState::Present(m) => rep.send_meta(host, peer_dev, &loc, m, mt).await,
                    _ => Ok(()),
                },
            };
            if let Err(e) = result {
                tracing::warn!(object = %loc, peer = host, error = %e, "replicating object failed");
                tally.error();
                ok = false;
            }
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Timestamp {
        Timestamp::from_ticks(s * 100_000)
    }

    fn meta(ts: u64, meta_ts: Option<u64>) -> ObjectState {
        ObjectState::Present(ObjectMetadata {
            name: "/a/c/o".into(),
            timestamp: t(ts),
            meta_timestamp: meta_ts.map(t),
            content_type: "x".into(),
            etag: String::new(),
            content_length: 0,
            user_meta: vec![],
            system_meta: vec![],
        })
    }

    fn remote(ts: u64, deleted: bool, meta_ts: Option<u64>) -> ReplicaVersion {
        ReplicaVersion {
            timestamp: t(ts),
            deleted,
            meta_timestamp: meta_ts.map(t),
        }
    }

    #[test]
    fn only_missing_or_newer_versions_are_sent() {
        let cut = t(5);
        assert_eq!(decide(&meta(10, None), None, cut), Action::Data);
        assert_eq!(
            decide(&meta(10, None), Some(&remote(9, true, None)), cut),
            Action::Data
        );
        assert_eq!(
            decide(&meta(10, None), Some(&remote(11, true, None)), cut),
            Action::Nothing
        );
        assert_eq!(
            decide(&meta(10, None), Some(&remote(10, false, None)), cut),
            Action::Nothing
        );
        assert_eq!(
            decide(&meta(10, Some(12)), Some(&remote(10, false, None)), cut),
            Action::Meta(t(12))
        );
        assert_eq!(
            decide(&meta(10, Some(12)), Some(&remote(10, false, Some(13))), cut),
            Action::Nothing
        );
        let dead = ObjectState::Deleted { timestamp: t(10) };
        assert_eq!(
            decide(&dead, Some(&remote(9, false, None)), cut),
            Action::Tombstone(t(10))
        );
        assert_eq!(decide(&dead, None, cut), Action::Tombstone(t(10)));
        assert_eq!(
            decide(&dead, Some(&remote(10, true, None)), cut),
            Action::Nothing
        );
        let old = ObjectState::Deleted { timestamp: t(4) };
        assert_eq!(decide(&old, None, cut), Action::Nothing);
        assert_eq!(decide(&ObjectState::Missing, None, cut), Action::Nothing);
    }
}
