//! Embeds a three-node Swift cluster in one process, with no sockets: three
//! storage nodes on temporary directories, the in-process node client, and
//! the proxy with a tempauth user. Stores an object and reads it back.
//!
//! Run with `cargo run -p ferrostack-examples --example embedded_swift`.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::BodyExt;
use swift_core::hash::HashConfig;
use swift_core::node::{
    AccountServer, ContainerServer, InProcessNodeClient, NodeClient, NodeConfig, ObjectServer,
    StorageNode,
};
use swift_core::object::FsObjectBackend;
use swift_core::proxy::{Proxy, ProxyConfig, TempAuthUser};
use swift_core::ring::{DeviceSpec, RebalanceOptions, Ring, RingBuilder, Rings};
use swift_core::stream::full_body;

const HOSTS: [&str; 3] = ["127.0.0.1:6201", "127.0.0.1:6202", "127.0.0.1:6203"];

fn ring() -> anyhow::Result<Ring> {
    let mut builder = RingBuilder::create(8, 3, 1)?;
    for (zone, host) in (1u8..).zip(HOSTS) {
        let (ip, port) = host.split_once(':').context("host is ip:port")?;
        builder.add(DeviceSpec::new(1, zone, ip, port.parse()?, "d1", 100.0))?;
    }
    builder.rebalance(&RebalanceOptions::default())?;
    Ok(builder.build())
}

async fn call(
    proxy: &Proxy,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> anyhow::Result<(u16, http::HeaderMap, Bytes)> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .header("content-length", body.len())
        .body(full_body(body))?;
    let (parts, body) = proxy.handle(req).await.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!(e))?
        .to_bytes();
    Ok((parts.status.as_u16(), parts.headers, body))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let hash = HashConfig::new("example-prefix", "example-suffix");
    let rings = Arc::new(Rings::new(ring()?, ring()?, ring()?));
    let client = Arc::new(InProcessNodeClient::new());
    let shared: Arc<dyn NodeClient> = client.clone();

    for (i, host) in HOSTS.iter().enumerate() {
        let devices = dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(devices.join("d1"))?;
        let config = NodeConfig {
            devices,
            mount_check: true,
            hash: hash.clone(),
            fsync: true,
        };
        let backend = Arc::new(FsObjectBackend::new(config.clone()));
        let object = Arc::new(ObjectServer::new(
            config.clone(),
            rings.clone(),
            backend,
            shared.clone(),
        ));
        let container = Arc::new(ContainerServer::new(
            config.clone(),
            rings.clone(),
            shared.clone(),
        ));
        let account = Arc::new(AccountServer::new(config));
        client.register(*host, StorageNode::new(object, container, account));
    }

    let mut config = ProxyConfig {
        hash,
        ..ProxyConfig::default()
    };
    config.tempauth.users.push(TempAuthUser {
        account: "demo".into(),
        user: "alice".into(),
        key: "secret".into(),
        groups: vec![".admin".into()],
    });
    let proxy = Proxy::new(config, rings, shared)?;

    let (status, headers, _) = call(
        &proxy,
        Method::GET,
        "/auth/v1.0",
        &[("x-auth-user", "demo:alice"), ("x-auth-key", "secret")],
        b"",
    )
    .await?;
    anyhow::ensure!(status == 200, "auth failed: {status}");
    let token = headers["x-auth-token"].to_str()?.to_string();
    let auth = [("x-auth-token", token.as_str())];

    let (status, _, _) = call(&proxy, Method::PUT, "/v1/AUTH_demo/notes", &auth, b"").await?;
    println!("PUT container: {status}");
    let (status, headers, _) = call(
        &proxy,
        Method::PUT,
        "/v1/AUTH_demo/notes/hello.txt",
        &auth,
        b"hello, swift",
    )
    .await?;
    println!("PUT object: {status}, etag {:?}", headers.get("etag"));
    let (status, _, body) = call(
        &proxy,
        Method::GET,
        "/v1/AUTH_demo/notes/hello.txt",
        &auth,
        b"",
    )
    .await?;
    println!(
        "GET object: {status}, body {:?}",
        String::from_utf8_lossy(&body)
    );
    anyhow::ensure!(
        body.as_ref() == b"hello, swift",
        "read back different bytes"
    );
    let (_, _, listing) = call(&proxy, Method::GET, "/v1/AUTH_demo/notes", &auth, b"").await?;
    println!("listing: {}", String::from_utf8_lossy(&listing).trim());
    Ok(())
}
