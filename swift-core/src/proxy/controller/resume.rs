//! Resuming an object GET whose backend body fails mid-stream, as Swift's
//! proxy does: the rest of the bytes are asked of the other replicas with a
//! `Range` header and the client's response goes on.
//!
//! A resumed request must reach the same object version: it carries
//! `If-Match: <etag>` and its answer must show the first answer's data
//! timestamp and ETag. Each other node is asked at most once; when none can
//! supply the rest, the stream ends with the error (never a short clean end).
//!
//! For a whole-object body (200 with an MD5 ETag) the wrapper also hashes
//! what it passes on: the failing node may have sent corrupt bytes before it
//! cut, so once a body was resumed its last chunk is held back until the MD5
//! of the stitched body matches the ETag, and a mismatch ends the stream
//! with an error, never with wrong bytes and a clean end.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use md5::{Digest, Md5};

use super::super::fanout::Target;
use super::object::idle_timeout;
use crate::error::Error;
use crate::headers::Headers;
use crate::node::{NodeClient, NodeMethod, NodeRequest, NodeResponse};
use crate::stream::ByteStream;

/// Request headers a resumed request drops: its own `Range` and
/// `If-Match` replace them, and other preconditions already passed.
const DROPPED: [&str; 6] = [
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-backend-etag-is-at",
];

/// How to ask other replicas for the rest of a body.
#[derive(Debug)]
pub(crate) struct Resume {
    pub(crate) client: Arc<dyn NodeClient>,
    /// Connect and idle timeout of each resumed request.
    pub(crate) timeout: Duration,
    /// The nodes to try, in order, each at most once (not the first one).
    pub(crate) targets: Vec<Target>,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    /// The headers of the first request.
    pub(crate) headers: Headers,
}

/// What the first answer promised: which bytes, of which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Object offset of the body's first byte.
    start: u64,
    /// Object offset of the body's last byte, if known.
    end: Option<u64>,
    etag: String,
    /// Header naming the version (data timestamp) and its value.
    version: (&'static str, String),
    /// Whether the body is the whole object with an MD5 ETag.
    whole: bool,
}

impl Plan {
    /// The plan of a GET answer, or `None` when it cannot be resumed
    /// (not 200/206, a multipart range body, no ETag or timestamp).
    pub(crate) fn of(resp: &NodeResponse) -> Option<Self> {
        let h = &resp.headers;
        let etag = unquote(h.get("etag")?).to_string();
        let version = ["x-backend-data-timestamp", "x-timestamp"]
            .into_iter()
            .find_map(|n| h.get(n).map(|v| (n, v.to_string())))?;
        let length: Option<u64> = h.get("content-length").and_then(|v| v.parse().ok());
        let (start, end, whole) = match resp.status {
            200 => {
                let whole = etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit());
                (0, length.map(|n| n.checked_sub(1)), whole)
            }
            206 => {
                let multipart = h
                    .get("content-type")
                    .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/"));
                if multipart {
                    return None;
                }
                let (a, b) = content_range(h.get("content-range")?)?;
                (a, Some(Some(b)), false)
            }
            _ => return None,
        };
        // An empty body has nothing to resume.
        let end = match end {
            Some(None) => return None,
            Some(Some(e)) => Some(e),
            None => None,
        };
        Some(Self {
            start,
            end,
            etag,
            version,
            whole,
        })
    }

    /// Bytes the body holds, if known.
    fn len(&self) -> Option<u64> {
        self.end.map(|e| e + 1 - self.start)
    }
}

/// `(first, last)` of a `Content-Range: bytes first-last/total`.
fn content_range(v: &str) -> Option<(u64, u64)> {
    let span = v.trim().strip_prefix("bytes ")?.split('/').next()?;
    let (a, b) = span.split_once('-')?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b))
}

fn unquote(v: &str) -> &str {
    v.trim().trim_matches('"')
}

struct State {
    body: ByteStream,
    plan: Plan,
    resume: Resume,
    next: usize,
    sent: u64,
    hasher: Option<Md5>,
    resumed: bool,
    held: Option<Bytes>,
    done: bool,
}

/// Passes `body` (the first node's, already under its idle timeout) on and
/// continues it from the other nodes when it fails.
pub(crate) fn resumable(body: ByteStream, plan: Plan, resume: Resume) -> ByteStream {
    let hasher = plan.whole.then(Md5::new);
    let state = State {
        body,
        plan,
        resume,
        next: 0,
        sent: 0,
        hasher,
        resumed: false,
        held: None,
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            let item = st.body.next().await;
            let complete = st.plan.len().is_some_and(|n| st.sent >= n);
            match item {
                Some(Ok(mut chunk)) => {
                    if let Some(n) = st.plan.len() {
                        let room = n.saturating_sub(st.sent);
                        if (chunk.len() as u64) > room {
                            chunk.truncate(room as usize);
                        }
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    st.sent += chunk.len() as u64;
                    if let Some(h) = st.hasher.as_mut() {
                        h.update(&chunk);
                    }
                    if st.resumed && st.hasher.is_some() {
                        match st.held.replace(chunk) {
                            Some(prev) => return Some((Ok(prev), st)),
                            None => continue,
                        }
                    }
                    return Some((Ok(chunk), st));
                }
                Some(Err(e)) if !complete => {
                    tracing::warn!(error = %e, sent = st.sent, "object body failed; resuming");
                    match st.reopen().await {
                        Some(body) => st.body = body,
                        None => {
                            st.done = true;
                            return Some((Err(e), st));
                        }
                    }
                }
                None if !complete && st.plan.end.is_some() => {
                    tracing::warn!(sent = st.sent, "object body ended short; resuming");
                    match st.reopen().await {
                        Some(body) => st.body = body,
                        None => {
                            st.done = true;
                            let reason = "object body ended short".to_string();
                            return Some((Err(Error::Unavailable { reason }), st));
                        }
                    }
                }
                // The whole body arrived (an error after it changes nothing).
                _ => {
                    st.done = true;
                    return st.finish().map(|item| (item, st));
                }
            }
        }
    })
    .boxed()
}

impl State {
    /// The last held chunk after the stitched body's MD5 is checked.
    fn finish(&mut self) -> Option<crate::error::Result<Bytes>> {
        if !self.resumed {
            return None;
        }
        if let Some(h) = self.hasher.take() {
            let got = hex::encode(h.finalize());
            if !got.eq_ignore_ascii_case(&self.plan.etag) {
                let what = format!("resumed body md5 {got} != etag {}", self.plan.etag);
                return Some(Err(Error::Corrupt { what }));
            }
        }
        self.held.take().map(Ok)
    }

    /// The rest of the body from the next node that has this version.
    async fn reopen(&mut self) -> Option<ByteStream> {
        let offset = self.plan.start + self.sent;
        let range = match self.plan.end {
            Some(e) => format!("bytes={offset}-{e}"),
            None => format!("bytes={offset}-"),
        };
        while let Some(target) = self.resume.targets.get(self.next).cloned() {
            self.next += 1;
            let mut req = NodeRequest::new(
                NodeMethod::Get,
                &target.device,
                target.partition,
                &self.resume.path,
            );
            req.query = self.resume.query.clone();
            req.headers = self.resume.headers.clone();
            for h in DROPPED {
                req.headers.remove(h);
            }
            req.headers.set("range", range.clone());
            req.headers.set("if-match", self.plan.etag.clone());
            let sent = tokio::time::timeout(
                self.resume.timeout,
                self.resume.client.send(&target.host, req),
            )
            .await;
            let resp = match sent {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    tracing::warn!(host = %target.host, error = %e, "resume: node unavailable");
                    continue;
                }
                Err(_) => {
                    tracing::warn!(host = %target.host, "resume: node timed out");
                    continue;
                }
            };
            if self.answers(&resp, offset) {
                self.resumed = true;
                return Some(idle_timeout(resp.body, self.resume.timeout));
            }
            tracing::info!(host = %target.host, status = resp.status, "resume: node skipped");
        }
        None
    }

    /// Whether `resp` is this version's bytes from `offset` on.
    fn answers(&self, resp: &NodeResponse, offset: u64) -> bool {
        let h = &resp.headers;
        let same_version = h.get("etag").map(unquote) == Some(self.plan.etag.as_str())
            && h.get(self.plan.version.0) == Some(self.plan.version.1.as_str());
        let from_offset = match resp.status {
            206 => h
                .get("content-range")
                .and_then(content_range)
                .is_some_and(|(a, b)| a == offset && self.plan.end.is_none_or(|e| b == e)),
            200 => offset == 0,
            _ => false,
        };
        same_version && from_offset
    }
}

#[cfg(test)]
#[path = "resume_tests.rs"]
mod tests;
