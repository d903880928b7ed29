//! The HTTP store against a local hyper server serving a file, with and
//! without Range support.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;

use super::*;
use crate::store::{conformance, ByteRange};
use crate::stream;

type Resp = Response<Full<bytes::Bytes>>;

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 17 % 241) as u8).collect()
}

fn reply(status: u16, body: Vec<u8>, extra: &[(&str, String)]) -> Resp {
    let mut b = Response::builder()
        .status(status)
        .header("content-length", body.len());
    for (k, v) in extra {
        b = b.header(*k, v.as_str());
    }
    b.body(Full::new(bytes::Bytes::from(body))).unwrap()
}

/// Serves the file, honouring `Range: bytes=a-b` (one range) like a web server.
async fn ranged(path: &Path, headers: &HeaderMap) -> Resp {
    let d = tokio::fs::read(path).await.unwrap();
    let size = d.len();
    let Some(range) = headers.get("range").and_then(|v| v.to_str().ok()) else {
        return reply(200, d, &[]);
    };
    let (a, b) = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .unwrap();
    let start: usize = a.parse().unwrap();
    let end: usize = b.parse::<usize>().map_or(size - 1, |e| e.min(size - 1));
    if start >= size {
        return reply(
            416,
            Vec::new(),
            &[("content-range", format!("bytes */{size}"))],
        );
    }
    let cr = format!("bytes {start}-{end}/{size}");
    reply(206, d[start..=end].to_vec(), &[("content-range", cr)])
}

/// `/image.raw` honours Range, `/plain.raw` ignores it, `/moved` redirects.
async fn route(path: PathBuf, req: Request<Incoming>) -> Result<Resp, Infallible> {
    Ok(match req.uri().path() {
        "/image.raw" => ranged(&path, req.headers()).await,
        "/plain.raw" => reply(200, tokio::fs::read(&path).await.unwrap(), &[]),
        "/moved" => reply(302, Vec::new(), &[("location", "/image.raw".to_string())]),
        _ => reply(404, Vec::new(), &[]),
    })
}

struct Server {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    data: Vec<u8>,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.raw");
    let d = data(100_000);
    std::fs::write(&path, &d).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = l.accept().await {
            let path = path.clone();
            let svc = hyper::service::service_fn(move |req| route(path.clone(), req));
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(conn), svc)
                    .await;
            });
        }
    });
    Server {
        addr,
        _dir: dir,
        data: d,
    }
}

async fn read(s: ByteStream) -> Vec<u8> {
    stream::collect(s, 1 << 20).await.unwrap().to_vec()
}

#[tokio::test]
async fn http_store_conforms_as_read_only() {
    let store = HttpImageStore::new().unwrap();
    assert!(!store.capabilities().write);
    conformance::run_all(&store).await;
    let r = store.delete(&ImageId::new_v4()).await;
    assert!(matches!(r, Err(Error::Unsupported { .. })));
}

#[tokio::test]
async fn get_resolves_registered_locations_with_ranges() {
    let srv = server().await;
    let store = HttpImageStore::new().unwrap();
    for path in ["image.raw", "plain.raw", "moved"] {
        let id = ImageId::new_v4();
        let url = format!("http://{}/{path}", srv.addr);
        assert!(!store.exists(&id).await.unwrap());
        store.register(&id, &url).unwrap();
        assert_eq!(store.location(&id).as_deref(), Some(url.as_str()));
        assert!(store.exists(&id).await.unwrap());
        let all = store.get(&id, GetOptions::default()).await.unwrap();
        assert_eq!(read(all).await, srv.data, "{path}");
        for (start, end) in [
            (0, Some(1)),
            (70_000, None),
            (99_999, Some(500_000)),
            (5, Some(65_541)),
        ] {
            let r = GetOptions::range(ByteRange { start, end });
            let got = read(store.get(&id, r).await.unwrap()).await;
            let stop = end.unwrap_or(100_000).min(100_000) as usize;
            assert_eq!(
                got,
                &srv.data[start as usize..stop],
                "{path} {start}..{end:?}"
            );
        }
        for (start, end) in [(100_000, None), (50, Some(40))] {
            let r = GetOptions::range(ByteRange { start, end });
            let err = store.get(&id, r).await;
            assert!(
                matches!(err, Err(Error::RangeNotSatisfiable { size: 100_000 })),
                "{path} {start}..{end:?}"
            );
        }
        assert!(store.unregister(&id));
        let gone = store.get(&id, GetOptions::default()).await;
        assert!(matches!(gone, Err(Error::NotFound { .. })));
    }
}

#[tokio::test]
async fn missing_urls_are_not_found_and_bad_locations_are_refused() {
    let srv = server().await;
    let store = HttpImageStore::new().unwrap();
    let url = format!("http://{}/nothing-here", srv.addr);
    let r = store.get_url(&url, GetOptions::default()).await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{:?}", r.err());
    let id = ImageId::new_v4();
    store.register(&id, &url).unwrap();
    assert!(!store.exists(&id).await.unwrap());
    assert_eq!(
        store
            .size_of_url(&format!("http://{}/image.raw", srv.addr))
            .await
            .unwrap(),
        100_000
    );
    for bad in ["file:///etc/passwd", "not a url", "swift://x/y"] {
        assert!(matches!(
            store.register(&id, bad),
            Err(Error::InvalidInput { .. })
        ));
    }
}
