//! The container controller: PUT, GET/HEAD (listings), POST, DELETE.

use super::super::fanout::{best_response, client_headers, quorum_size};
use super::super::listing_xml::DEFAULT_POLICY;
use super::super::response::Reply;
use super::super::{Ctx, Inner, CONTAINER_METHODS};
use super::{set_update_headers, update_targets, Exists};
use crate::names::MetaKind;
use crate::node::{NodeMethod, NodeRequest};
use crate::ring::RingKind;
use crate::timestamp::Timestamp;

impl Inner {
    pub(crate) async fn container_request(&self, ctx: &mut Ctx) -> Reply {
        match ctx.method.as_str() {
            "GET" | "HEAD" => self.container_get(ctx).await,
            "PUT" => self.container_put(ctx).await,
            "POST" => self.container_post(ctx).await,
            "DELETE" => self.container_delete(ctx).await,
            _ => Reply::status(405).with("allow", CONTAINER_METHODS),
        }
    }

    fn container_name(ctx: &Ctx) -> &str {
        ctx.container.as_deref().unwrap_or("")
    }

    fn container_path(ctx: &Ctx) -> String {
        format!("{}/{}", ctx.account, Self::container_name(ctx))
    }

    async fn container_get(&self, ctx: &Ctx) -> Reply {
        let method = if ctx.method == http::Method::HEAD {
            NodeMethod::Head
        } else {
            NodeMethod::Get
        };
        let container = Self::container_name(ctx);
        let nodes = self.nodes(RingKind::Container, &ctx.account, Some(container), None);
        let headers = self.backend_headers(ctx, false);
        let path = Self::container_path(ctx);
        let resp = self
            .read_failover(&nodes.read_order(), |t| {
                let mut r = NodeRequest::new(method.clone(), &t.device, t.partition, &path);
                r.query = ctx.query.clone();
                r.headers = headers.clone();
                r
            })
            .await;
        if resp.status == 404 {
            return Reply::status(404);
        }
        let mut headers = client_headers(&resp.headers);
        if (200..300).contains(&resp.status) {
            let index = resp.headers.get("x-backend-storage-policy-index");
            if index.is_none_or(|i| i.trim() == "0") {
                headers.set("x-storage-policy", DEFAULT_POLICY);
            }
        }
        Reply {
            status: resp.status,
            headers,
            body: resp.body,
        }
    }

    async fn container_put(&self, ctx: &Ctx) -> Reply {
        let container = Self::container_name(ctx);
        let c = &self.config.constraints;
        if container.len() > c.max_container_name_length {
            return Reply::body(
                400,
                format!(
                    "Container name length of {} longer than {}",
                    container.len(),
                    c.max_container_name_length
                ),
            );
        }
        if let Err(e) = c.check_metadata(&ctx.headers, MetaKind::Container) {
            return Reply::body(400, e.to_string());
        }
        // The cluster has one storage policy: naming another is an error.
        if let Some(policy) = ctx.headers.get("x-storage-policy") {
            let policy_name = policy.trim();
            if !policy_name.is_empty() && !policy_name.eq_ignore_ascii_case(DEFAULT_POLICY) {
                return Reply::body(400, format!("Invalid X-Storage-Policy {policy:?}"));
            }
        }
        if let Err(reply) = self.ensure_account(ctx, &ctx.account).await {
            return reply;
        }
        let reply = self.container_write(ctx, NodeMethod::Put, true).await;
        self.forget_info(&ctx.account, Some(container)).await;
        reply
    }

    async fn container_post(&self, ctx: &Ctx) -> Reply {
        if let Err(e) = self
            .config
            .constraints
            .check_metadata(&ctx.headers, MetaKind::Container)
        {
            return Reply::body(400, e.to_string());
        }
        match self.exists(ctx, &ctx.account, None).await {
            Exists::Yes => {}
            Exists::No => return Reply::status(404),
            Exists::Unknown => return Reply::status(503),
        }
        let reply = self.container_write(ctx, NodeMethod::Post, false).await;
        self.forget_info(&ctx.account, Some(Self::container_name(ctx)))
            .await;
        reply
    }

    async fn container_delete(&self, ctx: &Ctx) -> Reply {
        let reply = self.container_write(ctx, NodeMethod::Delete, true).await;
        self.forget_info(&ctx.account, Some(Self::container_name(ctx)))
            .await;
        // A container server answers 202 when the container was already
        // deleted; the client hears 404.
        if reply.status == 202 {
            return Reply::status(404);
        }
        reply
    }

    /// Sends a container write to its replicas; `account_updates` adds the
    /// `X-Account-*` headers so container servers report to the account.
    async fn container_write(&self, ctx: &Ctx, method: NodeMethod, account_updates: bool) -> Reply {
        let container = Self::container_name(ctx);
        let nodes = self.nodes(RingKind::Container, &ctx.account, Some(container), None);
        let accounts = self.nodes(RingKind::Account, &ctx.account, None, None);
        let mut headers = self.backend_headers(ctx, false);
        headers.set("x-timestamp", Timestamp::now().internal());
        let path = Self::container_path(ctx);
        let replicas = nodes.primaries.len();
        let outcomes = self
            .make_requests(&nodes, |t, i| {
                let mut r = NodeRequest::new(method.clone(), &t.device, t.partition, &path);
                r.headers = headers.clone();
                if account_updates {
                    let ups = update_targets(&accounts.primaries, replicas, i);
                    set_update_headers(&mut r.headers, "account", &ups);
                }
                r
            })
            .await;
        best_response(&outcomes, quorum_size(replicas))
    }
}
