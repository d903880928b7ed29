//! The replication side of the object server: `REPLICATE` requests the
//! object replicator sends to its peers.
//!
//! Every request is `REPLICATE /<device>/<partition>[/<suffix>-<suffix>...]`
//! with [`SERVER_TYPE_HEADER`](crate::node::SERVER_TYPE_HEADER) `object`; the
//! operation is in [`REPLICATION_OP_HEADER`]:
//!
//! | op | answer |
//! |---|---|
//! | `hashes` (or absent) | 200, JSON `{suffix: md5}` of the partition after rehashing the listed suffixes |
//! | `list` | 200, JSON `{hash: {"timestamp", "deleted", "meta_timestamp"}}` of every object in the listed suffixes |
//! | `put` | stores a data version as is: 201; 409 when not newer |
//! | `delete` | stores a tombstone: 204; 409 when not newer |
//! | `post` | stores a metadata update: 202; 404 without data; 409 when not newer |
//!
//! `put`, `delete` and `post` name the object by [`OBJECT_HASH_HEADER`]
//! (tombstones carry no name) and take `X-Timestamp`; `put` also takes
//! [`OBJECT_NAME_HEADER`] (percent-encoded `/account/container/object`),
//! `Content-Type`, `ETag`, `Content-Length` and the metadata headers, and
//! `post` the user metadata. Unlike client writes they send no container
//! updates and skip the `X-Delete-At` checks: they copy what another
//! replica already accepted.

use std::collections::BTreeMap;

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

use super::{
    collect_meta, error_response, is_system_meta, is_user_meta, request_timestamp, text,
    ObjectServer,
};
use crate::error::Error;
use crate::hash::PathHash;
use crate::headers::Headers;
use crate::node::{NodeRequest, NodeResponse};
use crate::object::replication::parse_suffixes;
use crate::object::{MetadataUpdate, NewObject, ObjectLocation, ObjectState, PutOptions};
use crate::ring::RingKind;
use crate::timestamp::Timestamp;

/// Names the replication operation of a `REPLICATE` request.
pub const REPLICATION_OP_HEADER: &str = "x-backend-replication-op";
/// The path hash (32 hex digits) a replication write is for.
pub const OBJECT_HASH_HEADER: &str = "x-backend-object-hash";
/// The percent-encoded object name of a replicated data version.
pub const OBJECT_NAME_HEADER: &str = "x-backend-object-name";

/// What one replica holds for an object (an entry of the `list` answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaVersion {
    /// The current data version's or tombstone's timestamp.
    pub timestamp: Timestamp,
    /// Whether the current version is a tombstone.
    pub deleted: bool,
    /// The metadata update in effect, if any.
    pub meta_timestamp: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct WireVersion {
    timestamp: String,
    deleted: bool,
    meta_timestamp: Option<String>,
}

/// Encodes the `list` answer.
pub fn encode_versions(v: &BTreeMap<PathHash, ReplicaVersion>) -> Vec<u8> {
    let wire: BTreeMap<String, WireVersion> = v
        .iter()
        .map(|(h, r)| {
            (
                h.to_hex(),
                WireVersion {
                    timestamp: r.timestamp.internal(),
                    deleted: r.deleted,
                    meta_timestamp: r.meta_timestamp.map(|t| t.internal()),
                },
            )
        })
        .collect();
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Decodes the `list` answer; `Error::InvalidInput` when malformed.
pub fn decode_versions(bytes: &[u8]) -> crate::Result<BTreeMap<PathHash, ReplicaVersion>> {
    let bad = |what: &str| Error::invalid(format!("bad replication listing: {what}"));
    let wire: BTreeMap<String, WireVersion> =
        serde_json::from_slice(bytes).map_err(|_| bad("json"))?;
    wire.into_iter()
        .map(|(h, w)| {
            let hash = PathHash::from_hex(&h).ok_or_else(|| bad("hash"))?;
            let ts = |s: &str| s.parse::<Timestamp>().map_err(|_| bad("timestamp"));
            Ok((
                hash,
                ReplicaVersion {
                    timestamp: ts(&w.timestamp)?,
                    deleted: w.deleted,
                    meta_timestamp: w.meta_timestamp.as_deref().map(ts).transpose()?,
                },
            ))
        })
        .collect()
}

/// Percent-encodes an object name for [`OBJECT_NAME_HEADER`].
pub fn encode_name(name: &str) -> String {
    utf8_percent_encode(name, NON_ALPHANUMERIC).to_string()
}

fn json(status: u16, body: Vec<u8>) -> NodeResponse {
    let mut r = NodeResponse::with_body(status, body.clone());
    r.headers.set("content-type", "application/json");
    r.headers.set("content-length", body.len().to_string());
    r
}

impl ObjectServer {
    /// Serves a `REPLICATE` request (see the module docs).
    pub async fn replicate(&self, req: NodeRequest) -> NodeResponse {
        let op = req
            .headers
            .get(REPLICATION_OP_HEADER)
            .unwrap_or("hashes")
            .to_string();
        match op.as_str() {
            "hashes" | "list" => {
                let suffixes = match parse_suffixes(&req.path) {
                    Ok(s) => s,
                    Err(e) => return error_response(&e),
                };
                if op == "hashes" {
                    match self
                        .backend
                        .suffix_hashes(&req.device, req.partition, &suffixes)
                        .await
                    {
                        Ok(h) => json(200, serde_json::to_vec(&h).unwrap_or_default()),
                        Err(e) => error_response(&e),
                    }
                } else {
                    self.list_versions(&req.device, req.partition, &suffixes)
                        .await
                }
            }
            "put" | "delete" | "post" => {
                let loc = match self.replication_target(&req) {
                    Ok(l) => l,
                    Err(r) => return r,
                };
                let ts = match request_timestamp(&req.headers) {
                    Ok(t) => t,
                    Err(r) => return r,
                };
                match op.as_str() {
                    "put" => self.replicated_put(req, &loc, ts).await,
                    "delete" => match self.backend.delete(&loc, ts).await {
                        Ok(()) => NodeResponse::status(204),
                        Err(e) => error_response(&e),
                    },
                    _ => {
                        let update = MetadataUpdate {
                            timestamp: ts,
                            user_meta: collect_meta(&req.headers, is_user_meta),
                        };
                        match self.backend.post(&loc, update).await {
                            Ok(()) => NodeResponse::status(202),
                            Err(e) => error_response(&e),
                        }
                    }
                }
            }
            _ => text(400, "unknown replication op"),
        }
    }

    /// The versions of every object in `suffixes`; corrupt objects are
    /// quarantined and left out, so the peer sends a good copy.
    async fn list_versions(&self, device: &str, part: u32, suffixes: &[String]) -> NodeResponse {
        let mut out = BTreeMap::new();
        for suffix in suffixes {
            let hashes = match self.backend.list_hashes(device, part, suffix).await {
                Ok(h) => h,
                Err(e) => return error_response(&e),
            };
            for hash in hashes {
                let loc = ObjectLocation::new(device, part, hash);
                let v = match self.backend.open(&loc).await {
                    Ok(ObjectState::Missing) => continue,
                    Ok(ObjectState::Deleted { timestamp }) => ReplicaVersion {
                        timestamp,
                        deleted: true,
                        meta_timestamp: None,
                    },
                    Ok(ObjectState::Present(m)) => ReplicaVersion {
                        timestamp: m.timestamp,
                        deleted: false,
                        meta_timestamp: m.meta_timestamp,
                    },
                    Err(Error::Corrupt { what }) => {
                        self.quarantine(&loc, &what).await;
                        continue;
                    }
                    Err(e) => return error_response(&e),
                };
                out.insert(hash, v);
            }
        }
        json(200, encode_versions(&out))
    }

    /// The location a replication write names, checked against the ring.
    fn replication_target(&self, req: &NodeRequest) -> Result<ObjectLocation, NodeResponse> {
        let hash = req
            .headers
            .get(OBJECT_HASH_HEADER)
            .and_then(PathHash::from_hex)
            .ok_or_else(|| text(400, "missing or invalid object hash"))?;
        if self.rings.get(RingKind::Object).partition_of(&hash) != req.partition {
            return Err(text(400, "object hash not in partition"));
        }
        Ok(ObjectLocation::new(req.device.clone(), req.partition, hash))
    }

    async fn replicated_put(
        &self,
        req: NodeRequest,
        loc: &ObjectLocation,
        ts: Timestamp,
    ) -> NodeResponse {
        let h: &Headers = &req.headers;
        let name = match h
            .get(OBJECT_NAME_HEADER)
            .and_then(|n| percent_decode_str(n).decode_utf8().ok())
        {
            Some(n) => n.into_owned(),
            None => return text(400, "missing object name"),
        };
        let mut it = name.strip_prefix('/').unwrap_or("").splitn(3, '/');
        let (a, c, o) = (it.next(), it.next(), it.next());
        let matches = match (a, c, o) {
            (Some(a), Some(c), Some(o)) => {
                self.config.hash.hash_path(a, Some(c), Some(o)) == loc.hash
            }
            _ => false,
        };
        if !matches {
            return text(400, "object name does not match its hash");
        }
        let expected_length = match h.get("content-length").map(|v| v.trim().parse::<u64>()) {
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => return text(400, "Invalid Content-Length"),
            None => None,
        };
        let obj = NewObject {
            name,
            timestamp: ts,
            content_type: h.get("content-type").unwrap_or_default().to_string(),
            user_meta: collect_meta(h, is_user_meta),
            system_meta: collect_meta(h, is_system_meta),
        };
        let opts = PutOptions {
            expected_etag: h
                .get("etag")
                .map(|e| e.trim().trim_matches('"').to_string()),
            expected_length,
        };
        match self.backend.put(loc, obj, req.body, opts).await {
            Ok(m) => {
                let mut r = NodeResponse::status(201);
                r.headers.set("etag", m.etag);
                r
            }
            Err(e) => error_response(&e),
        }
    }

    /// Quarantines a corrupt object, logging the outcome.
    pub(super) async fn quarantine(&self, loc: &ObjectLocation, why: &str) {
        match self.backend.quarantine(loc).await {
            Ok(()) => tracing::warn!(object = %loc, reason = why, "quarantined corrupt object"),
            Err(e) => tracing::error!(object = %loc, error = %e, "quarantine failed"),
        }
    }
}
