//! Network effects of boot and delete, concurrency of a host's messages,
//! metadata.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::error::Error;
use crate::network::{DhcpHost, NetEffect};
use crate::virt::DriverOp;

#[tokio::test]
async fn boot_plugs_flat_dhcp_and_delete_removes_the_lease() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    s.net.take();
    let i = boot_active(&s, &c, "dhcp-vm").await.unwrap();
    let ip = s.api().fixed_ips(&c, &i.id).await.unwrap().remove(0);
    let effects = s.net.take();
    let gw = (std::net::Ipv4Addr::new(10, 0, 0, 1), 24);
    assert!(effects.contains(&NetEffect::Bridge {
        name: "br100".into(),
        interface: None,
        gateway: Some(gw),
    }));
    assert!(effects.contains(&NetEffect::Snat {
        cidr: "10.0.0.0/24".parse().unwrap()
    }));
    let lease = DhcpHost {
        mac: ip.mac.clone(),
        address: ip.address,
        hostname: "dhcp-vm".into(),
    };
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, NetEffect::Dhcp { bridge, hosts }
            if bridge == "br100" && hosts.contains(&lease))),
        "{effects:?}"
    );
    s.api().delete_server(&c, &i.id).await.unwrap();
    wait_until(s.api(), &c, &i.id, |x| x.is_none()).await;
    let effects = s.net.take();
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, NetEffect::Dhcp { bridge, hosts }
            if bridge == "br100" && !hosts.contains(&lease))),
        "{effects:?}"
    );
    s.emb.shutdown().await;
}

#[tokio::test]
async fn a_slow_spawn_does_not_block_the_host_topic() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    let ready = boot_active(&s, &c, "ready").await.unwrap();
    s.driver("node1")
        .set_delay(DriverOp::Spawn, Duration::from_secs(3));
    let slow = s
        .api()
        .create_servers(&c, boot("slow", &s.image))
        .await
        .unwrap();
    wait_until(s.api(), &c, &slow[0].id, |i| {
        i.is_some_and(|i| i.task_state == Some(crate::model::TaskState::Spawning))
    })
    .await;
    let t = Instant::now();
    let log = s
        .api()
        .console_output(&c, &ready.id, Some(1))
        .await
        .unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "console waited on the spawn"
    );
    assert_eq!(log.split('\n').count(), 1);
    let i = s.api().get_server(&c, &slow[0].id).await.unwrap();
    assert_eq!(i.status(), ServerStatus::Build);
    s.driver("node1").clear_faults();
    wait_status(s.api(), &c, &slow[0].id, ServerStatus::Active).await;
    s.emb.shutdown().await;
}

#[tokio::test]
async fn metadata_is_merged_replaced_and_removed() {
    let s = stack(&["node1"]).await;
    let c = ctx("p1");
    let mut req = boot("meta", &s.image);
    req.metadata = BTreeMap::from([("a".into(), "1".into())]);
    let i = s.api().create_servers(&c, req).await.unwrap().remove(0);
    let i = wait_status(s.api(), &c, &i.id, ServerStatus::Active).await;
    assert_eq!(i.metadata["a"], "1");
    let merged = s
        .api()
        .update_metadata(&c, &i.id, BTreeMap::from([("b".into(), "2".into())]), false)
        .await
        .unwrap();
    assert_eq!(merged.len(), 2);
    let replaced = s
        .api()
        .update_metadata(&c, &i.id, BTreeMap::from([("c".into(), "3".into())]), true)
        .await
        .unwrap();
    assert_eq!(replaced.keys().collect::<Vec<_>>(), ["c"]);
    s.api().delete_metadata_item(&c, &i.id, "c").await.unwrap();
    assert!(matches!(
        s.api().delete_metadata_item(&c, &i.id, "c").await,
        Err(Error::NotFound { .. })
    ));
    assert!(s
        .api()
        .get_server(&c, &i.id)
        .await
        .unwrap()
        .metadata
        .is_empty());
    s.emb.shutdown().await;
}
