//! An in-memory storage cluster that answers the backend protocol well
//! enough for the proxy's tests, with nodes that can be taken down, filled
//! (507), broken (500) or stalled.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::node::{NodeClient, NodeMethod, NodeRequest, NodeResponse};
use crate::ring::{Device, Ring};
use crate::stream;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Up,
    Down,
    Full,
    Broken,
    /// Reads the first chunk of a PUT body, then never answers.
    Stall,
}

#[derive(Debug, Clone)]
pub(crate) struct Obj {
    pub(crate) data: Bytes,
    pub(crate) headers: Headers,
    pub(crate) ts: Timestamp,
    pub(crate) deleted: bool,
}

#[derive(Debug, Default, Clone)]
struct Db {
    headers: Headers,
    children: BTreeSet<String>,
}

type Key = (String, String, String);

#[derive(Debug, Default)]
struct State {
    modes: HashMap<String, Mode>,
    objects: HashMap<Key, Obj>,
    containers: HashMap<Key, Db>,
    accounts: HashMap<Key, Db>,
    log: Vec<(String, String, String, Headers)>,
}

#[derive(Debug, Default)]
pub(crate) struct FakeCluster {
    state: Mutex<State>,
}

pub(crate) const NODES: u16 = 6;

/// Six devices on six hosts in six zones; partition p lives on p, p+2, p+4.
pub(crate) fn ring() -> Ring {
    let devices = (0..NODES)
        .map(|i| {
            Some(Device {
                id: i,
                region: 1,
                zone: i as u8 + 1,
                ip: "127.0.0.1".into(),
                port: 6200 + i,
                device: format!("sd{i}"),
                weight: 1.0,
                meta: String::new(),
            })
        })
        .collect();
    let parts = 16u16;
    let replica2part2dev = (0..3u16)
        .map(|r| (0..parts).map(|p| (p + 2 * r) % NODES).collect())
        .collect();
    Ring {
        part_power: 4,
        devices,
        replica2part2dev,
    }
}

impl FakeCluster {
    pub(crate) fn set_mode(&self, host: &str, mode: Mode) {
        self.state.lock().unwrap().modes.insert(host.into(), mode);
    }

    pub(crate) fn mode(&self, host: &str) -> Mode {
        *self
            .state
            .lock()
            .unwrap()
            .modes
            .get(host)
            .unwrap_or(&Mode::Up)
    }

    /// `(host, method, path, headers)` of every request that reached an up node.
    pub(crate) fn log(&self) -> Vec<(String, String, String, Headers)> {
        self.state.lock().unwrap().log.clone()
    }

    /// Hosts holding a live copy of an object path (`a/c/o`).
    pub(crate) fn object_hosts(&self, path: &str) -> Vec<String> {
        let st = self.state.lock().unwrap();
        let mut v: Vec<String> = st
            .objects
            .iter()
            .filter(|((_, _, p), o)| p == path && !o.deleted)
            .map(|((h, _, _), _)| h.clone())
            .collect();
        v.sort();
        v
    }

    pub(crate) fn put_object_on(&self, host: &str, device: &str, path: &str, obj: Obj) {
        self.state
            .lock()
            .unwrap()
            .objects
            .insert((host.into(), device.into(), path.into()), obj);
    }

    fn handle(&self, host: &str, req: NodeRequest, body: Bytes) -> NodeResponse {
        let mut st = self.state.lock().unwrap();
        st.log.push((
            host.to_string(),
            req.method.as_str().to_string(),
            req.path.clone(),
            req.headers.clone(),
        ));
        let key = (host.to_string(), req.device.clone(), req.path.clone());
        let parts = req.parts();
        let ts = req
            .headers
            .get("x-timestamp")
            .and_then(|t| t.parse::<Timestamp>().ok())
            .unwrap_or_else(Timestamp::now);
        match (parts.container, parts.object) {
            (Some(_), Some(_)) => st.object(&req, key, ts, body),
            (Some(_), None) => st.container(&req, key),
            _ => st.account(&req, key),
        }
    }
}

fn update_pairs(h: &Headers, kind: &str) -> Vec<(String, String)> {
    let hosts = h.get(&format!("x-{kind}-host")).unwrap_or("");
    let devs = h.get(&format!("x-{kind}-device")).unwrap_or("");
    hosts
        .split(',')
        .zip(devs.split(','))
        .filter(|(h, _)| !h.is_empty())
        .map(|(h, d)| (h.to_string(), d.to_string()))
        .collect()
}

impl State {
    fn object(&mut self, req: &NodeRequest, key: Key, ts: Timestamp, body: Bytes) -> NodeResponse {
        let parts = req.parts();
        let cpath = format!("{}/{}", parts.account, parts.container.unwrap_or(""));
        let name = parts.object.unwrap_or("").to_string();
        let live = self.objects.get(&key).filter(|o| !o.deleted).cloned();
        match req.method {
            NodeMethod::Put => {
                let etag = hex::encode(Md5::digest(&body));
                if let Some(want) = req.headers.get("etag") {
                    if want.trim_matches('"') != etag {
                        return NodeResponse::status(422);
                    }
                }
                let mut headers = Headers::new();
                for (n, v) in req.headers.iter() {
                    if n.starts_with("x-object-meta-")
                        || matches!(
                            n,
                            "content-type"
                                | "content-encoding"
                                | "content-disposition"
                                | "x-delete-at"
                        )
                    {
                        headers.set(n, v);
                    }
                }
                headers.set("etag", etag.clone());
                let obj = Obj {
                    data: body,
                    headers,
                    ts,
                    deleted: false,
                };
                self.objects.insert(key, obj);
                for (h, d) in update_pairs(&req.headers, "container") {
                    if let Some(c) = self.containers.get_mut(&(h, d, cpath.clone())) {
                        c.children.insert(name.clone());
                    }
                }
                let mut r = NodeResponse::status(201);
                r.headers.set("etag", etag);
                r
            }
            NodeMethod::Get | NodeMethod::Head => match live {
                Some(o) => {
                    let mut r = NodeResponse::status(200);
                    r.headers = o.headers.clone();
                    r.headers.set("content-length", o.data.len().to_string());
                    r.headers.set("x-timestamp", o.ts.normal());
                    r.headers.set("x-backend-timestamp", o.ts.internal());
                    r.headers.set("last-modified", o.ts.http_date());
                    if req.method == NodeMethod::Get {
                        r.body = stream::once(o.data.clone());
                        // One `bytes=a-b` range, enough for ranged copies.
                        let range = req.headers.get("range").and_then(|v| {
                            let (a, b) = v.strip_prefix("bytes=")?.split_once('-')?;
                            Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
                        });
                        if range.is_some_and(|(a, _)| a >= o.data.len()) {
                            let mut r = NodeResponse::status(416);
                            r.headers
                                .set("content-range", format!("bytes */{}", o.data.len()));
                            return r;
                        }
                        if let Some((a, b)) = range.filter(|(a, b)| a <= b && *b < o.data.len()) {
                            r.status = 206;
                            r.headers.set("content-length", (b + 1 - a).to_string());
                            r.body = stream::once(o.data.slice(a..=b));
                        }
                    }
                    r
                }
                None => {
                    let mut r = NodeResponse::status(404);
                    if let Some(o) = self.objects.get(&key) {
                        r.headers.set("x-backend-timestamp", o.ts.internal());
                    }
                    r
                }
            },
            NodeMethod::Delete => {
                self.objects.insert(
                    key,
                    Obj {
                        data: Bytes::new(),
                        headers: Headers::new(),
                        ts,
                        deleted: true,
                    },
                );
                for (h, d) in update_pairs(&req.headers, "container") {
                    if let Some(c) = self.containers.get_mut(&(h, d, cpath.clone())) {
                        c.children.remove(&name);
                    }
                }
                NodeResponse::status(if live.is_some() { 204 } else { 404 })
            }
            NodeMethod::Post => match self.objects.get_mut(&key).filter(|o| !o.deleted) {
                Some(o) => {
                    o.headers = o
                        .headers
                        .iter()
                        .filter(|(n, _)| !n.starts_with("x-object-meta-"))
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect();
                    for (n, v) in req.headers.with_prefix("x-object-meta-") {
                        o.headers.set(n, v);
                    }
                    NodeResponse::status(202)
                }
                None => NodeResponse::status(404),
            },
            _ => NodeResponse::status(405),
        }
    }

    fn container(&mut self, req: &NodeRequest, key: Key) -> NodeResponse {
        let parts = req.parts();
        let name = parts.container.unwrap_or("").to_string();
        let account = parts.account.to_string();
        match req.method {
            NodeMethod::Put => {
                let existed = self.containers.contains_key(&key);
                let db = self.containers.entry(key).or_default();
                store_metadata(&mut db.headers, &req.headers, "container");
                for (h, d) in update_pairs(&req.headers, "account") {
                    if let Some(a) = self.accounts.get_mut(&(h, d, account.clone())) {
                        a.children.insert(name.clone());
                    }
                }
                NodeResponse::status(if existed { 202 } else { 201 })
            }
            NodeMethod::Get | NodeMethod::Head => match self.containers.get(&key) {
                Some(db) => listing(req, db, "container", "x-container-object-count"),
                None => NodeResponse::status(404),
            },
            NodeMethod::Post => match self.containers.get_mut(&key) {
                Some(db) => {
                    store_metadata(&mut db.headers, &req.headers, "container");
                    NodeResponse::status(204)
                }
                None => NodeResponse::status(404),
            },
            NodeMethod::Delete => match self.containers.get(&key) {
                None => NodeResponse::status(404),
                Some(db) if !db.children.is_empty() => NodeResponse::status(409),
                Some(_) => {
                    self.containers.remove(&key);
                    for (h, d) in update_pairs(&req.headers, "account") {
                        if let Some(a) = self.accounts.get_mut(&(h, d, account.clone())) {
                            a.children.remove(&name);
                        }
                    }
                    NodeResponse::status(204)
                }
            },
            _ => NodeResponse::status(405),
        }
    }

    fn account(&mut self, req: &NodeRequest, key: Key) -> NodeResponse {
        match req.method {
            NodeMethod::Put => {
                let existed = self.accounts.contains_key(&key);
                self.accounts.entry(key).or_default();
                NodeResponse::status(if existed { 202 } else { 201 })
            }
            NodeMethod::Get | NodeMethod::Head => match self.accounts.get(&key) {
                Some(db) => listing(req, db, "account", "x-account-container-count"),
                None => NodeResponse::status(404),
            },
            NodeMethod::Post => match self.accounts.get_mut(&key) {
                Some(db) => {
                    store_metadata(&mut db.headers, &req.headers, "account");
                    NodeResponse::status(204)
                }
                None => NodeResponse::status(404),
            },
            NodeMethod::Delete => match self.accounts.remove(&key) {
                Some(_) => NodeResponse::status(204),
                None => NodeResponse::status(404),
            },
            _ => NodeResponse::status(405),
        }
    }
}

fn listing(req: &NodeRequest, db: &Db, _kind: &str, count_header: &str) -> NodeResponse {
    let json = req.query_param("format") == Some("json");
    let mut r = if req.method == NodeMethod::Head {
        NodeResponse::status(204)
    } else if json {
        let names: Vec<serde_json::Value> = db
            .children
            .iter()
            .map(|n| serde_json::json!({"name": n}))
            .collect();
        NodeResponse::with_body(200, serde_json::to_string(&names).unwrap())
    } else if db.children.is_empty() {
        NodeResponse::status(204)
    } else {
        let text: String = db.children.iter().map(|n| format!("{n}\n")).collect();
        NodeResponse::with_body(200, text)
    };
    r.headers = db.headers.clone();
    r.headers.set(count_header, db.children.len().to_string());
    r
}

#[async_trait]
impl NodeClient for FakeCluster {
    async fn send(&self, host: &str, mut req: NodeRequest) -> Result<NodeResponse> {
        match self.mode(host) {
            Mode::Down => {
                return Err(Error::Unavailable {
                    reason: format!("node {host} down"),
                })
            }
            Mode::Full => return Ok(NodeResponse::status(507)),
            Mode::Broken => return Ok(NodeResponse::status(500)),
            Mode::Stall => {
                let _ = req.body.next().await;
                std::future::pending::<()>().await;
            }
            Mode::Up => {}
        }
        let body = std::mem::replace(&mut req.body, stream::empty());
        let body = stream::collect(body, 64 << 20).await?;
        Ok(self.handle(host, req, body))
    }
}

/// Keeps the user and system metadata (and container ACLs) of a PUT/POST,
/// as the real database servers do.
fn store_metadata(db: &mut Headers, req: &Headers, kind: &str) {
    let (meta, sys) = (format!("x-{kind}-meta-"), format!("x-{kind}-sysmeta-"));
    for (n, v) in req.iter() {
        if n.starts_with(&meta)
            || n.starts_with(&sys)
            || (kind == "container" && matches!(n, "x-container-read" | "x-container-write"))
        {
            db.set(n, v);
        }
    }
}
