//! The object updater (async pendings) and the container updater
//! (container stats to accounts).

use swift_core::daemon::{device_counts, ContainerUpdater, Daemon, ObjectUpdater};
use swift_core::node::{NodeMethod, NodeRequest};
use swift_core::stream;

use super::*;

#[tokio::test]
async fn object_updater_clears_async_pendings_once_the_container_server_is_back() {
    let c = cluster(3);
    let t1 = ts(1);
    for i in 0..3 {
        c.container(i, "a", "c")
            .initialize("a", "c", t1, 0)
            .await
            .unwrap();
    }
    let part = c.container_part("a", "c");
    let hosts: Vec<String> = c.nodes.iter().map(|n| n.host.clone()).collect();
    // Node 0 stores an object; node 2's container server is unreachable.
    c.client.set_up(&hosts[2], false);
    let mut req = NodeRequest::new(NodeMethod::Put, "d1", 0, "a/c/obj");
    for (k, v) in [
        ("x-timestamp", ts(10).internal()),
        ("content-type", "text/plain".to_string()),
        ("content-length", "5".to_string()),
        ("x-container-host", hosts.join(",")),
        ("x-container-device", "d1,d1,d1".to_string()),
        ("x-container-partition", part.to_string()),
    ] {
        req.headers.set(k, v);
    }
    req.body = stream::once("hello");
    assert_eq!(c.nodes[0].storage.handle(req).await.status, 201);
    assert_eq!(device_counts(&c.devices(0)).async_pendings, 1);
    assert!(names(&c.container(2, "a", "c")).await.is_empty());

    let updater = ObjectUpdater::new(c.nodes[0].storage.object_server().clone(), c.devices(0));
    assert_eq!(updater.name(), "object-updater");
    let rep = updater.run_once().await.unwrap();
    assert_eq!(
        (
            rep.count("successes"),
            rep.count("failures"),
            rep.count("async_pendings")
        ),
        (0, 1, 1)
    );
    c.client.set_up(&hosts[2], true);
    let rep = updater.run_once().await.unwrap();
    assert_eq!(
        (
            rep.count("successes"),
            rep.count("failures"),
            rep.count("async_pendings")
        ),
        (1, 0, 0)
    );
    for i in 0..3 {
        assert_eq!(names(&c.container(i, "a", "c")).await, vec!["obj"]);
    }
}

#[tokio::test]
async fn container_updater_moves_stats_to_the_accounts() {
    let c = cluster(3);
    let t1 = ts(1);
    for i in 0..3 {
        c.account(i, "a").initialize("a", t1).await.unwrap();
    }
    let b = c.container(0, "a", "c");
    b.initialize("a", "c", ts(2), 0).await.unwrap();
    b.merge_objects(vec![obj("x", 5), obj("y", 5)])
        .await
        .unwrap();
    let updater = ContainerUpdater::new(c.nodes[0].storage.container_server().clone());
    assert_eq!(updater.name(), "container-updater");
    let rep = updater.run_once().await.unwrap();
    assert_eq!(
        (rep.count("successes"), rep.count("failures")),
        (1, 0),
        "{rep:?}"
    );
    for i in 0..3 {
        let info = c.account(i, "a").info().await.unwrap();
        assert_eq!(
            (info.container_count, info.object_count, info.bytes_used),
            (1, 2, 6)
        );
    }
    // Nothing changed: nothing is sent.
    assert_eq!(updater.run_once().await.unwrap().count("successes"), 0);
    // A change reaches the accounts on the next pass.
    b.put_object(obj("z", 6)).await.unwrap();
    assert_eq!(updater.run_once().await.unwrap().count("successes"), 1);
    assert_eq!(c.account(1, "a").info().await.unwrap().object_count, 3);
}
