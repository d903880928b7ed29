//! The container server of a storage node: Swift's backend protocol for
//! containers (`/<dev>/<part>/<a>/<c>`) and their object rows
//! (`/<dev>/<part>/<a>/<c>/<o>`), over one [`ContainerBroker`] per
//! container database.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::{NodeClient, NodeConfig, NodeMethod, NodeRequest, NodeResponse};
use crate::db::format::{container_listing_body, listing_content_type};
use crate::db::request::{
    add_metadata_headers, device_ok, error_response, header_u64, listing_params,
    metadata_from_headers, policy_index, text, x_timestamp, Req,
};
use crate::db::{self, ContainerBroker, ContainerInfo, ObjectRecord};
use crate::headers::Headers;
use crate::names::Constraints;
use crate::ring::Rings;

mod updater;

/// Container headers stored as metadata besides `X-Container-Meta-*` and
/// `X-Container-Sysmeta-*`.
const SAVE_HEADERS: &[&str] = &[
    "x-container-read",
    "x-container-write",
    "x-container-sync-key",
    "x-container-sync-to",
];

/// Serves container requests for one node's devices and pushes container
/// stats to the account servers.
#[derive(Debug)]
pub struct ContainerServer {
    config: NodeConfig,
    rings: Arc<Rings>,
    client: Arc<dyn NodeClient>,
    listing_limit: usize,
    /// Databases changed since their stats were last pushed.
    dirty: Mutex<HashSet<PathBuf>>,
    /// Whether the startup walk of all databases was done.
    walked: AtomicBool,
}

/// Shorthand: turn a broker error into its response.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return error_response(&e),
        }
    };
}

/// Shorthand: return an early response.
macro_rules! early {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}

/// Headers describing a container, as Swift's `gen_resp_headers` builds
/// them; the client-visible ones only when it is not deleted.
fn info_headers(info: &ContainerInfo, deleted: bool) -> Headers {
    let mut h = Headers::new();
    h.set("X-Backend-Timestamp", info.created_at.internal());
    h.set("X-Backend-PUT-Timestamp", info.put_timestamp.internal());
    h.set(
        "X-Backend-DELETE-Timestamp",
        info.delete_timestamp.internal(),
    );
    h.set(
        "X-Backend-Status-Changed-At",
        info.status_changed_at.internal(),
    );
    h.set(
        "X-Backend-Storage-Policy-Index",
        info.storage_policy_index.to_string(),
    );
    if !deleted {
        h.set("X-Container-Object-Count", info.object_count.to_string());
        h.set("X-Container-Bytes-Used", info.bytes_used.to_string());
        h.set("X-Timestamp", info.created_at.normal());
        h.set("X-PUT-Timestamp", info.put_timestamp.normal());
        h.set("X-Backend-Sharding-State", "unsharded");
    }
    h
}

impl ContainerServer {
    /// A server over the node's devices; `rings` locate the account
    /// servers, `client` reaches them.
    pub fn new(config: NodeConfig, rings: Arc<Rings>, client: Arc<dyn NodeClient>) -> Self {
        Self {
            config,
            rings,
            client,
            listing_limit: Constraints::default().container_listing_limit,
            dirty: Mutex::new(HashSet::new()),
            walked: AtomicBool::new(false),
        }
    }

    /// Serves one request. Never fails: every problem is a status code.
    pub async fn handle(&self, req: NodeRequest) -> NodeResponse {
        if req.method == NodeMethod::Replicate {
            return db::replication::serve::serve(&self.config, db::DbKind::Container, req).await;
        }
        let req = Req::new(req);
        let (account, container, object) = req.parts();
        let container = container.unwrap_or_default();
        if account.is_empty() || container.is_empty() || object.as_deref() == Some("") {
            return text(400, "invalid path");
        }
        if req.method == NodeMethod::Get {
            // Swift validates listing parameters before the drive.
            if let Err(resp) = listing_params(&req, self.listing_limit) {
                return resp;
            }
        }
        if !device_ok(&self.config, &req.device).await {
            return NodeResponse::status(507);
        }
        let broker = db::container_broker(
            &self.config,
            &req.device,
            req.partition,
            &account,
            &container,
        );
        match (&req.method, object) {
            (NodeMethod::Put, Some(o)) => self.put_object(&req, &broker, o).await,
            (NodeMethod::Delete, Some(o)) => self.delete_object(&req, &broker, &o).await,
            (NodeMethod::Put, None) => {
                self.put_container(&req, &broker, &account, &container)
                    .await
            }
            (NodeMethod::Delete, None) => {
                self.delete_container(&req, &broker, &account, &container)
                    .await
            }
            (NodeMethod::Post, None) => self.post_container(&req, &broker).await,
            (NodeMethod::Head, None) => self.head_container(&req, &broker).await,
            (NodeMethod::Get, None) => self.get_container(&req, &broker, &container).await,
            _ => NodeResponse::status(405),
        }
    }

    pub(crate) fn mark_dirty(&self, broker: &ContainerBroker) {
        if let Ok(mut d) = self.dirty.lock() {
            d.insert(broker.path().to_path_buf());
        }
    }

    async fn put_object(&self, req: &Req, broker: &ContainerBroker, name: String) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        let size = early!(header_u64(&req.headers, "x-size"));
        let policy = early!(policy_index(&req.headers)).unwrap_or(0);
        let (Some(ct), Some(etag)) = (req.headers.get("x-content-type"), req.headers.get("x-etag"))
        else {
            return text(400, "missing x-content-type or x-etag");
        };
        if !broker.exists().await {
            return NodeResponse::status(404);
        }
        let rec = ObjectRecord {
            name,
            created_at: ts,
            size,
            content_type: ct.to_string(),
            etag: etag.to_string(),
            deleted: false,
            storage_policy_index: policy,
        };
        tri!(broker.put_object(rec).await);
        self.mark_dirty(broker);
        NodeResponse::status(201)
    }

    async fn delete_object(&self, req: &Req, broker: &ContainerBroker, name: &str) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        let policy = early!(policy_index(&req.headers)).unwrap_or(0);
        if !broker.exists().await {
            return NodeResponse::status(404);
        }
        tri!(broker.delete_object(name, ts, policy).await);
        self.mark_dirty(broker);
        NodeResponse::status(204)
    }

    async fn put_container(
        &self,
        req: &Req,
        broker: &ContainerBroker,
        account: &str,
        container: &str,
    ) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        let requested = early!(policy_index(&req.headers));
        let new_policy = requested.unwrap_or(0);
        let mut created = false;
        if !broker.exists().await {
            created = tri!(broker.initialize(account, container, ts, new_policy).await);
        }
        if !created {
            let info = tri!(broker.info().await);
            let recreated = info.is_deleted();
            if recreated {
                tri!(broker.set_storage_policy_index(new_policy).await);
            } else if let Some(p) = requested {
                if p != info.storage_policy_index {
                    let mut r = NodeResponse::status(409);
                    r.headers.set(
                        "X-Backend-Storage-Policy-Index",
                        info.storage_policy_index.to_string(),
                    );
                    return r;
                }
            }
            tri!(broker.update_put_timestamp(ts).await);
            if tri!(broker.info().await).is_deleted() {
                return NodeResponse::status(409);
            }
            if recreated {
                tri!(broker.update_status_changed_at(ts).await);
            }
            created = recreated;
        }
        let md = metadata_from_headers(&req.headers, "container", SAVE_HEADERS, ts);
        tri!(broker.update_metadata(md).await);
        self.mark_dirty(broker);
        if let Some(resp) = self.account_update(req, broker, account, container).await {
            return resp;
        }
        let info = tri!(broker.info().await);
        let mut r = NodeResponse::status(if created { 201 } else { 202 });
        r.headers.set(
            "X-Backend-Storage-Policy-Index",
            info.storage_policy_index.to_string(),
        );
        r
    }

    async fn delete_container(
        &self,
        req: &Req,
        broker: &ContainerBroker,
        account: &str,
        container: &str,
    ) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        if !broker.exists().await {
            return NodeResponse::status(404);
        }
        let info = tri!(broker.info().await);
        if info.object_count > 0 {
            return NodeResponse::status(409);
        }
        let existed = info.put_timestamp > crate::timestamp::Timestamp::ZERO && !info.is_deleted();
        tri!(broker.delete_db(ts).await);
        if !tri!(broker.info().await).is_deleted() {
            return NodeResponse::status(409);
        }
        self.mark_dirty(broker);
        if let Some(resp) = self.account_update(req, broker, account, container).await {
            return resp;
        }
        NodeResponse::status(if existed { 204 } else { 404 })
    }

    async fn post_container(&self, req: &Req, broker: &ContainerBroker) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        if !broker.exists().await || tri!(broker.info().await).is_deleted() {
            return NodeResponse::status(404);
        }
        let md = metadata_from_headers(&req.headers, "container", SAVE_HEADERS, ts);
        tri!(broker.update_metadata(md).await);
        NodeResponse::status(204)
    }

    /// The info of an existing container, or the 404 to answer.
    async fn live_info(
        &self,
        broker: &ContainerBroker,
    ) -> std::result::Result<ContainerInfo, NodeResponse> {
        if !broker.exists().await {
            return Err(NodeResponse::status(404));
        }
        let info = broker.info().await.map_err(|e| error_response(&e))?;
        if info.is_deleted() {
            let mut r = NodeResponse::status(404);
            r.headers = info_headers(&info, true);
            return Err(r);
        }
        Ok(info)
    }

    fn content_type(req: &Req) -> std::result::Result<&'static str, NodeResponse> {
        listing_content_type(req.query_param("format"), req.headers.get("accept"))
            .ok_or_else(|| NodeResponse::status(406))
    }

    async fn head_container(&self, req: &Req, broker: &ContainerBroker) -> NodeResponse {
        let ct = early!(Self::content_type(req));
        let info = early!(self.live_info(broker).await);
        let mut r = NodeResponse::status(204);
        r.headers = info_headers(&info, false);
        add_metadata_headers(&mut r.headers, &info.metadata);
        r.headers
            .set("Content-Type", format!("{ct}; charset=utf-8"));
        r.headers
            .set("Last-Modified", info.put_timestamp.http_date());
        r
    }

    async fn get_container(
        &self,
        req: &Req,
        broker: &ContainerBroker,
        container: &str,
    ) -> NodeResponse {
        let params = early!(listing_params(req, self.listing_limit));
        let ct = early!(Self::content_type(req));
        let info = early!(self.live_info(broker).await);
        let entries = tri!(broker.list_objects(params, info.storage_policy_index).await);
        let body = container_listing_body(ct, container, &entries);
        let mut headers = info_headers(&info, false);
        add_metadata_headers(&mut headers, &info.metadata);
        headers.set("Content-Type", format!("{ct}; charset=utf-8"));
        headers.set("Last-Modified", info.put_timestamp.http_date());
        let mut r = if body.is_empty() {
            NodeResponse::status(204)
        } else {
            headers.set("Content-Length", body.len().to_string());
            NodeResponse::with_body(200, body)
        };
        r.headers = headers;
        r
    }

    /// The node's settings.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    pub(crate) fn rings(&self) -> &Arc<Rings> {
        &self.rings
    }

    pub(crate) fn client(&self) -> &Arc<dyn NodeClient> {
        &self.client
    }
}

#[cfg(test)]
#[path = "container_server/tests.rs"]
mod tests;
