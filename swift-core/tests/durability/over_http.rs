//! Replication and corrupt GETs over real HTTP on loopback: storage nodes
//! behind a minimal hyper server, the replicator on `HttpNodeClient`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use swift_core::client::HttpNodeClient;
use swift_core::daemon::Daemon;
use swift_core::hash::HashConfig;
use swift_core::headers::Headers;
use swift_core::node::{
    AccountServer, ContainerServer, NodeClient, NodeConfig, NodeMethod, NodeRequest,
    ObjectReplicator, ObjectReplicatorConfig, ObjectServer, StorageNode,
};
use swift_core::object::{FsObjectBackend, NewObject, ObjectBackend, ObjectLocation};
use swift_core::ring::{DeviceSpec, RebalanceOptions, RingBuilder, RingKind, Rings};
use swift_core::stream::{body_to_stream, stream_to_body, SwiftBody};
use swift_core::timestamp::Timestamp;
use tokio::net::TcpListener;

async fn serve(listener: TcpListener, node: StorageNode) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let node = node.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let node = node.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let method = NodeMethod::parse(parts.method.as_str());
                    let mut nreq =
                        NodeRequest::from_uri(method, parts.uri.path(), parts.uri.query()).unwrap();
                    nreq.headers = parts
                        .headers
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
                        .collect::<Headers>();
                    let body: SwiftBody = http_body_util::BodyExt::boxed_unsync(
                        http_body_util::BodyExt::map_err(body, |e| -> swift_core::BoxError {
                            Box::new(e)
                        }),
                    );
                    nreq.body = body_to_stream(body);
                    let resp = node.handle(nreq).await;
                    let mut out = hyper::Response::new(stream_to_body(resp.body));
                    *out.status_mut() = hyper::StatusCode::from_u16(resp.status).unwrap();
                    for (n, v) in resp.headers.iter() {
                        out.headers_mut().insert(
                            hyper::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                            v.parse().unwrap(),
                        );
                    }
                    Ok::<_, Infallible>(out)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(sock), svc)
                .await;
        });
    }
}

#[tokio::test]
async fn replication_and_corrupt_gets_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let hash = HashConfig::new("pre", "suf");
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    let hosts: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    let mut b = RingBuilder::create(3, 3, 0).unwrap();
    for (i, h) in hosts.iter().enumerate() {
        let (ip, port) = h.split_once(':').unwrap();
        let spec = DeviceSpec::new(1, i as u8 + 1, ip, port.parse().unwrap(), "d1", 1.0);
        b.add(spec).unwrap();
    }
    b.rebalance(&RebalanceOptions::at(1_700_000_000, 7))
        .unwrap();
    let ring = b.build();
    let rings = Arc::new(Rings::new(ring.clone(), ring.clone(), ring));
    let client: Arc<dyn NodeClient> =
        Arc::new(HttpNodeClient::new(Duration::from_secs(2), Duration::from_secs(10)).unwrap());
    let mut backends: Vec<Arc<dyn ObjectBackend>> = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let devices = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(devices.join("d1")).unwrap();
        let cfg = NodeConfig {
            devices,
            mount_check: true,
            hash: hash.clone(),
            fsync: false,
        };
        let backend: Arc<dyn ObjectBackend> = Arc::new(FsObjectBackend::new(cfg.clone()));
        let object = ObjectServer::new(cfg.clone(), rings.clone(), backend.clone(), client.clone());
        let container = ContainerServer::new(cfg.clone(), rings.clone(), client.clone());
        let node = StorageNode::new(
            Arc::new(object),
            Arc::new(container),
            Arc::new(AccountServer::new(cfg)),
        );
        tokio::spawn(serve(listener, node));
        backends.push(backend);
    }
    // Objects written on node 0 only, one of them large (many chunks).
    let big = "0123456789abcdef".repeat(40_000);
    let names = ["small", "big"];
    let ring = rings.get(RingKind::Object);
    let loc = |name: &str| {
        let h = hash.hash_path("AUTH_a", Some("c"), Some(name));
        ObjectLocation::new("d1", ring.partition_of(&h), h)
    };
    for (i, name) in names.iter().enumerate() {
        let data = if i == 0 {
            "tiny".to_string()
        } else {
            big.clone()
        };
        let obj = NewObject::new(
            format!("/AUTH_a/c/{name}"),
            Timestamp::from_ticks(Timestamp::now().ticks() + i as u64),
            "text/plain",
        );
        backends[0]
            .put(
                &loc(name),
                obj,
                swift_core::stream::once(data),
                Default::default(),
            )
            .await
            .unwrap();
    }
    let rep = |n: usize| {
        ObjectReplicator::new(
            ObjectReplicatorConfig::default(),
            hosts[n].clone(),
            rings.clone(),
            backends[n].clone(),
            client.clone(),
        )
        .unwrap()
    };
    let r = rep(0).run_once().await.unwrap();
    assert_eq!(r.errors, 0, "{r:?}");
    assert_eq!(r.count("objects_sent"), 4, "two objects to two peers");
    // Bit rot on node 1; a GET of it over HTTP is cut short.
    let big_loc = loc("big");
    let hash_dir = dir
        .path()
        .join("node1/d1/objects")
        .join(big_loc.partition.to_string())
        .join(big_loc.hash.suffix())
        .join(big_loc.hash.to_hex());
    let data_file = std::fs::read_dir(&hash_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "data"))
        .unwrap();
    let mut raw = std::fs::read(&data_file).unwrap();
    raw[1000] ^= 0x80;
    std::fs::write(&data_file, raw).unwrap();
    let url = format!("http://{}/d1/{}/AUTH_a/c/big", hosts[1], big_loc.partition);
    let http = reqwest::Client::new();
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(big.len() as u64));
    let mut stream = resp.bytes_stream();
    let (mut got, mut failed) = (0usize, false);
    while let Some(item) = stream.next().await {
        match item {
            Ok(c) => got += c.len(),
            Err(_) => failed = true,
        }
    }
    assert!(failed, "the client sees an error, not a clean end");
    assert!(got < big.len());
    // Quarantined: 404 now, and node 0's replicator restores it.
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let r = rep(0).run_once().await.unwrap();
    assert_eq!(r.count("objects_sent"), 1, "{r:?}");
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap(), big.as_bytes());
    // All three replicas agree on every partition.
    for part in 0..8 {
        let h0 = backends[0].suffix_hashes("d1", part, &[]).await.unwrap();
        for b in &backends[1..] {
            assert_eq!(b.suffix_hashes("d1", part, &[]).await.unwrap(), h0);
        }
    }
}
