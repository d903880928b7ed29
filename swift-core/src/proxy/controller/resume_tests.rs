//! Unit tests of the resuming stream against fake replicas.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use md5::{Digest, Md5};

use super::*;
use crate::error::Result;
use crate::stream;

/// One replica's copy, and how it misbehaves.
#[derive(Debug, Clone)]
struct Copy {
    data: Bytes,
    ts: &'static str,
    /// Cuts every body after this many object bytes (from offset 0).
    cut_at: Option<usize>,
}

#[derive(Debug, Default)]
struct Fake {
    copies: HashMap<String, Copy>,
    /// (host, range header) of each request.
    log: Mutex<Vec<(String, Option<String>)>>,
}

fn etag(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

#[async_trait]
impl NodeClient for Fake {
    async fn send(&self, host: &str, req: NodeRequest) -> Result<NodeResponse> {
        let range = req.headers.get("range").map(str::to_string);
        self.log
            .lock()
            .unwrap()
            .push((host.to_string(), range.clone()));
        let Some(copy) = self.copies.get(host) else {
            return Ok(NodeResponse::status(404));
        };
        let tag = etag(&copy.data);
        if req
            .headers
            .get("if-match")
            .is_some_and(|m| unquote(m) != tag)
        {
            return Ok(NodeResponse::status(412));
        }
        let len = copy.data.len();
        let (status, a, b) = match range.as_deref().and_then(|r| r.strip_prefix("bytes=")) {
            Some(r) => {
                let (a, b) = r.split_once('-').unwrap();
                let a: usize = a.parse().unwrap();
                let b: usize = if b.is_empty() {
                    len - 1
                } else {
                    b.parse().unwrap()
                };
                (206, a, b.min(len - 1))
            }
            None => (200, 0, len - 1),
        };
        let mut headers = Headers::new()
            .with("etag", tag)
            .with("x-timestamp", copy.ts)
            .with("x-backend-data-timestamp", copy.ts)
            .with("content-length", (b + 1 - a).to_string());
        if status == 206 {
            headers.set("content-range", format!("bytes {a}-{b}/{len}"));
        }
        // Four-byte chunks; a cut ends the body with an error.
        let stop = copy.cut_at.map_or(b + 1, |c| c.min(b + 1));
        let mut items: Vec<Result<Bytes>> = (a..stop)
            .step_by(4)
            .map(|i| Ok(copy.data.slice(i..(i + 4).min(stop))))
            .collect();
        if stop <= b {
            items.push(Err(Error::Unavailable {
                reason: "cut".into(),
            }));
        }
        Ok(NodeResponse {
            status,
            headers,
            body: futures::stream::iter(items).boxed(),
        })
    }
}

const DATA: &[u8] = b"the quick brown fox jumps over the lazy dog";

fn target(i: usize) -> Target {
    Target {
        host: format!("n{i}"),
        device: "d".into(),
        partition: 0,
    }
}

fn copy(cut_at: Option<usize>, ts: &'static str) -> Copy {
    Copy {
        data: Bytes::from_static(DATA),
        ts,
        cut_at,
    }
}

/// Reads node 1 with `headers` the way the proxy does, then streams the
/// body resumable from nodes 2.. ; answers (bytes, whether it ended in an
/// error, request log).
async fn get(
    copies: Vec<Copy>,
    headers: Headers,
) -> (Vec<u8>, bool, Vec<(String, Option<String>)>) {
    let fake = Arc::new(Fake {
        copies: copies
            .into_iter()
            .enumerate()
            .map(|(i, c)| (format!("n{}", i + 1), c))
            .collect(),
        log: Mutex::default(),
    });
    let mut req = NodeRequest::new(NodeMethod::Get, "d", 0, "a/c/o");
    req.headers = headers.clone();
    let first = fake.send("n1", req).await.unwrap();
    let plan = Plan::of(&first).expect("resumable");
    let resume = Resume {
        client: fake.clone(),
        timeout: Duration::from_secs(5),
        targets: (2..=fake.copies.len()).map(target).collect(),
        path: "a/c/o".into(),
        query: Vec::new(),
        headers,
    };
    let mut body = resumable(first.body, plan, resume);
    let (mut got, mut failed) = (Vec::new(), false);
    while let Some(item) = body.next().await {
        match item {
            Ok(c) => got.extend_from_slice(&c),
            Err(_) => failed = true,
        }
    }
    let log = fake.log.lock().unwrap().clone();
    (got, failed, log)
}

fn ranges(log: &[(String, Option<String>)]) -> Vec<(&str, Option<&str>)> {
    log.iter()
        .map(|(h, r)| (h.as_str(), r.as_deref()))
        .collect()
}

#[tokio::test]
async fn a_cut_body_is_completed_by_the_next_replica() {
    let (got, failed, log) = get(vec![copy(Some(10), "1"), copy(None, "1")], Headers::new()).await;
    assert!(!failed);
    assert_eq!(got, DATA);
    assert_eq!(
        ranges(&log),
        [("n1", None), ("n2", Some("bytes=10-42"))],
        "node 2 asked for the rest"
    );
}

#[tokio::test]
async fn a_replica_of_another_version_is_skipped() {
    let copies = vec![copy(Some(6), "1"), copy(None, "2"), copy(None, "1")];
    let (got, failed, log) = get(copies, Headers::new()).await;
    assert!(!failed);
    assert_eq!(got, DATA);
    assert_eq!(
        ranges(&log),
        [
            ("n1", None),
            ("n2", Some("bytes=6-42")),
            ("n3", Some("bytes=6-42"))
        ]
    );
}

#[tokio::test]
async fn other_data_under_another_etag_is_skipped() {
    let mut other = copy(None, "1");
    other.data = Bytes::from_static(b"THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG");
    let copies = vec![copy(Some(6), "1"), other, copy(None, "1")];
    let (got, failed, log) = get(copies, Headers::new()).await;
    assert!(!failed);
    assert_eq!(got, DATA);
    assert_eq!(log.len(), 3);
}

#[tokio::test]
async fn nobody_can_resume_so_the_stream_ends_in_an_error() {
    let copies = vec![copy(Some(8), "1"), copy(Some(12), "2"), copy(Some(20), "1")];
    let (got, failed, log) = get(copies, Headers::new()).await;
    assert!(failed, "never a clean short body");
    // Node 2 is skipped (version); node 3 gives bytes 8..20 then cuts too,
    // and its last chunk (16..20) stays held back, unverified.
    assert_eq!(got, &DATA[..16]);
    assert_eq!(log.len(), 3, "each node asked at most once: {log:?}");
    // No other node at all.
    let (got, failed, log) = get(vec![copy(Some(8), "1")], Headers::new()).await;
    assert!(failed);
    assert_eq!(got, &DATA[..8]);
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn a_client_range_is_resumed_within_it() {
    let headers = Headers::new().with("range", "bytes=4-30");
    let (got, failed, log) = get(vec![copy(Some(13), "1"), copy(None, "1")], headers).await;
    assert!(!failed);
    assert_eq!(got, &DATA[4..=30]);
    assert_eq!(
        ranges(&log),
        [("n1", Some("bytes=4-30")), ("n2", Some("bytes=13-30"))]
    );
}

#[tokio::test]
async fn a_stitched_body_with_wrong_bytes_never_ends_cleanly() {
    // Node 1 sends a corrupt first chunk, then cuts; the rest is good.
    let mut bad = copy(Some(8), "1");
    let mut raw = DATA.to_vec();
    raw[0] ^= 1;
    bad.data = Bytes::from(raw);
    let fake = Arc::new(Fake {
        copies: [("n2".to_string(), copy(None, "1"))].into(),
        log: Mutex::default(),
    });
    let first = NodeResponse {
        status: 200,
        headers: Headers::new()
            .with("etag", etag(DATA))
            .with("x-timestamp", "1")
            .with("content-length", DATA.len().to_string()),
        body: futures::stream::iter([
            Ok(bad.data.slice(0..8)),
            Err(Error::Unavailable { reason: "x".into() }),
        ])
        .boxed(),
    };
    let plan = Plan::of(&first).unwrap();
    let resume = Resume {
        client: fake,
        timeout: Duration::from_secs(5),
        targets: vec![target(2)],
        path: "a/c/o".into(),
        query: Vec::new(),
        headers: Headers::new(),
    };
    let body = resumable(first.body, plan, resume);
    let r = stream::collect(body, 1000).await;
    assert!(matches!(r, Err(Error::Corrupt { .. })), "{r:?}");
}

#[test]
fn plans_follow_the_first_answer() {
    let resp = |status, h: &[(&str, &str)]| {
        let mut r = NodeResponse::status(status);
        for (n, v) in h {
            r.headers.set(*n, *v);
        }
        r
    };
    let base = [
        ("etag", "\"0123456789abcdef0123456789abcdef\""),
        ("x-timestamp", "5"),
    ];
    let ok = resp(200, &[base[0], base[1], ("content-length", "10")]);
    let p = Plan::of(&ok).unwrap();
    assert_eq!((p.start, p.end, p.whole), (0, Some(9), true));
    let part = resp(206, &[base[0], base[1], ("content-range", "bytes 3-7/10")]);
    let p = Plan::of(&part).unwrap();
    assert_eq!((p.start, p.end, p.whole), (3, Some(7), false));
    let multi = resp(
        206,
        &[
            base[0],
            base[1],
            ("content-type", "multipart/byteranges;boundary=x"),
        ],
    );
    assert_eq!(Plan::of(&multi), None);
    assert_eq!(Plan::of(&resp(304, &base)), None);
    assert_eq!(Plan::of(&resp(200, &[base[1]])), None, "no etag");
    assert_eq!(
        Plan::of(&resp(200, &[base[0], base[1], ("content-length", "0")])),
        None,
        "empty"
    );
}

#[tokio::test]
async fn a_stalled_body_is_resumed_after_the_idle_timeout() {
    let fake = Arc::new(Fake {
        copies: [("n2".to_string(), copy(None, "1"))].into(),
        log: Mutex::default(),
    });
    let stalled = futures::stream::iter([Ok(Bytes::from_static(&DATA[..5]))])
        .chain(futures::stream::pending())
        .boxed();
    let first = NodeResponse {
        status: 200,
        headers: Headers::new()
            .with("etag", etag(DATA))
            .with("x-timestamp", "1")
            .with("content-length", DATA.len().to_string()),
        body: idle_timeout(stalled, Duration::from_millis(50)),
    };
    let plan = Plan::of(&first).unwrap();
    let resume = Resume {
        client: fake.clone(),
        timeout: Duration::from_secs(5),
        targets: vec![target(2)],
        path: "a/c/o".into(),
        query: Vec::new(),
        headers: Headers::new(),
    };
    let body = resumable(first.body, plan, resume);
    assert_eq!(&stream::collect(body, 1000).await.unwrap()[..], DATA);
    let log = fake.log.lock().unwrap().clone();
    assert_eq!(ranges(&log), [("n2", Some("bytes=5-42"))]);
}
