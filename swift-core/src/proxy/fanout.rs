//! Talking to replicas: node lists with handoffs, concurrent requests with
//! failover, quorum decisions and read failover.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use futures::future::join_all;

use super::response::Reply;
use super::Inner;
use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::node::{NodeRequest, NodeResponse};
use crate::ring::{NodeRef, Ring};
use crate::stream;
use crate::timestamp::Timestamp;

/// Largest backend body the proxy reads whole (errors, small replies).
const SMALL_BODY: usize = 64 * 1024;

/// One device to send a request to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) device: String,
    pub(crate) partition: u32,
}

impl Target {
    fn from_ref(n: &NodeRef<'_>, partition: u32) -> Self {
        Self {
            host: n.device.host(),
            device: n.device.device.clone(),
            partition,
        }
    }
}

/// The primaries and handoffs of a partition.
#[derive(Debug, Clone)]
pub(crate) struct Nodes {
    pub(crate) primaries: Vec<Target>,
    pub(crate) handoffs: Vec<Target>,
}

impl Nodes {
    pub(crate) fn new(ring: &Ring, partition: u32) -> Self {
        Self {
            primaries: ring
                .primary_nodes(partition)
                .iter()
                .map(|n| Target::from_ref(n, partition))
                .collect(),
            handoffs: ring
                .handoff_nodes(partition)
                .iter()
                .map(|n| Target::from_ref(n, partition))
                .collect(),
        }
    }

    /// Nodes a read tries: the primaries, then as many handoffs again.
    pub(crate) fn read_order(&self) -> Vec<Target> {
        let n = self.primaries.len();
        self.primaries
            .iter()
            .chain(self.handoffs.iter().take(n))
            .cloned()
            .collect()
    }
}

/// Swift's quorum: a majority of the replicas.
pub(crate) fn quorum_size(replicas: usize) -> usize {
    replicas / 2 + 1
}

/// A backend answer read whole, or a stand-in 503 for a failed node.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
}

impl Outcome {
    pub(crate) fn failed() -> Self {
        Self {
            status: 503,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) async fn read(resp: NodeResponse) -> Self {
        let body = stream::collect(resp.body, SMALL_BODY)
            .await
            .unwrap_or_default();
        Self {
            status: resp.status,
            headers: resp.headers,
            body,
        }
    }
}

impl Inner {
    /// Sends one request, giving up after the node timeout.
    pub(crate) async fn send(&self, target: &Target, req: NodeRequest) -> Result<NodeResponse> {
        match tokio::time::timeout(
            self.config.node_timeout(),
            self.client.send(&target.host, req),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Error::Unavailable {
                reason: format!("node {} timed out", target.host),
            }),
        }
    }

    /// Sends a request to every primary at once; a primary that is
    /// unreachable, times out or answers 507/5xx is replaced by the next
    /// handoff. `build(target, replica_index)` makes each request.
    pub(crate) async fn make_requests<F>(&self, nodes: &Nodes, build: F) -> Vec<Outcome>
    where
        F: Fn(&Target, usize) -> NodeRequest,
    {
        let handoffs = Mutex::new(nodes.handoffs.iter().cloned().collect::<VecDeque<_>>());
        let futs = nodes.primaries.iter().enumerate().map(|(i, primary)| {
            let handoffs = &handoffs;
            let build = &build;
            async move {
                let mut target = primary.clone();
                loop {
                    match self.send(&target, build(&target, i)).await {
                        Ok(resp) if resp.status < 500 => return Outcome::read(resp).await,
                        Ok(resp) if resp.status != 507 => {
                            tracing::warn!(host = %target.host, status = resp.status, "backend error");
                        }
                        Ok(_) => {
                            tracing::warn!(host = %target.host, device = %target.device, "insufficient storage");
                        }
                        Err(e) => tracing::warn!(host = %target.host, error = %e, "node unavailable"),
                    }
                    let next = handoffs.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    match next {
                        Some(t) => target = t,
                        None => return Outcome::failed(),
                    }
                }
            }
        });
        join_all(futs).await
    }
}

impl Inner {
    /// Reads from `targets` in order until one has the entity: errors, 5xx
    /// and 507 move on to the next node; a 404 is remembered and the rest are
    /// still asked. A copy older than a tombstone seen on another node does
    /// not count. Answers the first good response, else 404 if any node said
    /// so, else 503.
    pub(crate) async fn read_failover<F>(&self, targets: &[Target], build: F) -> NodeResponse
    where
        F: Fn(&Target) -> NodeRequest,
    {
        self.read_failover_at(targets, build).await.0
    }

    /// [`Inner::read_failover`], also telling which target's answer it is
    /// (`None` for a 404 or 503 made of several answers).
    pub(crate) async fn read_failover_at<F>(
        &self,
        targets: &[Target],
        build: F,
    ) -> (NodeResponse, Option<usize>)
    where
        F: Fn(&Target) -> NodeRequest,
    {
        let newest = targets.first().is_some_and(|t| {
            build(t)
                .headers
                .get("x-newest")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        });
        if newest {
            return self.read_newest(targets, &build).await;
        }
        let mut not_found: Option<Outcome> = None;
        let mut tombstone: Option<Timestamp> = None;
        for (i, target) in targets.iter().enumerate() {
            let resp = match self.send(target, build(target)).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(host = %target.host, error = %e, "node unavailable");
                    continue;
                }
            };
            match resp.status {
                404 => {
                    let ts = backend_timestamp(&resp.headers);
                    if ts > tombstone {
                        tombstone = ts;
                    }
                    if not_found.is_none() {
                        not_found = Some(Outcome::read(resp).await);
                    }
                }
                s if s >= 500 => {
                    tracing::warn!(host = %target.host, status = s, "backend error");
                }
                s if s < 400 || s == 416 => {
                    let ts = backend_timestamp(&resp.headers);
                    if tombstone.is_some() && ts.is_some() && ts < tombstone {
                        continue;
                    }
                    return (resp, Some(i));
                }
                _ => return (resp, Some(i)),
            }
        }
        let resp = match not_found {
            Some(o) => NodeResponse {
                status: 404,
                headers: o.headers,
                body: stream::once(o.body),
            },
            None => NodeResponse::status(503),
        };
        (resp, None)
    }
}

impl Inner {
    /// `X-Newest: true`: asks every node at once and answers the newest
    /// success; a newer tombstone wins over older data.
    async fn read_newest<F>(&self, targets: &[Target], build: &F) -> (NodeResponse, Option<usize>)
    where
        F: Fn(&Target) -> NodeRequest,
    {
        let answers = join_all(targets.iter().map(|t| self.send(t, build(t)))).await;
        let mut best: Option<(NodeResponse, usize)> = None;
        let mut not_found: Option<NodeResponse> = None;
        let mut tombstone: Option<Timestamp> = None;
        for (i, answer) in answers.into_iter().enumerate() {
            let Ok(resp) = answer else { continue };
            let ts = backend_timestamp(&resp.headers);
            if resp.status == 404 {
                if ts > tombstone {
                    tombstone = ts;
                }
                not_found.get_or_insert(resp);
            } else if (200..300).contains(&resp.status)
                && best
                    .as_ref()
                    .is_none_or(|(b, _)| ts > backend_timestamp(&b.headers))
            {
                best = Some((resp, i));
            }
        }
        match (best, not_found) {
            (Some((b, i)), _)
                if tombstone.is_none() || backend_timestamp(&b.headers) >= tombstone =>
            {
                (b, Some(i))
            }
            (_, Some(nf)) => (nf, None),
            (Some((b, i)), None) => (b, Some(i)),
            (None, None) => (NodeResponse::status(503), None),
        }
    }
}

fn backend_timestamp(h: &Headers) -> Option<Timestamp> {
    h.get("x-backend-timestamp")
        .or_else(|| h.get("x-timestamp"))
        .and_then(|v| v.parse().ok())
}

/// Swift's `best_response`: the highest status of the first class (1xx,
/// 2xx, 3xx, 4xx) that reaches the quorum; else 503.
pub(crate) fn best_response(outcomes: &[Outcome], quorum: usize) -> Reply {
    for hundred in [100u16, 200, 300, 400] {
        let best = outcomes
            .iter()
            .filter(|o| (hundred..hundred + 100).contains(&o.status))
            .max_by_key(|o| o.status);
        let count = outcomes
            .iter()
            .filter(|o| (hundred..hundred + 100).contains(&o.status))
            .count();
        if let Some(best) = best {
            if count >= quorum {
                let mut reply = if best.body.is_empty() {
                    Reply::status(best.status)
                } else {
                    Reply::body(best.status, best.body.clone())
                };
                for (n, v) in best.headers.iter() {
                    if n != "content-length" && !n.starts_with("x-backend-") {
                        reply.headers.set(n, v);
                    }
                }
                if !best.body.is_empty() {
                    reply
                        .headers
                        .set("content-length", best.body.len().to_string());
                }
                return reply;
            }
        }
    }
    Reply::status(503)
}

/// Copies a backend's response headers for the client, dropping internal
/// and per-connection ones.
pub(crate) fn client_headers(backend: &Headers) -> Headers {
    backend
        .iter()
        .filter(|(n, _)| {
            !n.starts_with("x-backend-")
                && !super::response::is_hop_by_hop(n)
                && *n != "x-trans-id"
                && *n != "x-openstack-request-id"
                && *n != "date"
        })
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(status: u16) -> Outcome {
        Outcome {
            status,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn best_response_follows_swift() {
        assert_eq!(quorum_size(3), 2);
        assert_eq!(quorum_size(2), 2);
        assert_eq!(quorum_size(1), 1);
        assert_eq!(best_response(&[o(201), o(201), o(503)], 2).status, 201);
        assert_eq!(best_response(&[o(201), o(503), o(503)], 2).status, 503);
        assert_eq!(best_response(&[o(204), o(404), o(404)], 2).status, 404);
        assert_eq!(best_response(&[o(201), o(202), o(404)], 2).status, 202);
        assert_eq!(best_response(&[o(404), o(422), o(422)], 2).status, 422);
        assert_eq!(best_response(&[o(201), o(404), o(503)], 2).status, 503);
    }
}
