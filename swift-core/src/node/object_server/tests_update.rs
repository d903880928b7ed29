//! Container updates and async pendings.

use super::*;

const CONTAINER: [(&str, &str); 3] = [
    ("x-container-host", "10.0.0.1:6201,10.0.0.2:6201"),
    ("x-container-device", "c1,c2"),
    ("x-container-partition", "42"),
];

#[tokio::test]
async fn put_and_delete_send_container_updates() {
    let e = env();
    let t = ts(1);
    let mut extra = CONTAINER.to_vec();
    extra.push(("x-trans-id", "tx1"));
    assert_eq!(put(&e, t, "hello", &extra).await.status, 201);
    {
        let sent = e.client.sent.lock().unwrap();
        assert_eq!(sent.len(), 2);
        let (host, method, dev, part, path, h) = &sent[1];
        assert_eq!(
            (host.as_str(), method.as_str(), dev.as_str()),
            ("10.0.0.2:6201", "PUT", "c2")
        );
        assert_eq!((*part, path.as_str()), (42, "AUTH_a/c/o"));
        assert_eq!(h.get("x-size"), Some("5"));
        assert_eq!(h.get("x-etag"), Some(HELLO_MD5));
        assert_eq!(h.get("x-content-type"), Some("text/plain"));
        assert_eq!(h.get("x-timestamp"), Some(t.internal().as_str()));
        assert_eq!(h.get("x-trans-id"), Some("tx1"));
    }
    let t2 = ts(2).internal();
    let mut dh = CONTAINER.to_vec();
    dh.push(("x-timestamp", &t2));
    assert_eq!(
        e.server.handle(req(NodeMethod::Delete, &dh)).await.status,
        204
    );
    let sent = e.client.sent.lock().unwrap();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[3].1, "DELETE");
    assert_eq!(sent[3].5.get("x-timestamp"), Some(t2.as_str()));
    assert!(files_under(&e.root.join("sda/async_pending")).is_empty());
}

#[tokio::test]
async fn override_headers_change_the_row() {
    let e = env();
    let mut extra = CONTAINER.to_vec();
    extra.push(("x-backend-container-update-override-etag", "manifest-etag"));
    extra.push(("x-object-sysmeta-container-update-override-size", "999"));
    assert_eq!(put(&e, ts(1), "hello", &extra).await.status, 201);
    let sent = e.client.sent.lock().unwrap();
    assert_eq!(sent[0].5.get("x-etag"), Some("manifest-etag"));
    assert_eq!(sent[0].5.get("x-size"), Some("999"));
}

#[tokio::test]
async fn unreachable_container_leaves_async_pending_then_updater_sends_it() {
    let e = env();
    *e.client.down.lock().unwrap() = true;
    let t = ts(1);
    assert_eq!(put(&e, t, "hello", &CONTAINER).await.status, 201);
    let files = files_under(&e.root.join("sda/async_pending"));
    assert_eq!(files.len(), 1);
    let hash = HashConfig::new("pre", "suf").hash_path("AUTH_a", Some("c"), Some("o"));
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(name, format!("{}-{}", hash.to_hex(), t.internal()));
    assert_eq!(
        files[0].parent().unwrap().file_name().unwrap().to_str(),
        Some(hash.suffix().as_str())
    );
    let rec: AsyncPending = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!((rec.op.as_str(), rec.obj.as_str()), ("PUT", "o"));
    assert_eq!(rec.container_partition, Some(42));

    // Still down: the record stays.
    assert_eq!(e.server.process_async_pendings_once().await.unwrap(), 0);
    assert_eq!(files_under(&e.root.join("sda/async_pending")).len(), 1);

    *e.client.down.lock().unwrap() = false;
    assert_eq!(e.server.process_async_pendings_once().await.unwrap(), 1);
    assert!(files_under(&e.root.join("sda/async_pending")).is_empty());
    let sent = e.client.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let (host, method, dev, part, path, h) = &sent[0];
    // The container ring's primary for the stored partition.
    assert_eq!(
        (host.as_str(), method.as_str(), dev.as_str()),
        ("10.0.0.9:6201", "PUT", "csda")
    );
    assert_eq!((*part, path.as_str()), (42, "AUTH_a/c/o"));
    assert_eq!(h.get("x-etag"), Some(HELLO_MD5));
    assert_eq!(e.server.process_async_pendings_once().await.unwrap(), 0);
}

#[tokio::test]
async fn no_update_without_container_headers() {
    let e = env();
    assert_eq!(put(&e, ts(1), "x", &[]).await.status, 201);
    let bad = [
        ("x-container-host", "a:1,b:2"),
        ("x-container-device", "c1"),
        ("x-container-partition", "1"),
    ];
    assert_eq!(put(&e, ts(2), "x", &bad).await.status, 201);
    assert!(e.client.sent.lock().unwrap().is_empty());
    assert!(files_under(&e.root.join("sda/async_pending")).is_empty());
}
