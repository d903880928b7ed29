//! Object PUT: validates the request, then streams the body once to all
//! replicas at the same time and answers by quorum.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::join_all;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::super::fanout::{best_response, quorum_size, Outcome, Target};
use super::super::mime;
use super::super::response::Reply;
use super::super::{Ctx, Inner};
use super::object::{apply_delete_at, ctx_path};
use super::{set_update_headers, update_targets};
use crate::error::Result;
use crate::headers::Headers;
use crate::names::MetaKind;
use crate::node::{NodeClient, NodeMethod, NodeRequest, NodeResponse};
use crate::ring::RingKind;
use crate::stream::{self, ByteStream};
use crate::timestamp::Timestamp;

/// Chunks queued per node before the fan-out waits for it.
const QUEUE: usize = 8;

/// Where and what to PUT.
pub(crate) struct PutTarget<'a> {
    pub(crate) account: &'a str,
    pub(crate) container: &'a str,
    pub(crate) object: &'a str,
}

/// One node receiving the body.
struct Conn {
    tx: Option<mpsc::Sender<Result<Bytes>>>,
    task: JoinHandle<Result<NodeResponse>>,
    /// Set when the node answered before the body was sent.
    done: Option<Outcome>,
}

impl Inner {
    pub(crate) async fn object_put(&self, ctx: &mut Ctx) -> Reply {
        if ctx
            .headers
            .get("if-none-match")
            .is_some_and(|v| v.trim() != "*")
        {
            return Reply::typed(400, "text/plain", "If-None-Match only supports *");
        }
        let content_length = match self.check_creation(ctx) {
            Ok(cl) => cl,
            Err(r) => return r,
        };
        let mut headers = self.backend_headers(ctx, true);
        if let Err(r) = apply_delete_at(&mut headers) {
            return r;
        }
        let (account, container, object) = ctx_path(ctx);
        set_content_type(&mut headers, &object);
        let body = match ctx.take_body() {
            Some(b) => stream::body_to_stream(b),
            None => stream::empty(),
        };
        let target = PutTarget {
            account: &account,
            container: &container,
            object: &object,
        };
        self.put_stream(ctx, &target, headers, body, content_length)
            .await
    }

    /// Swift's `check_object_creation`: length, transfer coding, metadata.
    /// Returns the Content-Length, if any.
    fn check_creation(&self, ctx: &Ctx) -> std::result::Result<Option<u64>, Reply> {
        let c = &self.config.constraints;
        let te = ctx.headers.get("transfer-encoding");
        if let Some(te) = te {
            if !te.eq_ignore_ascii_case("chunked") {
                return Err(Reply::typed(501, "text/plain", "Not Implemented"));
            }
        }
        let cl = match ctx.headers.get("content-length") {
            Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
                Reply::typed(400, "text/plain", "Invalid Content-Length header value")
            })?),
            None => None,
        };
        if cl.is_some_and(|n| n > c.max_file_size) {
            return Err(Reply::typed(
                413,
                "text/plain",
                "Your request is too large.",
            ));
        }
        if cl.is_none() && te.is_none() {
            return Err(Reply::typed(
                411,
                "text/plain",
                "Missing Content-Length header.",
            ));
        }
        if let Err(e) = c.check_metadata(&ctx.headers, MetaKind::Object) {
            return Err(Reply::typed(400, "text/plain", e.to_string()));
        }
        Ok(if te.is_some() { None } else { cl })
    }

    /// Streams `body` to the object's replicas (handoffs for primaries that
    /// cannot take it) and answers 201 when a quorum stored it.
    pub(crate) async fn put_stream(
        &self,
        ctx: &Ctx,
        target: &PutTarget<'_>,
        mut headers: Headers,
        body: ByteStream,
        content_length: Option<u64>,
    ) -> Reply {
        if let Err(r) = self
            .require_container(ctx, target.account, target.container)
            .await
        {
            return r;
        }
        let ts = Timestamp::now();
        headers.set("x-timestamp", ts.internal());
        headers.set("x-backend-storage-policy-index", "0");
        match content_length {
            Some(n) => headers.set("content-length", n.to_string()),
            None => {
                headers.remove("content-length");
                headers.set("transfer-encoding", "chunked");
            }
        }
        let (a, c, o) = (target.account, target.container, target.object);
        let nodes = self.nodes(RingKind::Object, a, Some(c), Some(o));
        let containers = self.nodes(RingKind::Container, a, Some(c), None);
        let replicas = nodes.primaries.len();
        let quorum = quorum_size(replicas);
        let path = format!("{a}/{c}/{o}");
        let handoffs = Mutex::new(nodes.handoffs.iter().cloned().collect::<VecDeque<_>>());
        let build = |t: &Target, i: usize| {
            let mut r = NodeRequest::new(NodeMethod::Put, &t.device, t.partition, &path);
            r.headers = headers.clone();
            let ups = update_targets(&containers.primaries, replicas, i);
            set_update_headers(&mut r.headers, "container", &ups);
            r
        };
        let conns = join_all(nodes.primaries.iter().enumerate().map(|(i, p)| {
            let (handoffs, build) = (&handoffs, &build);
            async move {
                let mut t = p.clone();
                loop {
                    if let Some(conn) = self.connect(&t, build(&t, i)).await {
                        return Some(conn);
                    }
                    let next = handoffs
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .pop_front();
                    t = next?;
                }
            }
        }))
        .await;
        let mut conns: Vec<Conn> = conns.into_iter().flatten().collect();
        if conns.len() < quorum {
            tracing::warn!(path = %path, connected = conns.len(), "object PUT: too few nodes");
            abort_all(&mut conns);
            return Reply::status(503);
        }
        if let Err(reply) = self
            .send_body(&mut conns, body, content_length, quorum)
            .await
        {
            abort_all(&mut conns);
            return reply;
        }
        let mut outcomes = Vec::with_capacity(conns.len());
        for conn in conns.iter_mut() {
            conn.tx = None;
            if let Some(o) = conn.done.take() {
                outcomes.push(o);
                continue;
            }
            let res = tokio::time::timeout(self.config.node_timeout(), &mut conn.task).await;
            outcomes.push(match res {
                Ok(Ok(Ok(resp))) => Outcome::read(resp).await,
                _ => {
                    conn.task.abort();
                    Outcome::failed()
                }
            });
        }
        put_reply(&outcomes, quorum, &ts)
    }

    /// Starts a PUT to `t` and waits until the node reads the body (or
    /// answers early). `None` when the node cannot take the object.
    async fn connect(&self, t: &Target, mut req: NodeRequest) -> Option<Conn> {
        let (tx, rx) = mpsc::channel::<Result<Bytes>>(QUEUE);
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        req.body = futures::stream::unfold((rx, Some(ready_tx)), |(mut rx, ready)| async move {
            if let Some(r) = ready {
                let _ = r.send(());
            }
            rx.recv().await.map(|item| (item, (rx, None)))
        })
        .boxed();
        let client: Arc<dyn NodeClient> = self.client.clone();
        let host = t.host.clone();
        let mut task = tokio::spawn(async move { client.send(&host, req).await });
        let early = tokio::select! {
            r = ready_rx => match r {
                Ok(()) => None,
                Err(_) => Some(tokio::time::timeout(self.config.node_timeout(), &mut task).await),
            },
            r = &mut task => Some(Ok(r)),
            _ = tokio::time::sleep(self.config.conn_timeout()) => {
                tracing::warn!(host = %t.host, "object PUT: connect timeout");
                task.abort();
                return None;
            }
        };
        let Some(early) = early else {
            return Some(Conn {
                tx: Some(tx),
                task,
                done: None,
            });
        };
        match early {
            Ok(Ok(Ok(resp))) if resp.status < 500 => Some(Conn {
                tx: None,
                task,
                done: Some(Outcome::read(resp).await),
            }),
            Ok(Ok(Ok(resp))) => {
                tracing::warn!(host = %t.host, device = %t.device, status = resp.status, "object PUT refused");
                None
            }
            Ok(Ok(Err(e))) => {
                tracing::warn!(host = %t.host, error = %e, "object PUT: node unavailable");
                None
            }
            _ => {
                task.abort();
                None
            }
        }
    }

    /// Sends every chunk to every live node; a node that stalls past the
    /// node timeout or fails is dropped. `Err` is the reply when the client
    /// fails or too few nodes remain.
    async fn send_body(
        &self,
        conns: &mut [Conn],
        mut body: ByteStream,
        content_length: Option<u64>,
        quorum: usize,
    ) -> std::result::Result<(), Reply> {
        let max = self.config.constraints.max_file_size;
        let mut sent: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(error = %e, "object PUT: client disconnected");
                    return Err(Reply::status(499));
                }
            };
            if chunk.is_empty() {
                continue;
            }
            sent += chunk.len() as u64;
            if sent > max {
                return Err(Reply::typed(
                    413,
                    "text/plain",
                    "Your request is too large.",
                ));
            }
            if content_length.is_some_and(|cl| sent > cl) {
                return Err(Reply::status(400));
            }
            let timeout = self.config.node_timeout();
            let results = join_all(conns.iter().map(|conn| {
                let chunk = chunk.clone();
                async move {
                    match &conn.tx {
                        Some(tx) => matches!(
                            tokio::time::timeout(timeout, tx.send(Ok(chunk))).await,
                            Ok(Ok(()))
                        ),
                        None => false,
                    }
                }
            }))
            .await;
            for (conn, ok) in conns.iter_mut().zip(results) {
                if !ok && conn.tx.is_some() {
                    tracing::warn!("object PUT: dropping a slow or failed node");
                    conn.tx = None;
                    conn.task.abort();
                }
            }
            let live = conns
                .iter()
                .filter(|c| c.tx.is_some() || c.done.is_some())
                .count();
            if live < quorum {
                return Err(Reply::status(503));
            }
        }
        if content_length.is_some_and(|cl| sent < cl) {
            return Err(Reply::status(499));
        }
        Ok(())
    }
}

fn abort_all(conns: &mut [Conn]) {
    for c in conns {
        c.tx = None;
        c.task.abort();
    }
}

/// The client's answer to a PUT: 201 with the ETag when a quorum stored
/// matching copies, else Swift's best response.
fn put_reply(outcomes: &[Outcome], quorum: usize, ts: &Timestamp) -> Reply {
    let mut reply = best_response(outcomes, quorum);
    if (200..300).contains(&reply.status) {
        let etags: std::collections::HashSet<&str> = outcomes
            .iter()
            .filter(|o| (200..300).contains(&o.status))
            .filter_map(|o| o.headers.get("etag"))
            .map(|e| e.trim_matches('"'))
            .collect();
        if etags.len() > 1 {
            tracing::error!("object PUT: nodes returned mismatched etags");
            return Reply::status(500);
        }
        reply = Reply::status(201).with("last-modified", ts.http_date());
        if let Some(etag) = etags.into_iter().next() {
            reply.headers.set("etag", etag);
        }
    }
    reply
}

/// Sets Content-Type: the client's, or guessed from the name when absent
/// or when `X-Detect-Content-Type` is true.
pub(crate) fn set_content_type(headers: &mut Headers, object: &str) {
    let detect = headers.remove("x-detect-content-type").is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on" | "t" | "y"
        )
    });
    if detect || headers.get("content-type").is_none_or(str::is_empty) {
        let guessed = mime::guess(object).unwrap_or("application/octet-stream");
        headers.set("content-type", guessed);
    }
}
