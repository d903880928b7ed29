//! Handler tests for multi-store, upload checks, members, import,
//! actions and roles.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use glance_core::image::access::Caller;
use glance_core::import::{ReqwestWebFetcher, WebDownloadPolicy};
use glance_core::registry::MemoryImageRegistry;
use glance_core::service::ImportConfig;
use glance_core::store::{ImageStore, MemoryImageStore, Stores};
use glance_core::{ImageId, ImageService, ProjectId, QuotaConfig};
use http::StatusCode;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::tests::{call, create, get, patch, post_json, req, Resp};
use crate::{router, AppState, StaticAuthenticator};

struct Cloud {
    app: Router,
    fast: Arc<MemoryImageStore>,
    slow: Arc<MemoryImageStore>,
}

fn cloud(local_web: bool) -> Cloud {
    let fast = Arc::new(MemoryImageStore::new());
    let slow = Arc::new(MemoryImageStore::new());
    let stores = Stores::new("fast", fast.clone()).with("slow", slow.clone());
    let quota = QuotaConfig {
        image_size_cap: 1 << 20,
        image_member_quota: 2,
        ..QuotaConfig::default()
    };
    let import = ImportConfig {
        web_download: WebDownloadPolicy {
            allowed_ports: vec![],
            allow_local_addresses: local_web,
            ..WebDownloadPolicy::default()
        },
        ..ImportConfig::default()
    };
    let service = ImageService::new(Arc::new(MemoryImageRegistry::new()), stores, quota)
        .unwrap()
        .with_import_config(import)
        .with_web_fetcher(Arc::new(ReqwestWebFetcher::new()));
    let p = |s: &str| ProjectId::new(s).unwrap();
    let auth = StaticAuthenticator::new()
        .with_token("alice", Caller::project(p("demo")))
        .with_token("bob", Caller::project(p("other")))
        .with_token("carol", Caller::project(p("third")))
        .with_token("reader", Caller::reader(p("demo")))
        .with_token("root", Caller::admin(p("admin")));
    let state = AppState::new(Arc::new(service), Arc::new(auth))
        .with_store_description("fast", "memory, fast");
    Cloud {
        app: router(state),
        fast,
        slow,
    }
}

async fn put_data(
    app: &Router,
    id: &str,
    token: &str,
    body: Body,
    headers: &[(&str, &str)],
) -> Resp {
    let mut r = req("PUT", &format!("/v2/images/{id}/file"), Some(token))
        .header("content-type", "application/octet-stream");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    call(app, r.body(body).unwrap()).await
}

async fn new_id(app: &Router, body: Value) -> String {
    create(app, "alice", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn status(app: &Router, id: &str) -> Value {
    get(app, &format!("/v2/images/{id}"), "alice").await.json()["status"].clone()
}

/// Polls until the image leaves `importing` (bounded; the import task
/// runs on the test runtime).
async fn settle(app: &Router, id: &str) -> Value {
    for _ in 0..200 {
        let img = get(app, &format!("/v2/images/{id}"), "alice").await.json();
        if img["status"] != "importing" && img["os_glance_import_task"].is_null() {
            return img;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("import of {id} did not finish");
}

#[tokio::test]
async fn multi_store_info_headers_and_upload_targets() {
    let c = cloud(false);
    let r = get(&c.app, "/v2/info/stores", "alice").await;
    assert_eq!(
        r.json(),
        json!({"stores": [{"id": "fast", "default": "true", "description": "memory, fast"}, {"id": "slow"}]})
    );
    let r = post_json(&c.app, "/v2/images", "alice", json!({"name": "x"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.headers["openstack-image-store-ids"], "fast,slow");
    assert_eq!(
        r.headers["openstack-image-import-methods"],
        "glance-direct,web-download,copy-image"
    );
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .starts_with("http://"));
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = put_data(
        &c.app,
        &id,
        "alice",
        Body::from("abc"),
        &[("x-image-meta-store", "nope")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = put_data(
        &c.app,
        &id,
        "alice",
        Body::from("abc"),
        &[("x-image-meta-store", "slow")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let img = get(&c.app, &format!("/v2/images/{id}"), "alice")
        .await
        .json();
    assert_eq!(img["stores"], "slow");
    let uuid: ImageId = id.parse().unwrap();
    assert!(c.slow.exists(&uuid).await.unwrap() && !c.fast.exists(&uuid).await.unwrap());
    assert_eq!(
        &get(&c.app, &format!("/v2/images/{id}/file"), "alice")
            .await
            .body[..],
        b"abc"
    );
    let info = get(&c.app, "/v2/info/import", "alice").await.json();
    assert_eq!(
        info["import-methods"]["value"],
        json!(["glance-direct", "web-download", "copy-image"])
    );
}

#[tokio::test]
async fn size_mismatch_format_mismatch_and_size_cap() {
    let c = cloud(false);
    let id = new_id(
        &c.app,
        json!({"disk_format": "qcow2", "container_format": "bare"}),
    )
    .await;
    let r = put_data(
        &c.app,
        &id,
        "alice",
        Body::from("0123456789"),
        &[("x-openstack-image-size", "5")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(status(&c.app, &id).await, "queued");
    let r = put_data(&c.app, &id, "alice", Body::from("plain raw data"), &[]).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(String::from_utf8_lossy(&r.body).contains("does not match stream data raw"));
    let img = get(&c.app, &format!("/v2/images/{id}"), "alice")
        .await
        .json();
    assert_eq!(img["status"], "queued");
    assert!(img["checksum"].is_null() && img["os_hash_value"].is_null());
    let uuid: ImageId = id.parse().unwrap();
    assert!(!c.fast.exists(&uuid).await.unwrap());

    let big = vec![0u8; (1 << 20) + 1];
    let id = new_id(&c.app, json!({})).await;
    let r = put_data(&c.app, &id, "alice", Body::from(big), &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(status(&c.app, &id).await, "queued");
}

#[tokio::test]
async fn dropping_a_streaming_upload_halfway_leaves_queued_and_no_data() {
    let c = cloud(false);
    let id = new_id(&c.app, json!({})).await;
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<bytes::Bytes, std::io::Error>>();
    tx.unbounded_send(Ok(bytes::Bytes::from(vec![7u8; 4096])))
        .unwrap();
    let r = req("PUT", &format!("/v2/images/{id}/file"), Some("alice"))
        .header("content-type", "application/octet-stream")
        .body(Body::from_stream(rx))
        .unwrap();
    let inflight = tokio::spawn(c.app.clone().oneshot(r));
    let mut seen_saving = false;
    for _ in 0..200 {
        if status(&c.app, &id).await == "saving" {
            seen_saving = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(seen_saving, "upload never started");
    // The client disconnects: hyper drops the request's future.
    inflight.abort();
    assert!(inflight.await.unwrap_err().is_cancelled());
    drop(tx);
    let mut st = Value::Null;
    for _ in 0..200 {
        st = status(&c.app, &id).await;
        if st == "queued" {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(st, "queued");
    let uuid: ImageId = id.parse().unwrap();
    assert!(!c.fast.exists(&uuid).await.unwrap() && !c.slow.exists(&uuid).await.unwrap());
    let r = put_data(&c.app, &id, "alice", Body::from("again"), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn members_follow_glance_rules() {
    let c = cloud(false);
    let app = &c.app;
    let id = new_id(app, json!({"name": "shared-img"})).await;
    let members = format!("/v2/images/{id}/members");
    let r = post_json(app, &members, "alice", json!({"member": "other"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let m = r.json();
    assert_eq!(
        (m["member_id"].clone(), m["status"].clone()),
        (json!("other"), json!("pending"))
    );
    assert_eq!(m["schema"], "/v2/schemas/member");
    assert_eq!(
        post_json(app, &members, "alice", json!({"member": "other"}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        post_json(app, &members, "bob", json!({"member": "third"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Bob sees it by id but lists it only once accepted (or asking for pending).
    assert_eq!(
        get(app, &format!("/v2/images/{id}"), "bob").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(app, "/v2/images", "bob").await.json()["images"],
        json!([])
    );
    let pending = get(app, "/v2/images?member_status=pending", "bob")
        .await
        .json();
    assert_eq!(pending["images"][0]["id"], id.as_str());
    let put = |token: &'static str, st: &'static str| {
        let uri = format!("{members}/other");
        async move {
            let r = req("PUT", &uri, Some(token))
                .header("content-type", "application/json")
                .body(Body::from(json!({"status": st}).to_string()))
                .unwrap();
            call(app, r).await
        }
    };
    assert_eq!(put("alice", "accepted").await.status, StatusCode::FORBIDDEN);
    assert_eq!(put("bob", "maybe").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(put("bob", "accepted").await.json()["status"], "accepted");
    assert_eq!(
        get(app, "/v2/images", "bob").await.json()["images"][0]["id"],
        id.as_str()
    );
    let listed = get(app, &members, "bob").await.json();
    assert_eq!(listed["schema"], "/v2/schemas/members");
    assert_eq!(listed["members"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(app, &format!("{members}/other"), "carol").await.status,
        StatusCode::NOT_FOUND
    );
    // Quota of 2 members.
    assert_eq!(
        post_json(app, &members, "alice", json!({"member": "third"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        post_json(app, &members, "alice", json!({"member": "fourth"}))
            .await
            .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let del = req("DELETE", &format!("{members}/other"), Some("alice"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app, del).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(app, &format!("/v2/images/{id}"), "bob").await.status,
        StatusCode::NOT_FOUND
    );
    // Private images have no members.
    let private = new_id(app, json!({"visibility": "private"})).await;
    let r = post_json(
        app,
        &format!("/v2/images/{private}/members"),
        "alice",
        json!({"member": "other"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The member schemas are Glance's minimal ones.
    let s = get(app, "/v2/schemas/member", "alice").await.json();
    assert_eq!(s["name"], "member");
    assert_eq!(
        s["properties"]["status"]["enum"],
        json!(["pending", "accepted", "rejected"])
    );
    assert!(s.get("additionalProperties").is_none());
    let s = get(app, "/v2/schemas/members", "alice").await.json();
    assert_eq!(s["properties"]["members"]["items"]["name"], "member");
    assert_eq!(
        s["links"],
        json!([{"rel": "describedby", "href": "{schema}"}])
    );
}

#[tokio::test]
async fn glance_direct_import_is_asynchronous() {
    let c = cloud(false);
    let id = new_id(
        &c.app,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let uri = format!("/v2/images/{id}/import");
    let import = |body: Value| post_json(&c.app, &uri, "alice", body);
    let direct = json!({"method": {"name": "glance-direct"}});
    assert_eq!(import(direct.clone()).await.status, StatusCode::CONFLICT);
    let r = req("PUT", &format!("/v2/images/{id}/stage"), Some("alice"))
        .header("content-type", "application/octet-stream")
        .body(Body::from("staged!"))
        .unwrap();
    assert_eq!(call(&c.app, r).await.status, StatusCode::NO_CONTENT);
    let img = get(&c.app, &format!("/v2/images/{id}"), "alice")
        .await
        .json();
    assert_eq!(
        (img["status"].clone(), img["size"].clone()),
        (json!("uploading"), json!(7))
    );
    let r = import(json!({"method": {"name": "glance-direct"}, "stores": ["slow"]})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.body.is_empty());
    let img = settle(&c.app, &id).await;
    assert_eq!(img["status"], "active");
    assert_eq!(img["stores"], "slow");
    assert_eq!(img["os_glance_failed_import"], "");
    assert_eq!(img["os_glance_importing_to_stores"], "");
    assert_eq!(
        &get(&c.app, &format!("/v2/images/{id}/file"), "alice")
            .await
            .body[..],
        b"staged!"
    );
    assert_eq!(import(direct).await.status, StatusCode::CONFLICT);
    // copy-image to the other store.
    let r = import(json!({"method": {"name": "copy-image"}, "stores": ["fast"]})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let img = settle(&c.app, &id).await;
    assert_eq!(img["stores"], "slow,fast");
}

#[tokio::test]
async fn web_download_refuses_loopback_and_fetches_when_allowed() {
    let strict = cloud(false);
    let id = new_id(
        &strict.app,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let body = json!({"method": {"name": "web-download", "uri": "http://127.0.0.1:1/x.img"}});
    let r = post_json(
        &strict.app,
        &format!("/v2/images/{id}/import"),
        "alice",
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&r.body).contains("does not pass filtering"));

    let web = Router::new().route("/x.img", axum::routing::get(|| async { "downloaded" }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, web).await });
    let c = cloud(true);
    let id = new_id(
        &c.app,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let path = format!("/v2/images/{id}/import");
    let import = |uri: String| {
        let body = json!({"method": {"name": "web-download", "uri": uri}});
        post_json(&c.app, &path, "alice", body)
    };
    assert_eq!(
        import(format!("http://127.0.0.1:{port}/missing"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let img = settle(&c.app, &id).await;
    assert_eq!(img["status"], "queued");
    assert_eq!(img["os_glance_failed_import"], "fast");
    assert_eq!(
        import(format!("http://127.0.0.1:{port}/x.img"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let img = settle(&c.app, &id).await;
    assert_eq!(img["status"], "active");
    assert_eq!(
        &get(&c.app, &format!("/v2/images/{id}/file"), "alice")
            .await
            .body[..],
        b"downloaded"
    );
}

#[tokio::test]
async fn deactivate_reactivate_and_roles() {
    let c = cloud(false);
    let app = &c.app;
    let id = new_id(app, json!({"visibility": "private"})).await;
    let action = |token: &'static str, a: &'static str| {
        let uri = format!("/v2/images/{id}/actions/{a}");
        async move {
            call(
                app,
                req("POST", &uri, Some(token)).body(Body::empty()).unwrap(),
            )
            .await
            .status
        }
    };
    assert_eq!(action("alice", "deactivate").await, StatusCode::FORBIDDEN);
    assert_eq!(
        put_data(app, &id, "alice", Body::from("bits"), &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(action("alice", "deactivate").await, StatusCode::NO_CONTENT);
    assert_eq!(status(app, &id).await, "deactivated");
    assert_eq!(
        get(app, &format!("/v2/images/{id}/file"), "alice")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(app, &format!("/v2/images/{id}/file"), "root")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(action("alice", "reactivate").await, StatusCode::NO_CONTENT);
    assert_eq!(action("alice", "reactivate").await, StatusCode::NO_CONTENT);

    // Another project: 404 for the private image and its data.
    assert_eq!(
        get(app, &format!("/v2/images/{id}"), "bob").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(app, &format!("/v2/images/{id}/file"), "bob")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A reader of the owner project reads, lists and downloads, never writes.
    assert_eq!(
        get(app, &format!("/v2/images/{id}"), "reader").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(app, "/v2/images", "reader").await.json()["images"][0]["id"],
        id.as_str()
    );
    assert_eq!(
        get(app, &format!("/v2/images/{id}/file"), "reader")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        post_json(app, "/v2/images", "reader", json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let ops = json!([{"op": "replace", "path": "/name", "value": "r"}]);
    assert_eq!(
        patch(app, &id, "reader", ops).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(action("reader", "deactivate").await, StatusCode::FORBIDDEN);
    let del = req("DELETE", &format!("/v2/images/{id}"), Some("reader"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app, del).await.status, StatusCode::FORBIDDEN);
    // Publicizing needs admin.
    let public = json!([{"op": "replace", "path": "/visibility", "value": "public"}]);
    assert_eq!(
        patch(app, &id, "alice", public.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(patch(app, &id, "root", public).await.status, StatusCode::OK);
    assert_eq!(
        get(app, &format!("/v2/images/{id}/file"), "bob")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn patch_rules_and_list_filters() {
    let c = cloud(false);
    let app = &c.app;
    let id = new_id(
        app,
        json!({"name": "a", "disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let idr = &id;
    let st = |ops: Value| async move { patch(app, idr, "alice", ops).await.status };
    assert_eq!(
        st(json!([{"op": "add", "path": "/os_glance_x", "value": "1"}])).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        st(json!([{"op": "replace", "path": "/nope", "value": "1"}])).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        st(json!([{"op": "remove", "path": "/min_ram"}])).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        st(json!([{"op": "replace", "path": "/size", "value": 1}])).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        st(json!([{"op": "replace", "path": "/min_ram", "value": "5"}])).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        st(json!([{"op": "add", "path": "/tags/-", "value": "t"}])).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        st(json!([{"op": "add", "path": "/a~1b", "value": "v"}])).await,
        StatusCode::OK
    );
    assert_eq!(
        get(app, &format!("/v2/images/{id}"), "alice").await.json()["a/b"],
        "v"
    );
    assert_eq!(
        put_data(app, &id, "alice", Body::from("12345"), &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        st(json!([{"op": "replace", "path": "/disk_format", "value": "qcow2"}])).await,
        StatusCode::FORBIDDEN
    );
    new_id(app, json!({"name": "b", "disk_format": "qcow2"})).await;
    new_id(app, json!({"name": "c,d"})).await;
    let names = |q: &'static str| async move {
        let v = get(app, &format!("/v2/images?{q}"), "alice").await;
        assert_eq!(v.status, StatusCode::OK, "{q}");
        v.json()["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("sort=name:asc").await, ["a", "b", "c,d"]);
    assert_eq!(
        names("sort_key=name&sort_dir=desc").await,
        ["c,d", "b", "a"]
    );
    assert_eq!(
        names("name=in:a,%22c,d%22&sort=name:asc").await,
        ["a", "c,d"]
    );
    assert_eq!(names("disk_format=qcow2").await, ["b"]);
    assert_eq!(names("size_min=5").await, ["a"]);
    assert_eq!(names("a/b=v").await, ["a"]);
    assert_eq!(
        names("created_at=gte:2000-01-01T00:00:00Z&sort=name:asc")
            .await
            .len(),
        3
    );
    assert_eq!(
        get(app, "/v2/images?sort_key=owner", "alice").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(app, "/v2/images?sort=name&sort_key=id", "alice")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = call(
        app,
        req("GET", "/v2/images?sort_key=x", Some("alice"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}
