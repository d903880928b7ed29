//! A GET cut by a replica's checksum failure is resumed from another
//! replica: the client gets the whole, correct body.

use bytes::Bytes;
use http::Method;
use swift_core::object::ObjectState;

use super::{cluster, Cluster};

/// Flips one bit of the body byte at `offset` of an object on a node.
fn flip(c: &Cluster, node: usize, name: &str, offset: usize) {
    let path = c.data_file(node, name);
    let mut raw = std::fs::read(&path).unwrap();
    raw[offset] ^= 0x01;
    std::fs::write(&path, raw).unwrap();
}

/// For each node, an object whose first replica in read order is there.
fn first_on_each_node(c: &Cluster, prefix: &str) -> Vec<(usize, String)> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for i in 0..200 {
        let name = format!("{prefix}-{i}");
        let first = c.primaries(&name)[0];
        if !found.iter().any(|(n, _)| *n == first) {
            found.push((first, name));
        }
        if found.len() == c.hosts.len() {
            break;
        }
    }
    assert_eq!(
        found.len(),
        c.hosts.len(),
        "every node is first for some object"
    );
    found
}

#[tokio::test]
async fn a_corrupt_first_replica_is_resumed_from_another() {
    let c = cluster(3).await;
    // One chunk; and three 64 KiB chunks and a bit, of which the corrupt
    // node sends the good first ones before it cuts, so the rest comes from
    // an offset. The flipped byte is in the last chunk (the server holds it
    // back), so the client's bytes are all good.
    for (prefix, repeat) in [("small", 1), ("big", 20_000)] {
        let body = |n: &str| Bytes::from(format!("{n}: body ").repeat(repeat));
        for (node, name) in first_on_each_node(&c, prefix) {
            let data = body(&name);
            let r = c.object(Method::PUT, &name, data.clone()).await;
            assert_eq!(r.status, 201);
            flip(&c, node, &name, data.len() - 7);
            for attempt in 0..3 {
                let r = c.object(Method::GET, &name, Bytes::new()).await;
                assert_eq!(r.status, 200, "{name}");
                let got = r
                    .body
                    .unwrap_or_else(|e| panic!("{name} #{attempt} cut: {e}"));
                assert!(got == data, "{name} #{attempt}: wrong or short body");
            }
            // The corrupt copy was read (first in read order) and quarantined.
            assert!(
                matches!(c.state(node, &name).await, ObjectState::Missing),
                "{name} on node {node} quarantined"
            );
        }
    }
}
