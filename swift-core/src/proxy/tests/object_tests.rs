//! Objects: round trips, quorum, handoffs, failover, constraints, copies.

use super::fake::{Mode, Obj};
use super::{chunked_body, config, md5_hex, Harness};
use crate::headers::Headers;
use crate::timestamp::Timestamp;

#[tokio::test]
async fn put_get_head_delete_round_trip() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/dir/photo.jpg",
            &[("x-auth-token", &tok), ("x-object-meta-color", "blue")],
            b"hello world",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("etag"), Some(md5_hex(b"hello world").as_str()));
    assert!(r.header("last-modified").is_some());
    assert_eq!(h.cluster.object_hosts("AUTH_test/c/dir/photo.jpg").len(), 3);
    // Every object node was told about one container replica.
    let puts: Vec<Headers> = h
        .cluster
        .log()
        .into_iter()
        .filter(|(_, m, p, _)| m == "PUT" && p == "AUTH_test/c/dir/photo.jpg")
        .map(|(_, _, _, hs)| hs)
        .collect();
    assert_eq!(puts.len(), 3);
    for hs in &puts {
        assert!(hs.get("x-container-host").is_some() && hs.get("x-container-device").is_some());
        assert!(hs.get("x-timestamp").is_some());
        assert_eq!(hs.get("content-type"), Some("image/jpeg"));
        assert!(hs.get("x-auth-token").is_none());
    }
    let r = h.req("GET", "/v1/AUTH_test/c/dir/photo.jpg", &t, b"").await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello world"[..]));
    assert_eq!(r.header("x-object-meta-color"), Some("blue"));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    let r = h
        .req("HEAD", "/v1/AUTH_test/c/dir/photo.jpg", &t, b"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("11"));
    assert!(r.body.is_empty());
    let r = h
        .req(
            "POST",
            "/v1/AUTH_test/c/dir/photo.jpg",
            &[("x-auth-token", &tok), ("x-object-meta-size", "big")],
            b"",
        )
        .await;
    assert_eq!(r.status, 202);
    let r = h
        .req("HEAD", "/v1/AUTH_test/c/dir/photo.jpg", &t, b"")
        .await;
    assert_eq!(r.header("x-object-meta-size"), Some("big"));
    assert_eq!(r.header("x-object-meta-color"), None);
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_test/c/dir/photo.jpg", &t, b"")
            .await
            .status,
        204
    );
    assert_eq!(
        h.req("GET", "/v1/AUTH_test/c/dir/photo.jpg", &t, b"")
            .await
            .status,
        404
    );
    assert_eq!(
        h.req("DELETE", "/v1/AUTH_test/c/dir/photo.jpg", &t, b"")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn quorum_decides_put() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let (prim, hand) = h.object_nodes("AUTH_test", "c", "o");
    for host in &hand {
        h.cluster.set_mode(host, Mode::Down);
    }
    h.cluster.set_mode(&prim[0], Mode::Down);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"data").await.status,
        201
    );
    assert_eq!(h.cluster.object_hosts("AUTH_test/c/o").len(), 2);
    h.cluster.set_mode(&prim[1], Mode::Down);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"data").await.status,
        503
    );
}

#[tokio::test]
async fn handoff_takes_a_down_primary_and_serves_reads() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let (prim, hand) = h.object_nodes("AUTH_test", "c", "o");
    h.cluster.set_mode(&prim[0], Mode::Down);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"data").await.status,
        201
    );
    let hosts = h.cluster.object_hosts("AUTH_test/c/o");
    assert_eq!(hosts.len(), 3);
    assert!(hosts.contains(&hand[0]), "{hosts:?} {hand:?}");
    // Only the handoff still has it: the revived primary says 404, the
    // others are down.
    h.cluster.set_mode(&prim[0], Mode::Up);
    h.cluster.set_mode(&prim[1], Mode::Down);
    h.cluster.set_mode(&prim[2], Mode::Broken);
    let r = h.req("GET", "/v1/AUTH_test/c/o", &t, b"").await;
    assert_eq!((r.status, &r.body[..]), (200, &b"data"[..]));
}

#[tokio::test]
async fn full_disk_sends_to_handoff() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let (prim, hand) = h.object_nodes("AUTH_test", "c", "o");
    h.cluster.set_mode(&prim[1], Mode::Full);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"data").await.status,
        201
    );
    let hosts = h.cluster.object_hosts("AUTH_test/c/o");
    assert!(hosts.contains(&hand[0]) && !hosts.contains(&prim[1]));
}

#[tokio::test]
async fn get_fails_over_and_reports_503_when_all_fail() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"data").await.status,
        201
    );
    let (prim, hand) = h.object_nodes("AUTH_test", "c", "o");
    h.cluster.set_mode(&prim[0], Mode::Broken);
    h.cluster.set_mode(&prim[1], Mode::Down);
    let r = h.req("GET", "/v1/AUTH_test/c/o", &t, b"").await;
    assert_eq!(r.status, 200);
    for host in prim.iter().chain(hand.iter()) {
        h.cluster.set_mode(host, Mode::Down);
    }
    // The container check is cached, so the object read itself fails.
    let r = h.req("GET", "/v1/AUTH_test/c/o", &t, b"").await;
    assert_eq!(r.status, 503);
}

#[tokio::test]
async fn newer_tombstone_hides_stale_copy() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let (prim, _) = h.object_nodes("AUTH_test", "c", "o");
    let ring = fake_dev_names(&h, &prim);
    let old = Timestamp::from_ticks(100_000 * 1_700_000_000);
    let new = Timestamp::from_ticks(100_000 * 1_700_000_100);
    let obj = |ts, deleted| Obj {
        data: bytes::Bytes::from_static(b"old"),
        headers: Headers::new(),
        ts,
        deleted,
    };
    h.cluster
        .put_object_on(&prim[0], &ring[0], "AUTH_test/c/o", obj(new, true));
    h.cluster
        .put_object_on(&prim[1], &ring[1], "AUTH_test/c/o", obj(old, false));
    let r = h.req("GET", "/v1/AUTH_test/c/o", &t, b"").await;
    assert_eq!(r.status, 404);
    let r = h
        .req(
            "GET",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), ("x-newest", "true")],
            b"",
        )
        .await;
    assert_eq!(r.status, 404);
    // With X-Newest the newest copy wins even when an older one answers first.
    let newer = Timestamp::from_ticks(100_000 * 1_700_000_200);
    let mut fresh = obj(newer, false);
    fresh.data = bytes::Bytes::from_static(b"new");
    h.cluster
        .put_object_on(&prim[2], &ring[2], "AUTH_test/c/o", fresh);
    h.cluster
        .put_object_on(&prim[0], &ring[0], "AUTH_test/c/o", obj(old, false));
    let r = h
        .req(
            "GET",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), ("x-newest", "true")],
            b"",
        )
        .await;
    assert_eq!((r.status, &r.body[..]), (200, &b"new"[..]));
    let r = h.req("GET", "/v1/AUTH_test/c/o", &t, b"").await;
    assert_eq!((r.status, &r.body[..]), (200, &b"old"[..]));
}

fn fake_dev_names(h: &Harness, hosts: &[String]) -> Vec<String> {
    let ring = h.rings.get(crate::ring::RingKind::Object);
    hosts
        .iter()
        .map(|host| {
            ring.devices()
                .find(|d| &d.host() == host)
                .unwrap()
                .device
                .clone()
        })
        .collect()
}

#[tokio::test]
async fn creation_constraints() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let r = h
        .send("PUT", "/v1/AUTH_test/c/o", &t, chunked_body(0, 0))
        .await;
    assert_eq!(r.status, 411);
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), ("content-length", "5368709123")],
            b"",
        )
        .await;
    assert_eq!(r.status, 413);
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), ("content-length", "abc")],
            b"",
        )
        .await;
    assert_eq!(r.status, 400);
    let long_meta = format!("x-object-meta-{}", "n".repeat(129));
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), (&long_meta, "v")],
            b"",
        )
        .await;
    assert_eq!(r.status, 400);
    let long_name = format!("/v1/AUTH_test/c/{}", "o".repeat(1025));
    assert_eq!(h.req("PUT", &long_name, &t, b"").await.status, 400);
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), ("x-delete-at", "1000")],
            b"",
        )
        .await;
    assert_eq!((r.status, r.text().as_str()), (400, "X-Delete-At in past"));
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), ("x-delete-after", "x")],
            b"",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/nope/o", &t, b"").await.status,
        404
    );
    // X-Delete-After becomes X-Delete-At on the nodes.
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[("x-auth-token", &tok), ("x-delete-after", "60")],
            b"",
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h.req("HEAD", "/v1/AUTH_test/c/o", &t, b"").await;
    let at: u64 = r.header("x-delete-at").unwrap().parse().unwrap();
    assert!(at > Timestamp::now().secs() + 50);
    // Far-future times of any length clamp to the largest timestamp.
    let far = "1".repeat(100);
    let hs = [
        ("x-auth-token", tok.as_str()),
        ("x-delete-at", far.as_str()),
    ];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &hs, b"").await.status,
        201
    );
    let r = h.req("HEAD", "/v1/AUTH_test/c/o", &t, b"").await;
    assert_eq!(r.header("x-delete-at"), Some("9999999999"));
    let hs = [("x-auth-token", tok.as_str()), ("x-delete-at", "12x")];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &hs, b"").await.status,
        400
    );
    // If-None-Match on PUT supports only `*`.
    let hs = [("x-auth-token", tok.as_str()), ("if-none-match", "abc")];
    let r = h.req("PUT", "/v1/AUTH_test/c/o", &hs, b"").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn etag_mismatch_is_422() {
    let h = Harness::new();
    let tok = h.setup().await;
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/o",
            &[
                ("x-auth-token", &tok),
                ("etag", "0123456789abcdef0123456789abcdef"),
            ],
            b"x",
        )
        .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn chunked_upload_streams_and_slow_node_is_dropped() {
    let mut c = config();
    c.node_timeout_secs = 0.3;
    let h = Harness::with_config(c);
    let tok = h.setup().await;
    let t = [
        ("x-auth-token", tok.as_str()),
        ("transfer-encoding", "chunked"),
    ];
    let (prim, hand) = h.object_nodes("AUTH_test", "c", "big");
    h.cluster.set_mode(&prim[2], Mode::Stall);
    for host in &hand {
        h.cluster.set_mode(host, Mode::Down);
    }
    let r = h
        .send("PUT", "/v1/AUTH_test/c/big", &t, chunked_body(40, 1000))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(h.cluster.object_hosts("AUTH_test/c/big").len(), 2);
    let r = h
        .req("GET", "/v1/AUTH_test/c/big", &[("x-auth-token", &tok)], b"")
        .await;
    assert_eq!(r.body.len(), 40_000);
}

#[tokio::test]
async fn copy_and_x_copy_from() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/src",
            &[
                ("x-auth-token", &tok),
                ("x-object-meta-a", "1"),
                ("content-type", "text/x-src"),
            ],
            b"payload",
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/dst",
            &[
                ("x-auth-token", &tok),
                ("x-copy-from", "/c/src"),
                ("x-object-meta-b", "2"),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("x-copied-from"), Some("c/src"));
    assert!(r.header("x-copied-from-last-modified").is_some());
    assert_eq!(r.header("etag"), Some(md5_hex(b"payload").as_str()));
    let r = h.req("GET", "/v1/AUTH_test/c/dst", &t, b"").await;
    assert_eq!(&r.body[..], b"payload");
    assert_eq!(r.header("x-object-meta-a"), Some("1"));
    assert_eq!(r.header("x-object-meta-b"), Some("2"));
    assert_eq!(r.header("content-type"), Some("text/x-src"));
    // COPY with fresh metadata.
    let r = h
        .req(
            "COPY",
            "/v1/AUTH_test/c/src",
            &[
                ("x-auth-token", &tok),
                ("destination", "c/fresh"),
                ("x-fresh-metadata", "true"),
                ("x-object-meta-c", "3"),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = h.req("HEAD", "/v1/AUTH_test/c/fresh", &t, b"").await;
    assert_eq!(r.header("x-object-meta-a"), None);
    assert_eq!(r.header("x-object-meta-c"), Some("3"));
    // Missing source, bad headers.
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/x",
            &[("x-auth-token", &tok), ("x-copy-from", "c/none")],
            b"",
        )
        .await;
    assert_eq!(r.status, 404);
    let r = h
        .req(
            "PUT",
            "/v1/AUTH_test/c/x",
            &[("x-auth-token", &tok), ("x-copy-from", "nocontainer")],
            b"",
        )
        .await;
    assert_eq!(r.status, 412);
    let r = h.req("COPY", "/v1/AUTH_test/c/src", &t, b"").await;
    assert_eq!(r.status, 412);
    // Copying into another account needs access there.
    let r = h
        .req(
            "COPY",
            "/v1/AUTH_test/c/src",
            &[
                ("x-auth-token", &tok),
                ("destination", "c/o"),
                ("destination-account", "AUTH_test2"),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn ranged_copy_copies_the_range() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/src", &t, b"payload")
            .await
            .status,
        201
    );
    let hs = [
        ("x-auth-token", tok.as_str()),
        ("x-copy-from", "c/src"),
        ("range", "bytes=1-3"),
    ];
    let r = h.req("PUT", "/v1/AUTH_test/c/part", &hs, b"").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = h.req("GET", "/v1/AUTH_test/c/part", &t, b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ayl"));
    assert_eq!(r.header("etag"), Some(md5_hex(b"ayl").as_str()));
}

#[tokio::test]
async fn unsatisfiable_range_keeps_the_object_headers() {
    let h = Harness::new();
    let tok = h.setup().await;
    let t = [("x-auth-token", tok.as_str())];
    assert_eq!(
        h.req("PUT", "/v1/AUTH_test/c/o", &t, b"payload")
            .await
            .status,
        201
    );
    let hs = [("x-auth-token", tok.as_str()), ("range", "BYTES = 50 - 60")];
    let r = h.req("GET", "/v1/AUTH_test/c/o", &hs, b"").await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */7"));
    assert_eq!(r.header("etag"), Some(md5_hex(b"payload").as_str()));
    // Whitespace in a satisfiable range is fine.
    let hs = [("x-auth-token", tok.as_str()), ("range", "bytes = 1 - 2")];
    let r = h.req("GET", "/v1/AUTH_test/c/o", &hs, b"").await;
    assert_eq!((r.status, r.text().as_str()), (206, "ay"));
}
