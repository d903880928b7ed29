//! The object server of a storage node: Swift's object backend protocol
//! (`PUT/GET/HEAD/POST/DELETE /<device>/<part>/<account>/<container>/<object>`)
//! over an [`ObjectBackend`], with container updates after writes.
//!
//! Metadata classes follow Swift: `X-Object-Meta-*`,
//! `X-Object-Transient-Sysmeta-*` and the allowed headers
//! ([`ALLOWED_HEADERS`]) are user metadata that a POST replaces;
//! `X-Object-Sysmeta-*` and `X-Static-Large-Object` stay with the data.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{NodeClient, NodeConfig, NodeMethod, NodeRequest, NodeResponse};
use crate::error::Error;
use crate::headers::Headers;
use crate::object::{ObjectBackend, ObjectLocation, ObjectMetadata};
use crate::ring::Rings;
use crate::timestamp::Timestamp;

pub mod conditional;
mod get;
pub mod range;
pub mod replicate;
mod update;
mod write;

pub use replicate::ReplicaVersion;
pub use update::AsyncPending;

/// Headers besides metadata that an object PUT or POST stores (Swift's
/// default `allowed_headers`).
pub const ALLOWED_HEADERS: &[&str] = &[
    "content-disposition",
    "content-encoding",
    "x-delete-at",
    "x-object-manifest",
    "cache-control",
    "content-language",
    "expires",
    "x-robots-tag",
];

/// Serves object requests for one node's devices.
#[derive(Debug)]
pub struct ObjectServer {
    config: NodeConfig,
    rings: Arc<Rings>,
    backend: Arc<dyn ObjectBackend>,
    client: Arc<dyn NodeClient>,
}

/// The account, container and object of a request.
struct Names<'a> {
    account: &'a str,
    container: &'a str,
    object: &'a str,
}

fn text(status: u16, body: &str) -> NodeResponse {
    let mut r = NodeResponse::with_body(status, body.to_string());
    r.headers.set("content-type", "text/plain; charset=utf-8");
    r.headers.set("content-length", body.len().to_string());
    r
}

fn with_backend_ts(mut r: NodeResponse, ts: Option<Timestamp>) -> NodeResponse {
    if let Some(ts) = ts {
        r.headers.set("x-backend-timestamp", ts.internal());
    }
    r
}

/// Maps a backend error to a status; 500 only for real failures.
fn error_response(e: &Error) -> NodeResponse {
    match e {
        Error::NotFound { .. } => text(404, "Not Found"),
        Error::InsufficientStorage { device } => text(507, &format!("{device} is not mounted")),
        Error::Conflict { .. } | Error::AlreadyExists { .. } => text(409, "Conflict"),
        Error::InvalidInput { reason } => text(400, reason),
        Error::Corrupt { .. } => text(422, "Unprocessable Entity"),
        Error::Unavailable { .. } => text(499, "Client Disconnect"),
        other => {
            tracing::error!(error = %other, "object backend failure");
            text(500, "Internal Server Error")
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The object's `X-Delete-At`, if set and valid.
fn delete_at(meta: &ObjectMetadata) -> Option<u64> {
    meta.user_meta
        .iter()
        .find(|(n, _)| n == "x-delete-at")
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// Whether the object has passed its `X-Delete-At`.
fn is_expired(meta: &ObjectMetadata) -> bool {
    delete_at(meta).is_some_and(|t| t <= now_secs())
}

/// `X-Timestamp` of a request, or the 400 to answer.
fn request_timestamp(headers: &Headers) -> Result<Timestamp, NodeResponse> {
    let raw = headers
        .get("x-timestamp")
        .ok_or_else(|| text(400, "Missing timestamp"))?;
    raw.trim().parse().map_err(|_| {
        text(
            400,
            &format!("X-Timestamp should be a UNIX timestamp float value; was {raw:?}"),
        )
    })
}

/// Checks `X-Delete-At` of a PUT or POST.
fn check_delete_at(headers: &Headers) -> Result<(), NodeResponse> {
    if let Some(v) = headers.get("x-delete-at") {
        let t: u64 = v
            .trim()
            .parse()
            .map_err(|_| text(400, "Non-integer X-Delete-At"))?;
        if t <= now_secs() {
            return Err(text(400, "X-Delete-At in past"));
        }
    }
    Ok(())
}

fn is_user_meta(name: &str) -> bool {
    (name.starts_with("x-object-meta-") && name.len() > "x-object-meta-".len())
        || name.starts_with("x-object-transient-sysmeta-")
        || ALLOWED_HEADERS.contains(&name)
}

fn is_system_meta(name: &str) -> bool {
    name.starts_with("x-object-sysmeta-") || name == "x-static-large-object"
}

fn collect_meta(headers: &Headers, keep: fn(&str) -> bool) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| keep(n))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

impl ObjectServer {
    /// A server over the node's devices, storing objects in `backend` and
    /// sending container updates through `client`.
    pub fn new(
        config: NodeConfig,
        rings: Arc<Rings>,
        backend: Arc<dyn ObjectBackend>,
        client: Arc<dyn NodeClient>,
    ) -> Self {
        Self {
            config,
            rings,
            backend,
            client,
        }
    }

    /// The backend objects are stored in.
    pub fn backend(&self) -> &Arc<dyn ObjectBackend> {
        &self.backend
    }

    /// Serves one request. Never fails: every problem is a status code.
    pub async fn handle(&self, req: NodeRequest) -> NodeResponse {
        if !crate::object::valid_device_name(&req.device) {
            return text(507, &format!("{} is not mounted", req.device));
        }
        if req.method == NodeMethod::Replicate {
            return self.replicate(req).await;
        }
        let parts = req.parts();
        let names = match (parts.container, parts.object) {
            (Some(c), Some(o)) if !parts.account.is_empty() && !c.is_empty() && !o.is_empty() => {
                Names {
                    account: parts.account,
                    container: c,
                    object: o,
                }
            }
            _ => return text(400, "Invalid path"),
        };
        let hash =
            self.config
                .hash
                .hash_path(names.account, Some(names.container), Some(names.object));
        let loc = ObjectLocation::new(req.device.clone(), req.partition, hash);
        let names = (
            names.account.to_string(),
            names.container.to_string(),
            names.object.to_string(),
        );
        let NodeRequest {
            method,
            headers,
            body,
            ..
        } = req;
        match method {
            NodeMethod::Get => self.get_or_head(&headers, &loc, false).await,
            NodeMethod::Head => self.get_or_head(&headers, &loc, true).await,
            NodeMethod::Put => self.put(&headers, body, &loc, names).await,
            NodeMethod::Post => self.post(&headers, &loc).await,
            NodeMethod::Delete => self.delete(&headers, &loc, names).await,
            _ => text(405, "Method Not Allowed"),
        }
    }
}

#[cfg(test)]
mod tests;
