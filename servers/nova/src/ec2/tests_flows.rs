//! End-to-end flows over an embedded nova stack (scheduler, compute with
//! the fake driver, network and volume services): an instance's whole
//! life, a volume and an address, as boto3 would drive them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use nova_core::bootstrap::{ensure_defaults, BootstrapConfig};
use nova_core::image::FakeImages;
use nova_core::model::HostName;
use nova_core::service::{Embedded, EmbeddedConfig, ServiceTiming};
use nova_core::virt::FakeDriver;

use super::tests::{all, app_over, call_as, err, first, ok};

async fn stack() -> (Embedded, Router) {
    let db = nova_core::db::open("memory:").await.unwrap();
    ensure_defaults(&*db, &BootstrapConfig::default())
        .await
        .unwrap();
    let (images, _) = FakeImages::with_cirros();
    let mut cfg = EmbeddedConfig::new(
        db,
        Arc::new(nova_core::InProcessBus::default()),
        Arc::new(images),
    );
    cfg.timing = ServiceTiming::fast();
    let host = HostName::new("ec2-host").unwrap();
    let cfg = cfg.with_host(host.clone(), Arc::new(FakeDriver::with_defaults(host)));
    let emb = Embedded::start(cfg).await.unwrap();
    let app = app_over(emb.api.clone());
    (emb, app)
}

/// Polls `body` until `<tag>` reads `want` (10 s at most).
async fn wait_until(app: &Router, body: &str, tag: &str, want: &str) -> String {
    for _ in 0..200 {
        let text = ok(app, body).await;
        if all(&text, tag).iter().any(|v| v == want) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{body}: <{tag}> never became {want}: {}",
        ok(app, body).await
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_life_with_volume_and_address() {
    let (emb, app) = stack().await;
    let ami = first(&ok(&app, "Action=DescribeImages").await, "imageId");
    let run = ok(
        &app,
        &format!("Action=RunInstances&ImageId={ami}&InstanceType=m1.tiny&MinCount=1&MaxCount=1&UserData=ZWNobyBoaQ%3D%3D"),
    )
    .await;
    let iid = first(&run, "instanceId");
    let describe = format!("Action=DescribeInstances&InstanceId.1={iid}");
    let text = wait_until(&app, &describe, "name", "running").await;
    assert_eq!(first(&text, "code"), "16");
    assert!(first(&text, "privateIpAddress").contains('.'), "{text}");
    let q = "Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=running";
    assert_eq!(
        all(&ok(&app, q).await, "instanceId"),
        std::slice::from_ref(&iid)
    );

    // The same server through the compute API, with the same state.
    let servers = emb
        .api
        .list_servers(&ctx(), &Default::default())
        .await
        .unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].status().as_str(), "ACTIVE");

    let out = ok(&app, &format!("Action=GetConsoleOutput&InstanceId={iid}")).await;
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(first(&out, "output"))
        .expect("base64 console output");

    ok(&app, &format!("Action=RebootInstances&InstanceId.1={iid}")).await;
    wait_until(&app, &describe, "name", "running").await;

    // Volume.
    let vol = first(
        &ok(&app, "Action=CreateVolume&Size=1&AvailabilityZone=nova").await,
        "volumeId",
    );
    let dv = format!("Action=DescribeVolumes&VolumeId.1={vol}");
    wait_until(&app, &dv, "status", "available").await;
    let att = ok(
        &app,
        &format!("Action=AttachVolume&VolumeId={vol}&InstanceId={iid}&Device=%2Fdev%2Fvdb"),
    )
    .await;
    assert_eq!(first(&att, "device"), "/dev/vdb");
    let text = wait_until(&app, &dv, "status", "attached").await;
    assert_eq!(first(&text, "instanceId"), iid);
    err(
        &app,
        &format!("Action=DeleteVolume&VolumeId={vol}"),
        400,
        "VolumeInUse",
    )
    .await;
    let text = ok(&app, &describe).await;
    assert_eq!(first(&text, "deviceName"), "/dev/vdb");
    ok(&app, &format!("Action=DetachVolume&VolumeId={vol}")).await;
    wait_until(&app, &dv, "status", "available").await;
    ok(&app, &format!("Action=DeleteVolume&VolumeId={vol}")).await;

    // Address.
    let ip = first(&ok(&app, "Action=AllocateAddress").await, "publicIp");
    ok(
        &app,
        &format!("Action=AssociateAddress&InstanceId={iid}&PublicIp={ip}"),
    )
    .await;
    let text = ok(&app, &format!("Action=DescribeAddresses&PublicIp.1={ip}")).await;
    assert_eq!(first(&text, "instanceId"), iid);
    assert_eq!(first(&ok(&app, &describe).await, "ipAddress"), ip);
    ok(&app, &format!("Action=DisassociateAddress&PublicIp={ip}")).await;
    let text = ok(&app, &format!("Action=DescribeAddresses&PublicIp.1={ip}")).await;
    assert!(all(&text, "instanceId").is_empty(), "{text}");
    ok(&app, &format!("Action=ReleaseAddress&PublicIp={ip}")).await;
    err(
        &app,
        &format!("Action=DescribeAddresses&PublicIp.1={ip}"),
        400,
        "InvalidAddress.NotFound",
    )
    .await;

    // Stop, start.
    let text = ok(&app, &format!("Action=StopInstances&InstanceId.1={iid}")).await;
    assert_eq!(all(&text, "name")[1], "running"); // previous state
    wait_until(&app, &describe, "name", "stopped").await;
    err(
        &app,
        &format!("Action=StopInstances&InstanceId.1={iid}"),
        400,
        "IncorrectInstanceState",
    )
    .await;
    ok(&app, &format!("Action=StartInstances&InstanceId.1={iid}")).await;
    wait_until(&app, &describe, "name", "running").await;

    // Terminate: it goes away.
    ok(
        &app,
        &format!("Action=TerminateInstances&InstanceId.1={iid}"),
    )
    .await;
    for _ in 0..200 {
        let (status, text) = call_as(&app, "AK", &describe).await;
        if text.contains("InvalidInstanceID.NotFound") || text.contains("<name>terminated</name>") {
            emb.shutdown().await;
            return;
        }
        assert_eq!(status.as_u16(), 200, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("instance never terminated");
}

fn ctx() -> nova_core::RequestContext {
    nova_core::RequestContext::new(
        nova_core::model::UserId::new("u-demo").unwrap(),
        nova_core::model::ProjectId::new("demo").unwrap(),
        vec!["member".into()],
    )
}
