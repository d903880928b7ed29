//! The object controller: GET/HEAD with failover, POST, DELETE; PUT is in
//! `object_put`, copies in `copy`; a GET body that fails mid-stream is
//! resumed from another replica (`resume`).

use std::time::Duration;

use futures::StreamExt;

use super::super::conditional;
use super::super::fanout::{best_response, client_headers, quorum_size, Target};
use super::super::response::Reply;
use super::super::{Ctx, Inner, OBJECT_METHODS};
use super::resume::{resumable, Plan, Resume};
use super::{set_update_headers, update_targets, Exists};
use crate::error::Error;
use crate::headers::Headers;
use crate::names::MetaKind;
use crate::node::{NodeMethod, NodeRequest, NodeResponse};
use crate::ring::RingKind;
use crate::stream::ByteStream;
use crate::timestamp::Timestamp;

impl Inner {
    pub(crate) async fn object_request(&self, ctx: &mut Ctx) -> Reply {
        let object = ctx.object.as_deref().unwrap_or("");
        let max = self.config.constraints.max_object_name_length;
        if object.len() > max {
            return Reply::typed(
                400,
                "text/plain",
                format!("Object name length of {} longer than {max}", object.len()),
            );
        }
        match ctx.method.as_str() {
            "GET" | "HEAD" => {
                let (account, container, object) = ctx_path(ctx);
                let mut headers = self.backend_headers(ctx, false);
                let conds = conditional::take_conditions(&mut headers);
                if let Some(range) = headers.get("range").and_then(conditional::normalize_range) {
                    headers.set("range", range);
                }
                let resp = self
                    .object_get(
                        &ctx.method,
                        &account,
                        &container,
                        &object,
                        &ctx.query,
                        headers.clone(),
                    )
                    .await;
                if resp.status == 416 {
                    // The object's identity headers come with the 416.
                    let mut plain = headers.clone();
                    plain.remove("range");
                    let head = self
                        .object_get(
                            &http::Method::HEAD,
                            &account,
                            &container,
                            &object,
                            &ctx.query,
                            plain,
                        )
                        .await;
                    let mut reply = self.object_reply(resp);
                    for name in [
                        "etag",
                        "last-modified",
                        "accept-ranges",
                        "x-timestamp",
                        "content-type",
                    ] {
                        if let Some(v) = head.headers.get(name) {
                            if !reply.headers.contains(name) {
                                reply.headers.set(name, v);
                            }
                        }
                    }
                    return reply;
                }
                if (200..300).contains(&resp.status) {
                    if let Some(status) = conditional::failed_status(&conds, &resp.headers) {
                        return Reply {
                            status,
                            headers: conditional::failed_headers(&client_headers(&resp.headers)),
                            body: crate::stream::empty(),
                        };
                    }
                }
                self.object_reply(resp)
            }
            "PUT" if ctx.headers.contains("x-copy-from") => self.put_copy(ctx).await,
            "PUT" => self.object_put(ctx).await,
            "COPY" => self.copy_request(ctx).await,
            "POST" => self.object_post(ctx).await,
            "DELETE" => self.object_delete(ctx).await,
            _ => Reply::status(405).with("allow", OBJECT_METHODS),
        }
    }

    /// GET or HEAD of an object from its replicas (primaries, then
    /// handoffs), streaming the chosen node's body.
    pub(crate) async fn object_get(
        &self,
        method: &http::Method,
        account: &str,
        container: &str,
        object: &str,
        query: &[(String, String)],
        headers: Headers,
    ) -> NodeResponse {
        let node_method = if method == http::Method::HEAD {
            NodeMethod::Head
        } else {
            NodeMethod::Get
        };
        let nodes = self.nodes(RingKind::Object, account, Some(container), Some(object));
        let path = format!("{account}/{container}/{object}");
        let targets = nodes.read_order();
        let build = |t: &Target| {
            let mut r = NodeRequest::new(node_method.clone(), &t.device, t.partition, &path);
            r.query = query.to_vec();
            r.headers = headers.clone();
            r
        };
        let (mut resp, chosen) = self.read_failover_at(&targets, build).await;
        let body = std::mem::replace(&mut resp.body, crate::stream::empty());
        let body = idle_timeout(body, self.config.node_timeout());
        resp.body = match (node_method, chosen, Plan::of(&resp)) {
            (NodeMethod::Get, Some(i), Some(plan)) => {
                // The other nodes, those after the chosen one first.
                let others = targets[i + 1..].iter().chain(&targets[..i]).cloned();
                let resume = Resume {
                    client: self.client.clone(),
                    timeout: self.config.node_timeout(),
                    targets: others.collect(),
                    path,
                    query: query.to_vec(),
                    headers,
                };
                resumable(body, plan, resume)
            }
            _ => body,
        };
        resp
    }

    fn object_reply(&self, resp: NodeResponse) -> Reply {
        match resp.status {
            404 => Reply::status(404),
            s if s >= 500 => Reply::status(503),
            _ => Reply {
                status: resp.status,
                headers: client_headers(&resp.headers),
                body: resp.body,
            },
        }
    }

    /// Whether the request's container exists; `Err` is the reply.
    pub(crate) async fn require_container(
        &self,
        ctx: &Ctx,
        account: &str,
        container: &str,
    ) -> Result<(), Reply> {
        match self.exists(ctx, account, Some(container)).await {
            Exists::Yes => Ok(()),
            Exists::No => Err(Reply::status(404)),
            Exists::Unknown => Err(Reply::status(503)),
        }
    }

    async fn object_post(&self, ctx: &Ctx) -> Reply {
        let c = &self.config.constraints;
        if let Err(e) = c.check_metadata(&ctx.headers, MetaKind::Object) {
            return Reply::typed(400, "text/plain", e.to_string());
        }
        let mut headers = self.backend_headers(ctx, false);
        if let Err(r) = apply_delete_at(&mut headers) {
            return r;
        }
        self.object_write(ctx, NodeMethod::Post, headers).await
    }

    async fn object_delete(&self, ctx: &Ctx) -> Reply {
        let headers = self.backend_headers(ctx, false);
        self.object_write(ctx, NodeMethod::Delete, headers).await
    }

    /// POST or DELETE to every replica with the container-update headers.
    async fn object_write(&self, ctx: &Ctx, method: NodeMethod, mut headers: Headers) -> Reply {
        let (account, container, object) = ctx_path(ctx);
        if let Err(r) = self.require_container(ctx, &account, &container).await {
            return r;
        }
        headers.set("x-timestamp", Timestamp::now().internal());
        let nodes = self.nodes(RingKind::Object, &account, Some(&container), Some(&object));
        let containers = self.nodes(RingKind::Container, &account, Some(&container), None);
        let replicas = nodes.primaries.len();
        let path = format!("{account}/{container}/{object}");
        let outcomes = self
            .make_requests(&nodes, |t, i| {
                let mut r =
                    crate::node::NodeRequest::new(method.clone(), &t.device, t.partition, &path);
                r.headers = headers.clone();
                let ups = update_targets(&containers.primaries, replicas, i);
                set_update_headers(&mut r.headers, "container", &ups);
                r
            })
            .await;
        best_response(&outcomes, quorum_size(replicas))
    }
}

/// `(account, container, object)` of an object request.
pub(crate) fn ctx_path(ctx: &Ctx) -> (String, String, String) {
    (
        ctx.account.clone(),
        ctx.container.clone().unwrap_or_default(),
        ctx.object.clone().unwrap_or_default(),
    )
}

/// The latest `X-Delete-At` (Swift's 10-digit timestamps).
const MAX_DELETE_AT: i64 = 9_999_999_999;

/// Turns `X-Delete-After` into `X-Delete-At` and checks `X-Delete-At`, as
/// Swift's proxy does; `Err` is the 400 reply.
pub(crate) fn apply_delete_at(headers: &mut Headers) -> Result<(), Reply> {
    let now = Timestamp::now().as_secs_f64();
    if let Some(after) = headers.remove("x-delete-after") {
        let after: i64 = after
            .trim()
            .parse()
            .map_err(|_| Reply::typed(400, "text/plain", "Non-integer X-Delete-After"))?;
        if after < 0 {
            return Err(Reply::typed(400, "text/plain", "X-Delete-After in past"));
        }
        let at = (now as i64).saturating_add(after).saturating_add(1);
        headers.set("x-delete-at", at.to_string());
    }
    if let Some(at) = headers.get("x-delete-at") {
        let at = at.trim();
        // Swift clamps far-future times (any number of digits) to the
        // largest 10-digit timestamp.
        let at: i64 = if !at.is_empty() && at.len() > 10 && at.bytes().all(|b| b.is_ascii_digit()) {
            MAX_DELETE_AT
        } else {
            at.parse::<i64>()
                .map_err(|_| Reply::typed(400, "text/plain", "Non-integer X-Delete-At"))?
                .min(MAX_DELETE_AT)
        };
        if (at as f64) < now {
            return Err(Reply::typed(400, "text/plain", "X-Delete-At in past"));
        }
        headers.set("x-delete-at", format!("{at:010}"));
    }
    Ok(())
}

/// Ends a body stream with an error when no chunk arrives for `idle`.
pub(crate) fn idle_timeout(body: ByteStream, idle: Duration) -> ByteStream {
    futures::stream::unfold(Some(body), move |state| async move {
        let mut body = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(item)) => Some((item, Some(body))),
            Ok(None) => None,
            Err(_) => Some((
                Err(Error::Unavailable {
                    reason: "node timed out sending the body".into(),
                }),
                None,
            )),
        }
    })
    .boxed()
}
