//! REPLICATE: suffix hashes, listings and replication writes; corrupt
//! objects found on GET are quarantined.

use super::*;
use crate::node::object_server::replicate::{
    decode_versions, encode_name, OBJECT_HASH_HEADER, OBJECT_NAME_HEADER, REPLICATION_OP_HEADER,
};

fn obj_hash() -> crate::hash::PathHash {
    HashConfig::new("pre", "suf").hash_path("AUTH_a", Some("c"), Some("o"))
}

fn replicate(op: &str, part: u32, path: &str, headers: &[(&str, &str)]) -> NodeRequest {
    let mut r = NodeRequest::new(NodeMethod::Replicate, "sda", part, path);
    r.headers.set(REPLICATION_OP_HEADER, op);
    for (n, v) in headers {
        r.headers.set(*n, *v);
    }
    r
}

async fn json(r: NodeResponse) -> serde_json::Value {
    assert_eq!(r.status, 200);
    serde_json::from_slice(&body(r).await).unwrap()
}

#[tokio::test]
async fn replicate_returns_suffix_hashes_after_recalculating() {
    let e = env();
    // The test ring has part power 6; requests here use partition 3.
    assert_eq!(put(&e, ts(1), "hello", &[]).await.status, 201);
    let suffix = obj_hash().suffix();
    let h = json(e.server.handle(replicate("hashes", 3, "", &[])).await).await;
    let first = h[&suffix].as_str().unwrap().to_string();
    assert_eq!(first.len(), 32);
    assert_eq!(h.as_object().unwrap().len(), 1);
    // A delete changes it; naming the suffix in the path recalculates it.
    let mut d = req(NodeMethod::Delete, &[("x-timestamp", &ts(2).internal())]);
    d.body = stream::empty();
    assert_eq!(e.server.handle(d).await.status, 204);
    let path = format!("{suffix}-abc");
    let h2 = json(e.server.handle(replicate("hashes", 3, &path, &[])).await).await;
    assert_ne!(h2[&suffix].as_str().unwrap(), first);
    // Malformed suffixes and unknown ops are refused.
    assert_eq!(
        e.server
            .handle(replicate("hashes", 3, "xyz", &[]))
            .await
            .status,
        400
    );
    assert_eq!(
        e.server.handle(replicate("bogus", 3, "", &[])).await.status,
        400
    );
}

#[tokio::test]
async fn replication_writes_copy_versions_without_container_updates() {
    let e = env();
    let hash = obj_hash();
    let part = hash.partition(6);
    let hex = hash.to_hex();
    let t1 = ts(1).internal();
    let name = encode_name("/AUTH_a/c/o");
    let mut p = replicate(
        "put",
        part,
        "",
        &[
            (OBJECT_HASH_HEADER, &hex),
            (OBJECT_NAME_HEADER, &name),
            ("x-timestamp", &t1),
            ("content-type", "text/plain"),
            ("etag", HELLO_MD5),
            ("content-length", "5"),
            ("x-object-meta-color", "red"),
            ("x-object-sysmeta-k", "v"),
        ],
    );
    p.body = stream::once("hello");
    assert_eq!(e.server.handle(p).await.status, 201);
    assert!(
        e.client.sent.lock().unwrap().is_empty(),
        "no container update"
    );
    // A wrong partition or a name that is not the hash's is refused.
    let wrong = replicate(
        "delete",
        part ^ 1,
        "",
        &[(OBJECT_HASH_HEADER, &hex), ("x-timestamp", &t1)],
    );
    assert_eq!(e.server.handle(wrong).await.status, 400);
    let mut bad_name = replicate(
        "put",
        part,
        "",
        &[
            (OBJECT_HASH_HEADER, &hex),
            (OBJECT_NAME_HEADER, "%2FAUTH_a%2Fc%2Fother"),
            ("x-timestamp", &ts(5).internal()),
            ("content-type", "text/plain"),
        ],
    );
    bad_name.body = stream::once("x");
    assert_eq!(e.server.handle(bad_name).await.status, 400);
    // Read back through the normal path.
    let mut get = req(NodeMethod::Get, &[]);
    get.partition = part;
    let r = e.server.handle(get).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("x-object-meta-color"), Some("red"));
    assert_eq!(r.headers.get("x-object-sysmeta-k"), Some("v"));
    assert_eq!(&body(r).await[..], b"hello");
    // Metadata update, then the listing shows both timestamps.
    let t2 = ts(2).internal();
    let post = replicate(
        "post",
        part,
        "",
        &[
            (OBJECT_HASH_HEADER, &hex),
            ("x-timestamp", &t2),
            ("x-object-meta-a", "b"),
        ],
    );
    assert_eq!(e.server.handle(post).await.status, 202);
    let list = e
        .server
        .handle(replicate("list", part, &hash.suffix(), &[]))
        .await;
    assert_eq!(list.status, 200);
    let v = decode_versions(&body(list).await).unwrap();
    let got = v[&hash];
    assert_eq!(got.timestamp, ts(1));
    assert!(!got.deleted);
    assert_eq!(got.meta_timestamp, Some(ts(2)));
    // An older write conflicts; a newer tombstone wins.
    let old = replicate(
        "delete",
        part,
        "",
        &[(OBJECT_HASH_HEADER, &hex), ("x-timestamp", &t1)],
    );
    assert_eq!(e.server.handle(old).await.status, 409);
    let t3 = ts(3).internal();
    let del = replicate(
        "delete",
        part,
        "",
        &[(OBJECT_HASH_HEADER, &hex), ("x-timestamp", &t3)],
    );
    assert_eq!(e.server.handle(del).await.status, 204);
    let list = e
        .server
        .handle(replicate("list", part, &hash.suffix(), &[]))
        .await;
    let v = decode_versions(&body(list).await).unwrap();
    assert!(v[&hash].deleted);
    assert!(
        e.client.sent.lock().unwrap().is_empty(),
        "no container update"
    );
}

#[tokio::test]
async fn corrupt_get_is_cut_and_quarantined() {
    let e = env();
    let big = "x".repeat(200_000);
    let big: &'static str = Box::leak(big.into_boxed_str());
    assert_eq!(put(&e, ts(1), big, &[]).await.status, 201);
    let data: Vec<_> = files_under(&e.root.join("sda/objects"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".data"))
        .collect();
    let mut raw = std::fs::read(&data[0]).unwrap();
    raw[100] ^= 0x01;
    std::fs::write(&data[0], raw).unwrap();
    let r = e.server.handle(req(NodeMethod::Get, &[])).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-length"), Some("200000"));
    let mut s = r.body;
    let mut delivered = 0;
    let mut error = false;
    while let Some(item) = futures::StreamExt::next(&mut s).await {
        match item {
            Ok(c) => delivered += c.len(),
            Err(err) => {
                assert!(matches!(err, Error::Corrupt { .. }));
                error = true;
            }
        }
    }
    assert!(error, "the body ends with an error");
    assert!(delivered < 200_000, "never the full announced length");
    // Quarantined: the next GET is a 404 and the file sits aside.
    assert_eq!(e.server.handle(req(NodeMethod::Get, &[])).await.status, 404);
    let q = files_under(&e.root.join("sda/quarantined/objects"));
    assert_eq!(q.len(), 1);
    // Good objects are not touched by GETs.
    let mut o2 = req(
        NodeMethod::Put,
        &[("x-timestamp", &ts(2).internal()), ("content-type", "t")],
    );
    o2.path = "AUTH_a/c/o2".into();
    o2.body = stream::once("fine");
    assert_eq!(e.server.handle(o2).await.status, 201);
    let mut g2 = req(NodeMethod::Get, &[]);
    g2.path = "AUTH_a/c/o2".into();
    assert_eq!(&body(e.server.handle(g2).await).await[..], b"fine");
    assert_eq!(
        files_under(&e.root.join("sda/quarantined/objects")).len(),
        1
    );
}
