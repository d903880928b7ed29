//! Handler tests: the router over in-memory backends, driven with `oneshot`.

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use glance_core::image::access::Caller;
use glance_core::registry::MemoryImageRegistry;
use glance_core::store::{MemoryImageStore, Stores};
use glance_core::{ImageService, ProjectId, QuotaConfig};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::Digest;
use tower::ServiceExt;

use crate::{router, AppState, StaticAuthenticator};

const PATCH: &str = "application/openstack-images-v2.1-json-patch";

fn app() -> Router {
    let service = ImageService::new(
        Arc::new(MemoryImageRegistry::new()),
        Stores::new("memory", Arc::new(MemoryImageStore::new())),
        QuotaConfig::default(),
    )
    .unwrap();
    let p = |s: &str| ProjectId::new(s).unwrap();
    let auth = StaticAuthenticator::new()
        .with_token("alice", Caller::project(p("demo")))
        .with_token("bob", Caller::project(p("other")))
        .with_token("root", Caller::admin(p("admin")));
    router(AppState::new(Arc::new(service), Arc::new(auth)))
}

pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: bytes::Bytes,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

pub(crate) async fn call(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body,
    }
}

pub(crate) fn req(method: &str, uri: &str, token: Option<&str>) -> http::request::Builder {
    let b = Request::builder().method(method).uri(uri);
    match token {
        Some(t) => b.header("x-auth-token", t),
        None => b,
    }
}

pub(crate) async fn get(app: &Router, uri: &str, token: &str) -> Resp {
    call(
        app,
        req("GET", uri, Some(token)).body(Body::empty()).unwrap(),
    )
    .await
}

pub(crate) async fn post_json(app: &Router, uri: &str, token: &str, body: Value) -> Resp {
    let r = req("POST", uri, Some(token))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    call(app, r).await
}

pub(crate) async fn patch(app: &Router, id: &str, token: &str, ops: Value) -> Resp {
    let r = req("PATCH", &format!("/v2/images/{id}"), Some(token))
        .header("content-type", PATCH)
        .body(Body::from(ops.to_string()))
        .unwrap();
    call(app, r).await
}

pub(crate) async fn create(app: &Router, token: &str, body: Value) -> Value {
    let r = post_json(app, "/v2/images", token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.json()
}

#[tokio::test]
async fn discovery_lists_v2_with_self_links() {
    let app = app();
    let r = call(
        &app,
        req("GET", "/", None)
            .header("host", "h:9292")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES);
    let v = r.json();
    assert!(v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["status"] == "CURRENT"));
    assert_eq!(v["versions"][0]["links"][0]["href"], "http://h:9292/v2/");
    let r = call(
        &app,
        req("GET", "/versions", None).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json()["versions"][0]["links"][0]["href"],
        "http://localhost:9292/v2/"
    );
    assert_eq!(
        r.json()["versions"].as_array().unwrap().len(),
        v["versions"].as_array().unwrap().len()
    );
    let r = get(&app, "/v2/schemas/image", "alice").await;
    assert_eq!(r.status, StatusCode::OK);
    let s = r.json();
    assert_eq!(s["additionalProperties"], json!({"type": "string"}));
    assert_eq!(
        s["properties"]["os_hash_value"]["type"],
        json!(["null", "string"])
    );
    assert_eq!(
        get(&app, "/v2/schemas/images", "alice").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn missing_or_bad_token_is_401_and_errors_follow_accept() {
    let app = app();
    let r = call(
        &app,
        req("GET", "/v2/images", None).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.contains_key("www-authenticate"));
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let r = call(
        &app,
        req("GET", "/v2/images", Some("nope"))
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["code"], "401 Unauthorized");
    assert!(r.headers["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req-"));
}

#[tokio::test]
async fn create_show_and_list_with_paging() {
    let app = app();
    let img = create(
        &app,
        "alice",
        json!({"name": "cirros", "disk_format": "qcow2", "container_format": "bare",
               "tags": ["a", "a", "b"], "min_ram": 64, "hw_arch": "x86_64"}),
    )
    .await;
    let id = img["id"].as_str().unwrap();
    assert_eq!(img["status"], "queued");
    assert_eq!(img["visibility"], "shared");
    assert_eq!(img["owner"], "demo");
    assert_eq!(img["tags"], json!(["a", "b"]));
    assert_eq!(img["hw_arch"], "x86_64");
    assert_eq!(img["file"], format!("/v2/images/{id}/file"));
    assert_eq!(img["self"], format!("/v2/images/{id}"));
    assert_eq!(img["schema"], "/v2/schemas/image");
    for k in [
        "checksum",
        "size",
        "os_hash_value",
        "os_hash_algo",
        "virtual_size",
    ] {
        assert!(img[k].is_null(), "{k}");
    }
    let ts = img["created_at"].as_str().unwrap();
    assert!(
        ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    assert_eq!(
        get(&app, &format!("/v2/images/{id}"), "alice").await.json(),
        img
    );
    assert_eq!(
        get(&app, "/v2/images/cirros", "alice").await.status,
        StatusCode::NOT_FOUND
    );

    for i in 0..4 {
        create(&app, "alice", json!({"name": format!("img{i}")})).await;
    }
    let mut seen = Vec::new();
    let mut uri = "/v2/images?limit=2&sort_key=name&sort_dir=asc".to_owned();
    loop {
        let page = get(&app, &uri, "alice").await;
        assert_eq!(page.status, StatusCode::OK);
        let v = page.json();
        assert_eq!(v["schema"], "/v2/schemas/images");
        for i in v["images"].as_array().unwrap() {
            seen.push(i["name"].as_str().unwrap().to_owned());
        }
        match v["next"].as_str() {
            Some(n) => {
                assert!(n.contains("limit=2") && n.contains("marker="));
                uri = n.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, ["cirros", "img0", "img1", "img2", "img3"]);
    let v = get(&app, "/v2/images?name=img2", "alice").await.json();
    assert_eq!(v["images"].as_array().unwrap().len(), 1);
    assert!(v.get("next").is_none());
    let v = get(&app, "/v2/images?tag=b", "alice").await.json();
    assert_eq!(v["images"][0]["id"], id);
    assert_eq!(
        get(&app, "/v2/images?limit=x", "alice").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/v2/images?sort_key=bogus", "alice").await.status,
        StatusCode::BAD_REQUEST
    );
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(
        get(&app, &format!("/v2/images?marker={unknown}"), "alice")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn upload_then_download_is_byte_identical_with_hashes() {
    let app = app();
    let id = create(&app, "alice", json!({"name": "disk"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = data
        .chunks(7000)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let r = req("PUT", &format!("/v2/images/{id}/file"), Some("alice"))
        .header("content-type", "application/octet-stream")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    assert_eq!(call(&app, r).await.status, StatusCode::NO_CONTENT);

    let md5 = hex::encode(md5::Md5::digest(&data));
    let sha = hex::encode(sha2::Sha512::digest(&data));
    let img = get(&app, &format!("/v2/images/{id}"), "alice").await.json();
    assert_eq!(img["status"], "active");
    assert_eq!(img["size"], data.len());
    assert_eq!(img["checksum"], md5);
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(img["os_hash_value"], sha);

    let r = get(&app, &format!("/v2/images/{id}/file"), "alice").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], &data[..]);
    assert_eq!(r.headers["content-md5"], md5.as_str());
    assert_eq!(r.headers["content-type"], "application/octet-stream");

    let r = call(
        &app,
        req("GET", &format!("/v2/images/{id}/file"), Some("alice"))
            .header("range", "bytes=10-19")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&r.body[..], &data[10..20]);
    assert_eq!(
        r.headers["content-range"],
        format!("bytes 10-19/{}", data.len()).as_str()
    );
    let r = call(
        &app,
        req("GET", &format!("/v2/images/{id}/file"), Some("alice"))
            .header("range", "bytes=999999-")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);

    // A second upload conflicts; an image without data downloads as 204.
    let r = req("PUT", &format!("/v2/images/{id}/file"), Some("alice"))
        .header("content-type", "application/octet-stream")
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(call(&app, r).await.status, StatusCode::CONFLICT);
    let empty = create(&app, "alice", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        get(&app, &format!("/v2/images/{empty}/file"), "alice")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn cut_upload_leaves_the_image_queued() {
    let app = app();
    let id = create(&app, "alice", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(bytes::Bytes::from_static(b"part")),
        Err(std::io::Error::other("connection reset")),
    ];
    let r = req("PUT", &format!("/v2/images/{id}/file"), Some("alice"))
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    let r = call(&app, r).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let img = get(&app, &format!("/v2/images/{id}"), "alice").await.json();
    assert_eq!(img["status"], "queued");
    assert!(img["size"].is_null());
}

#[tokio::test]
async fn patch_name_property_visibility_and_tags() {
    let app = app();
    let id = create(&app, "alice", json!({"name": "a", "color": "red"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = patch(
        &app,
        &id,
        "alice",
        json!([{"op": "replace", "path": "/name", "value": "b"},
               {"op": "add", "path": "/owner_specified.openstack~1md5", "value": "x"},
               {"op": "replace", "path": "/color", "value": "blue"},
               {"op": "replace", "path": "/visibility", "value": "private"},
               {"op": "add", "path": "/min_disk", "value": 3}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let v = r.json();
    assert_eq!(v["name"], "b");
    assert_eq!(v["owner_specified.openstack/md5"], "x");
    assert_eq!(v["color"], "blue");
    assert_eq!(v["visibility"], "private");
    assert_eq!(v["min_disk"], 3);
    let v = patch(
        &app,
        &id,
        "alice",
        json!([{"op": "remove", "path": "/color"}]),
    )
    .await
    .json();
    assert!(v.get("color").is_none());

    let public = json!([{"op": "replace", "path": "/visibility", "value": "public"}]);
    assert_eq!(
        patch(&app, &id, "alice", public.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        patch(&app, &id, "root", public).await.json()["visibility"],
        "public"
    );

    let bad = [
        (
            json!([{"op": "replace", "path": "/status", "value": "active"}]),
            StatusCode::FORBIDDEN,
        ),
        (
            json!([{"op": "replace", "path": "/nope", "value": "x"}]),
            StatusCode::CONFLICT,
        ),
        (
            json!([{"op": "remove", "path": "/name"}]),
            StatusCode::FORBIDDEN,
        ),
        (
            json!([{"op": "move", "path": "/name"}]),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!([{"op": "replace", "path": "/min_ram", "value": "5"}]),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"op": "replace"}), StatusCode::BAD_REQUEST),
    ];
    for (ops, want) in bad {
        assert_eq!(
            patch(&app, &id, "alice", ops.clone()).await.status,
            want,
            "{ops}"
        );
    }
    let r = req("PATCH", &format!("/v2/images/{id}"), Some("alice"))
        .header("content-type", "application/json")
        .body(Body::from("[]"))
        .unwrap();
    assert_eq!(
        call(&app, r).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    let tag = |m: &str, t: &str| {
        req(m, &format!("/v2/images/{id}/tags/{t}"), Some("alice"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        call(&app, tag("PUT", "x")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, tag("PUT", "x")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &format!("/v2/images/{id}"), "alice").await.json()["tags"],
        json!(["x"])
    );
    assert_eq!(
        call(&app, tag("DELETE", "x")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, tag("DELETE", "x")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn delete_protected_is_403_and_others_private_is_404() {
    let app = app();
    let id = create(
        &app,
        "alice",
        json!({"protected": true, "visibility": "private"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/v2/images/{id}");
    let del = |t: &str| req("DELETE", &uri, Some(t)).body(Body::empty()).unwrap();
    assert_eq!(call(&app, del("alice")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &uri, "bob").await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, del("bob")).await.status, StatusCode::NOT_FOUND);
    assert!(get(&app, "/v2/images", "bob").await.json()["images"]
        .as_array()
        .unwrap()
        .is_empty());
    patch(
        &app,
        &id,
        "alice",
        json!([{"op": "replace", "path": "/protected", "value": false}]),
    )
    .await;
    assert_eq!(
        call(&app, del("alice")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(&app, &uri, "alice").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_create_bodies_are_4xx() {
    let app = app();
    let raw = |b: &'static str| {
        req("POST", "/v2/images", Some("alice"))
            .header("content-type", "application/json")
            .body(Body::from(b))
            .unwrap()
    };
    assert_eq!(
        call(&app, raw("{not json")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(call(&app, raw("[]")).await.status, StatusCode::BAD_REQUEST);
    let cases = [
        (json!({"disk_format": "floppy"}), StatusCode::BAD_REQUEST),
        (json!({"protected": "yes"}), StatusCode::BAD_REQUEST),
        (json!({"min_ram": -1}), StatusCode::BAD_REQUEST),
        (json!({"custom": 5}), StatusCode::BAD_REQUEST),
        (json!({"id": "not-a-uuid"}), StatusCode::BAD_REQUEST),
        (json!({"status": "active"}), StatusCode::FORBIDDEN),
        (json!({"visibility": "public"}), StatusCode::FORBIDDEN),
    ];
    for (body, want) in cases {
        assert_eq!(
            post_json(&app, "/v2/images", "alice", body.clone())
                .await
                .status,
            want,
            "{body}"
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    create(&app, "alice", json!({"id": id})).await;
    assert_eq!(
        post_json(&app, "/v2/images", "alice", json!({"id": id}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        create(&app, "root", json!({"visibility": "public"})).await["visibility"],
        "public"
    );
}
