//! The account server of a storage node: Swift's backend protocol for
//! accounts (`/<dev>/<part>/<a>`) and the container rows container servers
//! report (`PUT /<dev>/<part>/<a>/<c>` with `X-Put-Timestamp`).

use super::{NodeConfig, NodeMethod, NodeRequest, NodeResponse};
use crate::db::format::{account_listing_body, listing_content_type};
use crate::db::request::{
    add_metadata_headers, device_ok, error_response, header_timestamp, listing_params,
    metadata_from_headers, policy_index, text, x_timestamp, Req,
};
use crate::db::{self, AccountBroker, AccountInfo, ContainerRecord};
use crate::headers::Headers;
use crate::names::Constraints;
use crate::timestamp::Timestamp;

/// Serves account requests for one node's devices.
#[derive(Debug)]
pub struct AccountServer {
    config: NodeConfig,
    listing_limit: usize,
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return error_response(&e),
        }
    };
}

macro_rules! early {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}

/// The response for a deleted account: `X-Account-Status: Deleted` when it
/// was explicitly deleted.
fn deleted_response(status: u16, info: Option<&AccountInfo>) -> NodeResponse {
    let mut r = NodeResponse::status(status);
    if info.is_some_and(AccountInfo::is_status_deleted) {
        r.headers.set("X-Account-Status", "Deleted");
    }
    r
}

/// Swift's `get_response_headers` for an account.
fn info_headers(info: &AccountInfo) -> Headers {
    let mut h = Headers::new();
    h.set(
        "X-Account-Container-Count",
        info.container_count.to_string(),
    );
    h.set("X-Account-Object-Count", info.object_count.to_string());
    h.set("X-Account-Bytes-Used", info.bytes_used.to_string());
    h.set("X-Timestamp", info.created_at.normal());
    h.set("X-PUT-Timestamp", info.put_timestamp.normal());
    for (index, containers, objects, bytes) in &info.policy_stats {
        // Policy names arrive with storage policies; index 0 is Swift's
        // default "Policy-0".
        if *index != 0 {
            continue;
        }
        let p = "X-Account-Storage-Policy-Policy-0";
        h.set(format!("{p}-Container-Count"), containers.to_string());
        h.set(format!("{p}-Object-Count"), objects.to_string());
        h.set(format!("{p}-Bytes-Used"), bytes.to_string());
    }
    add_metadata_headers(&mut h, &info.metadata);
    h
}

impl AccountServer {
    /// A server over the node's devices.
    pub fn new(config: NodeConfig) -> Self {
        Self {
            config,
            listing_limit: Constraints::default().account_listing_limit,
        }
    }

    /// Serves one request. Never fails: every problem is a status code.
    pub async fn handle(&self, req: NodeRequest) -> NodeResponse {
        if req.method == NodeMethod::Replicate {
            return db::replication::serve::serve(&self.config, db::DbKind::Account, req).await;
        }
        let req = Req::new(req);
        let (account, container, object) = req.parts();
        if account.is_empty() || object.is_some() || container.as_deref() == Some("") {
            return text(400, "invalid path");
        }
        if req.method == NodeMethod::Get {
            if let Err(resp) = listing_params(&req, self.listing_limit) {
                return resp;
            }
        }
        if !device_ok(&self.config, &req.device).await {
            return NodeResponse::status(507);
        }
        let broker = db::account_broker(&self.config, &req.device, req.partition, &account);
        match (&req.method, container) {
            (NodeMethod::Put, Some(c)) => self.put_container(&req, &broker, &account, c).await,
            (NodeMethod::Put, None) => self.put_account(&req, &broker, &account).await,
            (NodeMethod::Post, None) => self.post_account(&req, &broker).await,
            (NodeMethod::Delete, None) => self.delete_account(&req, &broker).await,
            (NodeMethod::Head, None) => self.head_account(&req, &broker).await,
            (NodeMethod::Get, None) => self.get_account(&req, &broker, &account).await,
            _ => NodeResponse::status(405),
        }
    }

    async fn put_container(
        &self,
        req: &Req,
        broker: &AccountBroker,
        account: &str,
        name: String,
    ) -> NodeResponse {
        let put = early!(header_timestamp(&req.headers, "x-put-timestamp"));
        let delete = match req.headers.get("x-delete-timestamp") {
            None => Timestamp::ZERO,
            Some(_) => early!(header_timestamp(&req.headers, "x-delete-timestamp")),
        };
        let count = req
            .headers
            .get("x-object-count")
            .map_or(Ok(0), |v| v.trim().parse::<u64>())
            .map_err(|_| text(400, "invalid x-object-count"));
        let bytes = req
            .headers
            .get("x-bytes-used")
            .map_or(Ok(0), |v| v.trim().parse::<u64>())
            .map_err(|_| text(400, "invalid x-bytes-used"));
        let (count, bytes) = (early!(count), early!(bytes));
        let policy = early!(policy_index(&req.headers)).unwrap_or(0);
        if !broker.exists().await {
            // Only internal (dot) accounts are created on demand, as Swift's
            // auto_create_account_prefix.
            if !account.starts_with('.') {
                return NodeResponse::status(404);
            }
            let ts = x_timestamp(req).unwrap_or_else(|_| Timestamp::now());
            tri!(broker.initialize(account, ts).await);
        }
        let info = tri!(broker.info().await);
        let override_deleted = req
            .headers
            .get("x-account-override-deleted")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
        if info.is_deleted() && !override_deleted {
            return deleted_response(404, Some(&info));
        }
        let rec = ContainerRecord {
            name,
            put_timestamp: put,
            delete_timestamp: delete,
            object_count: count,
            bytes_used: bytes,
            storage_policy_index: policy,
        };
        tri!(broker.put_container(rec).await);
        NodeResponse::status(if delete > put { 204 } else { 201 })
    }

    async fn put_account(&self, req: &Req, broker: &AccountBroker, account: &str) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        let mut created = false;
        if !broker.exists().await {
            created = tri!(broker.initialize(account, ts).await);
        }
        if !created {
            let info = tri!(broker.info().await);
            if info.is_status_deleted() {
                let mut r = text(403, "Recently deleted");
                r.headers.set("X-Account-Status", "Deleted");
                return r;
            }
            created = info.is_deleted();
            tri!(broker.update_put_timestamp(ts).await);
            if tri!(broker.info().await).is_deleted() {
                return NodeResponse::status(409);
            }
        }
        let md = metadata_from_headers(&req.headers, "account", &[], ts);
        tri!(broker.update_metadata(md).await);
        NodeResponse::status(if created { 201 } else { 202 })
    }

    /// The info of a live account, or the 404 to answer.
    async fn live_info(&self, broker: &AccountBroker) -> Result<AccountInfo, NodeResponse> {
        if !broker.exists().await {
            return Err(deleted_response(404, None));
        }
        let info = broker.info().await.map_err(|e| error_response(&e))?;
        if info.is_deleted() {
            return Err(deleted_response(404, Some(&info)));
        }
        Ok(info)
    }

    async fn post_account(&self, req: &Req, broker: &AccountBroker) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        early!(self.live_info(broker).await);
        let md = metadata_from_headers(&req.headers, "account", &[], ts);
        tri!(broker.update_metadata(md).await);
        NodeResponse::status(204)
    }

    async fn delete_account(&self, req: &Req, broker: &AccountBroker) -> NodeResponse {
        let ts = early!(x_timestamp(req));
        early!(self.live_info(broker).await);
        tri!(broker.delete_db(ts).await);
        let info = tri!(broker.info().await);
        deleted_response(204, Some(&info))
    }

    fn content_type(req: &Req) -> Result<&'static str, NodeResponse> {
        listing_content_type(req.query_param("format"), req.headers.get("accept"))
            .ok_or_else(|| NodeResponse::status(406))
    }

    async fn head_account(&self, req: &Req, broker: &AccountBroker) -> NodeResponse {
        let ct = early!(Self::content_type(req));
        let info = early!(self.live_info(broker).await);
        let mut r = NodeResponse::status(204);
        r.headers = info_headers(&info);
        r.headers
            .set("Content-Type", format!("{ct}; charset=utf-8"));
        r
    }

    async fn get_account(&self, req: &Req, broker: &AccountBroker, account: &str) -> NodeResponse {
        let params = early!(listing_params(req, self.listing_limit));
        let ct = early!(Self::content_type(req));
        let info = early!(self.live_info(broker).await);
        let entries = tri!(broker.list_containers(params).await);
        let body = account_listing_body(ct, account, &entries);
        let mut headers = info_headers(&info);
        headers.set("Content-Type", format!("{ct}; charset=utf-8"));
        let mut r = if body.is_empty() {
            NodeResponse::status(204)
        } else {
            headers.set("Content-Length", body.len().to_string());
            NodeResponse::with_body(200, body)
        };
        r.headers = headers;
        r
    }
}

#[cfg(test)]
#[path = "account_server_tests.rs"]
mod tests;
