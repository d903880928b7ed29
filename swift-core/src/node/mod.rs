//! The storage-node protocol and the storage node that serves it.
//!
//! The proxy talks to storage nodes with Swift's backend protocol:
//! `METHOD /<device>/<partition>/<account>[/<container>[/<object>]]` plus
//! `X-Timestamp`, `X-Container-*` and `X-Account-*` update headers. Here that
//! protocol is expressed in our own types ([`NodeRequest`], [`NodeResponse`])
//! so a [`NodeClient`] can be HTTP between processes or a direct call when
//! embedded. [`StorageNode`] dispatches to the object, container and account
//! servers by the depth of the path.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::{Error, Result};
use crate::hash::HashConfig;
use crate::headers::Headers;
use crate::stream::{self, ByteStream};

pub mod account_server;
pub mod container_server;
pub mod object_auditor;
pub mod object_replicator;
pub mod object_server;
mod pacer;

pub use account_server::AccountServer;
pub use container_server::ContainerServer;
pub use object_auditor::{ObjectAuditor, ObjectAuditorConfig};
pub use object_replicator::{ObjectReplicator, ObjectReplicatorConfig};
pub use object_server::ObjectServer;

/// Methods of the backend protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodeMethod {
    /// GET
    Get,
    /// HEAD
    Head,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// REPLICATE (suffix hashes, database sync)
    Replicate,
    /// Any other verb; servers answer 405.
    Other(String),
}

impl NodeMethod {
    /// The verb as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            NodeMethod::Get => "GET",
            NodeMethod::Head => "HEAD",
            NodeMethod::Put => "PUT",
            NodeMethod::Post => "POST",
            NodeMethod::Delete => "DELETE",
            NodeMethod::Replicate => "REPLICATE",
            NodeMethod::Other(s) => s,
        }
    }

    /// Parses a verb.
    pub fn parse(s: &str) -> Self {
        match s {
            "GET" => NodeMethod::Get,
            "HEAD" => NodeMethod::Head,
            "PUT" => NodeMethod::Put,
            "POST" => NodeMethod::Post,
            "DELETE" => NodeMethod::Delete,
            "REPLICATE" => NodeMethod::Replicate,
            other => NodeMethod::Other(other.to_string()),
        }
    }
}

/// One request to a storage node.
pub struct NodeRequest {
    /// The verb.
    pub method: NodeMethod,
    /// Device name on the node (`sda1`).
    pub device: String,
    /// Partition number.
    pub partition: u32,
    /// Decoded path after the partition, without a leading slash:
    /// `account`, `account/container` or `account/container/object` (the
    /// object part may contain slashes). For REPLICATE it is free-form.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: Headers,
    /// Request body (empty for GET/HEAD/DELETE).
    pub body: ByteStream,
}

impl fmt::Debug for NodeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeRequest")
            .field("method", &self.method)
            .field("device", &self.device)
            .field("partition", &self.partition)
            .field("path", &self.path)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

/// The parts of a request path: account, container, object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathParts<'a> {
    /// The account.
    pub account: &'a str,
    /// The container, if the path names one.
    pub container: Option<&'a str>,
    /// The object, if the path names one.
    pub object: Option<&'a str>,
}

impl NodeRequest {
    /// A request with an empty body and no headers.
    pub fn new(
        method: NodeMethod,
        device: impl Into<String>,
        partition: u32,
        path: impl Into<String>,
    ) -> Self {
        Self {
            method,
            device: device.into(),
            partition,
            path: path.into(),
            query: Vec::new(),
            headers: Headers::new(),
            body: stream::empty(),
        }
    }

    /// Splits [`NodeRequest::path`] into account, container and object.
    pub fn parts(&self) -> PathParts<'_> {
        let mut it = self.path.splitn(3, '/');
        let account = it.next().unwrap_or("");
        let container = it.next();
        let object = it.next();
        PathParts {
            account,
            container,
            object,
        }
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The percent-encoded request target, `/<device>/<part>/<path>?<query>`,
    /// as an HTTP client sends it.
    pub fn uri(&self) -> String {
        let mut s = format!(
            "/{}/{}/{}",
            utf8_percent_encode(&self.device, PATH_SEGMENT),
            self.partition,
            utf8_percent_encode(&self.path, PATH)
        );
        if !self.query.is_empty() {
            s.push('?');
            let q: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(k, QUERY),
                        utf8_percent_encode(v, QUERY)
                    )
                })
                .collect();
            s.push_str(&q.join("&"));
        }
        s
    }

    /// Parses a raw (still percent-encoded) request path and query, as an
    /// HTTP server receives them, into a request with an empty body.
    /// Fails with [`Error::InvalidInput`] for a path without device and
    /// partition, a bad partition, or a path that is not UTF-8.
    pub fn from_uri(method: NodeMethod, raw_path: &str, raw_query: Option<&str>) -> Result<Self> {
        let trimmed = raw_path
            .strip_prefix('/')
            .ok_or_else(|| Error::invalid("path must start with /"))?;
        let mut it = trimmed.splitn(3, '/');
        let device = decode(it.next().unwrap_or(""))?;
        let part_s = decode(it.next().unwrap_or(""))?;
        let path = decode(it.next().unwrap_or(""))?;
        if device.is_empty() {
            return Err(Error::invalid("missing device"));
        }
        let partition = part_s
            .parse::<u32>()
            .map_err(|_| Error::invalid(format!("invalid partition {part_s:?}")))?;
        let mut query = Vec::new();
        if let Some(q) = raw_query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                query.push((decode_form(k)?, decode_form(v)?));
            }
        }
        let mut req = Self::new(method, device, partition, path);
        req.query = query;
        Ok(req)
    }
}

fn decode(s: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::invalid("path is not valid UTF-8"))
}

fn decode_form(s: &str) -> Result<String> {
    decode(&s.replace('+', " "))
}

const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'=')
    .add(b'<')
    .add(b'>')
    .add(b'`');

/// A storage node's answer.
pub struct NodeResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: Headers,
    /// Response body (empty for HEAD).
    pub body: ByteStream,
}

impl fmt::Debug for NodeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl NodeResponse {
    /// A response with an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Headers::new(),
            body: stream::empty(),
        }
    }

    /// A response with a small body.
    pub fn with_body(status: u16, body: impl Into<bytes::Bytes>) -> Self {
        Self {
            status,
            headers: Headers::new(),
            body: stream::once(body),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends backend-protocol requests to storage nodes.
#[async_trait]
pub trait NodeClient: Send + Sync + fmt::Debug + 'static {
    /// Sends `req` to the node at `host` (`ip:port`) and returns its answer,
    /// whatever the status. Fails with [`Error::Unavailable`] when the node
    /// cannot be reached or does not answer within the client's timeout.
    /// The response body streams; dropping it abandons the rest.
    async fn send(&self, host: &str, req: NodeRequest) -> Result<NodeResponse>;
}

/// Settings shared by the object, container and account servers of a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Directory holding one subdirectory per device.
    pub devices: PathBuf,
    /// When true, a device whose directory is missing answers 507 (Swift's
    /// `mount_check`, here: the directory must exist).
    pub mount_check: bool,
    /// The cluster's path-hash secret.
    pub hash: HashConfig,
    /// fsync data and directories before answering success.
    pub fsync: bool,
}

/// A storage node: object, container and account servers behind one entry.
#[derive(Debug, Clone)]
pub struct StorageNode {
    object: Arc<ObjectServer>,
    container: Arc<ContainerServer>,
    account: Arc<AccountServer>,
}

impl StorageNode {
    /// A node from its three servers.
    pub fn new(
        object: Arc<ObjectServer>,
        container: Arc<ContainerServer>,
        account: Arc<AccountServer>,
    ) -> Self {
        Self {
            object,
            container,
            account,
        }
    }

    /// The object server.
    pub fn object_server(&self) -> &Arc<ObjectServer> {
        &self.object
    }

    /// The container server.
    pub fn container_server(&self) -> &Arc<ContainerServer> {
        &self.container
    }

    /// The account server.
    pub fn account_server(&self) -> &Arc<AccountServer> {
        &self.account
    }

    /// Serves one backend request, routing by path depth. Never fails: every
    /// problem is a status code.
    pub async fn handle(&self, req: NodeRequest) -> NodeResponse {
        // Object replication names a partition, not an object: route it by
        // the server type it names.
        if req.method == NodeMethod::Replicate
            && req.headers.get(SERVER_TYPE_HEADER) == Some("object")
        {
            return self.object.handle(req).await;
        }
        let parts = req.parts();
        if parts.account.is_empty() && req.method != NodeMethod::Replicate {
            return NodeResponse::with_body(400, "missing account");
        }
        // Row updates between servers (object row to a container, container
        // row to an account) name their target server, since one port serves
        // all three.
        match req.headers.get(SERVER_TYPE_HEADER) {
            Some("container") => return self.container.handle(req).await,
            Some("account") => return self.account.handle(req).await,
            Some("object") | None => {}
            Some(_) => return NodeResponse::with_body(400, "unknown server type"),
        }
        // Database replication names its server; a bare REPLICATE is the
        // object replicator's (suffix hashes).
        if req.method == NodeMethod::Replicate {
            return self.object.handle(req).await;
        }
        match (parts.container, parts.object) {
            (Some(c), Some(o)) if !c.is_empty() && !o.is_empty() => self.object.handle(req).await,
            (Some(c), None) if !c.is_empty() => self.container.handle(req).await,
            (None, None) => self.account.handle(req).await,
            _ => NodeResponse::with_body(400, "invalid path"),
        }
    }
}

/// The header that names the server a request is for (`object`,
/// `container` or `account`), when the path depth alone does not: an object
/// row sent to a container server has an object's path.
pub const SERVER_TYPE_HEADER: &str = "x-backend-server-type";

/// A [`NodeClient`] that calls [`StorageNode`]s in this process: for
/// embedding and tests. Hosts not registered (or marked down) answer
/// [`Error::Unavailable`], as an unreachable node would.
#[derive(Debug, Default)]
pub struct InProcessNodeClient {
    nodes: std::sync::RwLock<HashMap<String, (StorageNode, bool)>>,
}

impl InProcessNodeClient {
    /// An empty client.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the node serving `host` (`ip:port`).
    pub fn register(&self, host: impl Into<String>, node: StorageNode) {
        if let Ok(mut m) = self.nodes.write() {
            m.insert(host.into(), (node, true));
        }
    }

    /// Marks a host up or down, to simulate a failed node.
    pub fn set_up(&self, host: &str, up: bool) {
        if let Ok(mut m) = self.nodes.write() {
            if let Some(entry) = m.get_mut(host) {
                entry.1 = up;
            }
        }
    }
}

#[async_trait]
impl NodeClient for InProcessNodeClient {
    async fn send(&self, host: &str, req: NodeRequest) -> Result<NodeResponse> {
        let node = {
            let m = self.nodes.read().map_err(|_| Error::Unavailable {
                reason: "node table poisoned".into(),
            })?;
            match m.get(host) {
                Some((node, true)) => node.clone(),
                _ => {
                    return Err(Error::Unavailable {
                        reason: format!("node {host} unreachable"),
                    })
                }
            }
        };
        Ok(node.handle(req).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_round_trips() {
        let mut req = NodeRequest::new(NodeMethod::Put, "sda1", 17, "AUTH_t/c/a b/ü?x#y%z");
        req.query.push(("prefix".into(), "a&b=c d".into()));
        let uri = req.uri();
        let (path, query) = uri.split_once('?').unwrap();
        let back = NodeRequest::from_uri(NodeMethod::Put, path, Some(query)).unwrap();
        assert_eq!(back.device, "sda1");
        assert_eq!(back.partition, 17);
        assert_eq!(back.path, "AUTH_t/c/a b/ü?x#y%z");
        assert_eq!(back.query, req.query);
        let parts = back.parts();
        assert_eq!(parts.account, "AUTH_t");
        assert_eq!(parts.container, Some("c"));
        assert_eq!(parts.object, Some("a b/ü?x#y%z"));
    }

    #[test]
    fn from_uri_rejects_bad_paths() {
        assert!(NodeRequest::from_uri(NodeMethod::Get, "sda/1/a", None).is_err());
        assert!(NodeRequest::from_uri(NodeMethod::Get, "/sda/x/a", None).is_err());
        assert!(NodeRequest::from_uri(NodeMethod::Get, "/sda/1/%ff", None).is_err());
    }
}
