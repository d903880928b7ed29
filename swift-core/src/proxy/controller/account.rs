//! The account controller: HEAD/GET (listings), POST (metadata), PUT and
//! DELETE (account management).

use super::super::fanout::{best_response, client_headers, quorum_size};
use super::super::listing_xml;
use super::super::response::Reply;
use super::super::{Ctx, Inner, ACCOUNT_METHODS};
use crate::names::MetaKind;
use crate::node::{NodeMethod, NodeRequest};
use crate::ring::RingKind;
use crate::timestamp::Timestamp;

impl Inner {
    pub(crate) async fn account_request(&self, ctx: &mut Ctx) -> Reply {
        match ctx.method.as_str() {
            "GET" | "HEAD" => self.account_get(ctx).await,
            "POST" => self.account_post(ctx).await,
            "PUT" | "DELETE" => self.account_manage(ctx).await,
            _ => Reply::status(405).with("allow", ACCOUNT_METHODS),
        }
    }

    async fn account_get(&self, ctx: &Ctx) -> Reply {
        let method = if ctx.method == http::Method::HEAD {
            NodeMethod::Head
        } else {
            NodeMethod::Get
        };
        let nodes = self.nodes(RingKind::Account, &ctx.account, None, None);
        let mut headers = self.backend_headers(ctx, false);
        let mut query = ctx.query.clone();
        // XML is rendered here from the JSON listing (with storage policies).
        let xml = method == NodeMethod::Get && listing_format(ctx) == "xml";
        if xml {
            query.retain(|(k, _)| k != "format");
            query.push(("format".into(), "json".into()));
            headers.remove("accept");
        }
        let resp = self
            .read_failover(&nodes.read_order(), |t| {
                let mut r = NodeRequest::new(method.clone(), &t.device, t.partition, &ctx.account);
                r.query = query.clone();
                r.headers = headers.clone();
                r
            })
            .await;
        if xml && resp.status == 200 {
            let mut headers = client_headers(&resp.headers);
            let Ok(json) = crate::stream::collect(resp.body, LISTING_BYTES_MAX).await else {
                return Reply::status(503);
            };
            let Some(doc) = listing_xml::account_xml(&ctx.account, &json) else {
                return Reply::status(503);
            };
            headers.set("content-type", "application/xml; charset=utf-8");
            headers.set("content-length", doc.len().to_string());
            return Reply {
                status: 200,
                headers,
                body: crate::stream::once(bytes::Bytes::from(doc)),
            };
        }
        if resp.status == 404 {
            if resp.headers.get("x-account-status") == Some("deleted") {
                return Reply::status(410);
            }
            if self.config.account_autocreate {
                return empty_listing(ctx);
            }
        }
        Reply {
            status: resp.status,
            headers: client_headers(&resp.headers),
            body: resp.body,
        }
    }

    async fn account_post(&self, ctx: &Ctx) -> Reply {
        if let Err(e) = self
            .config
            .constraints
            .check_metadata(&ctx.headers, MetaKind::Account)
        {
            return Reply::body(400, e.to_string());
        }
        let reply = self.account_write(ctx, NodeMethod::Post).await;
        // Metadata and ACLs changed: later requests must see them.
        self.forget_info(&ctx.account, None).await;
        if reply.status == 404 && self.config.account_autocreate {
            if !self.autocreate_account(ctx, &ctx.account).await {
                return Reply::status(503);
            }
            return self.account_write(ctx, NodeMethod::Post).await;
        }
        reply
    }

    async fn account_manage(&self, ctx: &Ctx) -> Reply {
        if !self.config.allow_account_management {
            return Reply::status(405).with("allow", ACCOUNT_METHODS);
        }
        if ctx.method == http::Method::PUT {
            if let Err(e) = self
                .config
                .constraints
                .check_metadata(&ctx.headers, MetaKind::Account)
            {
                return Reply::body(400, e.to_string());
            }
            self.forget_info(&ctx.account, None).await;
            self.account_write(ctx, NodeMethod::Put).await
        } else {
            if !ctx.query.is_empty() {
                // Swift refuses a DELETE with a query string (it would look
                // like a listing request that went wrong).
                return Reply::body(400, "Bad Request");
            }
            self.forget_info(&ctx.account, None).await;
            self.account_write(ctx, NodeMethod::Delete).await
        }
    }

    async fn account_write(&self, ctx: &Ctx, method: NodeMethod) -> Reply {
        let nodes = self.nodes(RingKind::Account, &ctx.account, None, None);
        let mut headers = self.backend_headers(ctx, false);
        headers.set("x-timestamp", Timestamp::now().internal());
        let outcomes = self
            .make_requests(&nodes, |t, _| {
                let mut r = NodeRequest::new(method.clone(), &t.device, t.partition, &ctx.account);
                r.headers = headers.clone();
                r
            })
            .await;
        best_response(&outcomes, quorum_size(nodes.primaries.len()))
    }
}

/// Largest JSON account listing rendered as XML.
const LISTING_BYTES_MAX: usize = 64 << 20;

/// The listing Swift answers for a missing account when autocreate is on:
/// no containers and zero stats.
fn empty_listing(ctx: &Ctx) -> Reply {
    let now = Timestamp::now().normal();
    let format = listing_format(ctx);
    let reply = match format {
        "json" => Reply::typed(200, "application/json; charset=utf-8", "[]"),
        "xml" => Reply::typed(
            200,
            "application/xml; charset=utf-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<account name=\"{}\"></account>",
                xml_escape(&ctx.account)
            ),
        ),
        _ => Reply::typed(204, "text/plain; charset=utf-8", ""),
    };
    reply
        .with("x-account-container-count", "0")
        .with("x-account-object-count", "0")
        .with("x-account-bytes-used", "0")
        .with("x-timestamp", now.clone())
        .with("x-put-timestamp", now)
}

/// The listing format a request asks for: `format=` first, then `Accept`.
pub(crate) fn listing_format(ctx: &Ctx) -> &'static str {
    let q = ctx
        .query
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.to_ascii_lowercase());
    match q.as_deref() {
        Some("json") => return "json",
        Some("xml") => return "xml",
        Some(_) => return "plain",
        None => {}
    }
    let accept = ctx.headers.get("accept").unwrap_or("");
    if accept.contains("application/json") {
        "json"
    } else if accept.contains("application/xml") || accept.contains("text/xml") {
        "xml"
    } else {
        "plain"
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
