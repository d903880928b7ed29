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
use crate::names::{Constraints, MetaKind};
use crate::object::{
    MetadataUpdate, NewObject, ObjectBackend, ObjectLocation, ObjectMetadata, ObjectState,
    PutOptions,
};
use crate::ring::Rings;
use crate::timestamp::Timestamp;

pub mod conditional;
mod get;
pub mod range;
mod update;

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

    async fn put(
        &self,
        h: &Headers,
        body: crate::stream::ByteStream,
        loc: &ObjectLocation,
        (account, container, object): (String, String, String),
    ) -> NodeResponse {
        let ts = match request_timestamp(h) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let constraints = Constraints::default();
        let expected_length = match h.get("content-length").map(|v| v.trim().parse::<u64>()) {
            None => None,
            Some(Ok(n)) if n > constraints.max_file_size => {
                return text(413, "Request Entity Too Large")
            }
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => return text(400, "Invalid Content-Length"),
        };
        let Some(content_type) = h.get("content-type").filter(|c| !c.is_empty()) else {
            return text(400, "No content type");
        };
        if let Err(r) = check_delete_at(h) {
            return r;
        }
        if let Err(e) = constraints.check_metadata(h, MetaKind::Object) {
            return error_response(&e);
        }
        let current = match self.backend.open(loc).await {
            Ok(s) => s,
            Err(e) => return error_response(&e),
        };
        if let Some(cur) = current.timestamp() {
            if cur >= ts {
                return with_backend_ts(text(409, "Conflict"), Some(cur));
            }
        }
        if let (Some(inm), ObjectState::Present(m)) = (h.get("if-none-match"), &current) {
            if !is_expired(m) && conditional::etag_matches(inm, &m.etag) {
                return with_backend_ts(text(412, "Precondition Failed"), Some(m.timestamp));
            }
        }
        let obj = NewObject {
            name: format!("/{account}/{container}/{object}"),
            timestamp: ts,
            content_type: content_type.to_string(),
            user_meta: collect_meta(h, is_user_meta),
            system_meta: collect_meta(h, is_system_meta),
        };
        let opts = PutOptions {
            expected_etag: h
                .get("etag")
                .map(|e| e.trim().trim_matches('"').to_ascii_lowercase()),
            expected_length,
        };
        let meta = match self.backend.put(loc, obj, body, opts).await {
            Ok(m) => m,
            Err(Error::Conflict { .. }) => {
                let cur = self
                    .backend
                    .open(loc)
                    .await
                    .ok()
                    .and_then(|s| s.timestamp());
                return with_backend_ts(text(409, "Conflict"), cur);
            }
            // The body did not have the announced length.
            Err(Error::InvalidInput { .. }) => return text(499, "Client Disconnect"),
            Err(e) => return error_response(&e),
        };
        let mut update_headers = vec![
            ("x-size".to_string(), meta.content_length.to_string()),
            ("x-content-type".to_string(), meta.content_type.clone()),
            ("x-etag".to_string(), meta.etag.clone()),
            ("x-timestamp".to_string(), ts.internal()),
        ];
        let overrides = meta
            .system_meta
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    n.strip_prefix("x-object-sysmeta-container-update-override-")?,
                    v.as_str(),
                ))
            })
            .chain(h.iter().filter_map(|(n, v)| {
                Some((n.strip_prefix("x-backend-container-update-override-")?, v))
            }));
        let mut upd: Headers = update_headers.drain(..).collect();
        for (name, value) in overrides {
            upd.set(format!("x-{name}"), value);
        }
        copy_passthrough(h, &mut upd);
        let pending = AsyncPending {
            op: "PUT".into(),
            account,
            container,
            obj: object,
            headers: upd.into_iter().collect(),
            container_partition: None,
            successes: Vec::new(),
        };
        self.container_update(h, &loc.device, pending, ts).await;
        let mut r = NodeResponse::status(201);
        r.headers.set("etag", meta.etag);
        r.headers.set("content-length", "0");
        r
    }

    async fn post(&self, h: &Headers, loc: &ObjectLocation) -> NodeResponse {
        let ts = match request_timestamp(h) {
            Ok(t) => t,
            Err(r) => return r,
        };
        if let Err(r) = check_delete_at(h) {
            return r;
        }
        if let Err(e) = Constraints::default().check_metadata(h, MetaKind::Object) {
            return error_response(&e);
        }
        let meta = match self.backend.open(loc).await {
            Ok(ObjectState::Present(m)) if !is_expired(&m) => m,
            Ok(ObjectState::Present(m)) => {
                return with_backend_ts(text(404, "Not Found"), Some(m.effective_timestamp()))
            }
            Ok(ObjectState::Deleted { timestamp }) => {
                return with_backend_ts(text(404, "Not Found"), Some(timestamp))
            }
            Ok(ObjectState::Missing) => return text(404, "Not Found"),
            Err(e) => return error_response(&e),
        };
        if meta.effective_timestamp() >= ts {
            return with_backend_ts(text(409, "Conflict"), Some(meta.effective_timestamp()));
        }
        let update = MetadataUpdate {
            timestamp: ts,
            user_meta: collect_meta(h, is_user_meta),
        };
        match self.backend.post(loc, update).await {
            Ok(()) => {
                let mut r = NodeResponse::status(202);
                r.headers.set("content-length", "0");
                r
            }
            Err(e) => error_response(&e),
        }
    }

    async fn delete(
        &self,
        h: &Headers,
        loc: &ObjectLocation,
        (account, container, object): (String, String, String),
    ) -> NodeResponse {
        let ts = match request_timestamp(h) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let state = match self.backend.open(loc).await {
            Ok(s) => s,
            Err(e) => return error_response(&e),
        };
        let existing = match &state {
            ObjectState::Present(m) if !is_expired(m) => Some(m),
            _ => None,
        };
        if let Some(want) = h.get("x-if-delete-at") {
            let Ok(want) = want.trim().parse::<u64>() else {
                return text(400, "Bad X-If-Delete-At header value");
            };
            if existing.and_then(delete_at) != Some(want) {
                return text(412, "X-If-Delete-At and X-Delete-At do not match");
            }
        }
        let orig = state.timestamp();
        if orig.is_some_and(|o| o >= ts) {
            return with_backend_ts(text(409, "Conflict"), orig);
        }
        if let Err(e) = self.backend.delete(loc, ts).await {
            if matches!(e, Error::Conflict { .. }) {
                let cur = self
                    .backend
                    .open(loc)
                    .await
                    .ok()
                    .and_then(|s| s.timestamp());
                return with_backend_ts(text(409, "Conflict"), cur);
            }
            return error_response(&e);
        }
        let mut upd = Headers::new().with("x-timestamp", ts.internal());
        copy_passthrough(h, &mut upd);
        let pending = AsyncPending {
            op: "DELETE".into(),
            account,
            container,
            obj: object,
            headers: upd.into_iter().collect(),
            container_partition: None,
            successes: Vec::new(),
        };
        self.container_update(h, &loc.device, pending, ts).await;
        let status = if existing.is_some() { 204 } else { 404 };
        let mut r = with_backend_ts(NodeResponse::status(status), orig);
        r.headers.set("content-length", "0");
        r
    }
}

/// Request headers the container update carries along.
fn copy_passthrough(from: &Headers, to: &mut Headers) {
    for name in ["x-trans-id", "x-backend-storage-policy-index", "referer"] {
        if let Some(v) = from.get(name) {
            to.set(name, v);
        }
    }
}

#[cfg(test)]
mod tests;
