//! The conformance suite every [`MessageBus`] must pass. Scenarios use
//! fresh topic names, so the suite can run against a shared broker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use super::{Consumer, Delivery, DeliveryKind, Message, MessageBus, Topic};
use crate::error::Error;
use crate::model::HostName;

/// How long a delivery may take to arrive.
const ARRIVE: Duration = Duration::from_secs(5);
/// How long to watch for a delivery that must not come.
const QUIET: Duration = Duration::from_millis(200);

/// Runs every scenario against `bus`.
pub async fn run_all(bus: &dyn MessageBus) {
    cast_reaches_exactly_one_of_two_consumers(bus).await;
    casts_are_each_delivered_once(bus).await;
    cast_before_subscribe_is_kept(bus).await;
    dropped_consumer_gets_nothing(bus).await;
    untaken_casts_of_a_dropped_consumer_are_redelivered(bus).await;
    call_gets_the_reply(bus).await;
    call_error_reply_is_remote_error(bus).await;
    call_times_out_without_consumer(bus).await;
    fanout_reaches_all_consumers(bus).await;
    per_host_topics_are_isolated(bus).await;
}

fn fresh(prefix: &str) -> Topic {
    Topic::new(format!("{prefix}-{}", uuid::Uuid::new_v4().simple())).unwrap()
}

async fn next(c: &mut Consumer) -> Option<Delivery> {
    tokio::time::timeout(ARRIVE, c.next()).await.ok().flatten()
}

async fn nothing_more(c: &mut Consumer, who: &str) {
    if let Ok(Some(d)) = tokio::time::timeout(QUIET, c.next()).await {
        panic!("{who} got an unexpected delivery {:?}", d.message);
    }
}

/// A cast is delivered once, to one of two subscribers.
pub async fn cast_reaches_exactly_one_of_two_consumers(bus: &dyn MessageBus) {
    let t = fresh("conf-cast1");
    let mut a = bus.subscribe(&t).await.unwrap();
    let mut b = bus.subscribe(&t).await.unwrap();
    bus.cast(&t, Message::new("ping", json!(1))).await.unwrap();
    let got = tokio::select! {
        d = a.next() => ("a", d),
        d = b.next() => ("b", d),
    };
    let d = got.1.expect("the cast was delivered");
    assert_eq!(d.message, Message::new("ping", json!(1)));
    assert_eq!(d.kind, DeliveryKind::Cast);
    nothing_more(&mut a, "consumer a").await;
    nothing_more(&mut b, "consumer b").await;
}

/// Many casts over two consumers: each message arrives exactly once.
pub async fn casts_are_each_delivered_once(bus: &dyn MessageBus) {
    let t = fresh("conf-cast-many");
    let mut a = bus.subscribe(&t).await.unwrap();
    let mut b = bus.subscribe(&t).await.unwrap();
    for i in 0..20 {
        bus.cast(&t, Message::new("n", json!(i))).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 20 {
        let d = tokio::time::timeout(ARRIVE, async {
            tokio::select! { d = a.next() => d, d = b.next() => d }
        })
        .await
        .expect("all casts arrive")
        .expect("streams stay open");
        seen.push(d.message.args.as_i64().unwrap());
    }
    let unique: BTreeSet<_> = seen.iter().copied().collect();
    assert_eq!(unique, (0..20).collect::<BTreeSet<_>>());
    nothing_more(&mut a, "consumer a").await;
    nothing_more(&mut b, "consumer b").await;
}

/// A cast sent before anyone subscribed waits for the first subscriber.
pub async fn cast_before_subscribe_is_kept(bus: &dyn MessageBus) {
    let t = fresh("conf-early");
    bus.cast(&t, Message::new("early", Value::Null))
        .await
        .unwrap();
    let mut c = bus.subscribe(&t).await.unwrap();
    let d = next(&mut c).await.expect("the early cast arrives");
    assert_eq!(d.message.method, "early");
}

/// A dropped consumer is unsubscribed: casts go to the remaining one.
pub async fn dropped_consumer_gets_nothing(bus: &dyn MessageBus) {
    let t = fresh("conf-drop");
    let gone = bus.subscribe(&t).await.unwrap();
    let mut live = bus.subscribe(&t).await.unwrap();
    drop(gone);
    for i in 0..4 {
        bus.cast(&t, Message::new("n", json!(i))).await.unwrap();
    }
    for i in 0..4 {
        let d = next(&mut live)
            .await
            .expect("every cast reaches the live consumer");
        assert_eq!(d.message.args, json!(i));
    }
}

/// Casts a consumer had not taken when it went away reach another one.
pub async fn untaken_casts_of_a_dropped_consumer_are_redelivered(bus: &dyn MessageBus) {
    let t = fresh("conf-requeue");
    let first = bus.subscribe(&t).await.unwrap();
    for i in 0..6 {
        bus.cast(&t, Message::new("n", json!(i))).await.unwrap();
    }
    drop(first);
    let mut second = bus.subscribe(&t).await.unwrap();
    let mut got = BTreeSet::new();
    for _ in 0..6 {
        let d = next(&mut second).await.expect("requeued casts arrive");
        got.insert(d.message.args.as_i64().unwrap());
    }
    assert_eq!(got, (0..6).collect::<BTreeSet<_>>());
    nothing_more(&mut second, "second consumer").await;
}

fn serve_one(mut c: Consumer, reply: crate::Result<Value>) -> tokio::task::JoinHandle<Message> {
    tokio::spawn(async move {
        let d = c.next().await.expect("a call arrives");
        assert_eq!(d.kind, DeliveryKind::Call);
        let m = d.message.clone();
        d.reply(reply).await.unwrap();
        m
    })
}

/// A call gets the subscriber's reply.
pub async fn call_gets_the_reply(bus: &dyn MessageBus) {
    let t = fresh("conf-call");
    let c = bus.subscribe(&t).await.unwrap();
    let server = serve_one(c, Ok(json!({"answer": 42})));
    let r = bus
        .call(&t, Message::new("ask", json!({"q": 1})), ARRIVE)
        .await
        .unwrap();
    assert_eq!(r, json!({"answer": 42}));
    assert_eq!(server.await.unwrap(), Message::new("ask", json!({"q": 1})));
}

/// An error reply reaches the caller as `Error::Remote` of the same kind.
pub async fn call_error_reply_is_remote_error(bus: &dyn MessageBus) {
    let t = fresh("conf-call-err");
    let c = bus.subscribe(&t).await.unwrap();
    let server = serve_one(c, Err(Error::conflict("instance busy")));
    let e = bus
        .call(&t, Message::new("ask", Value::Null), ARRIVE)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Remote { .. }), "{e:?}");
    assert_eq!(e.kind(), "Conflict");
    assert!(e.to_string().contains("instance busy"));
    server.await.unwrap();
}

/// A call with nobody listening fails with `Error::Timeout`.
pub async fn call_times_out_without_consumer(bus: &dyn MessageBus) {
    let t = fresh("conf-void");
    let started = tokio::time::Instant::now();
    let e = bus
        .call(
            &t,
            Message::new("hello", Value::Null),
            Duration::from_millis(150),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

/// A fanout reaches every subscriber once.
pub async fn fanout_reaches_all_consumers(bus: &dyn MessageBus) {
    let t = fresh("conf-fanout");
    let mut cs = Vec::new();
    for _ in 0..3 {
        cs.push(bus.subscribe(&t).await.unwrap());
    }
    bus.fanout(&t, Message::new("update", json!("all")))
        .await
        .unwrap();
    for (i, c) in cs.iter_mut().enumerate() {
        let d = next(c)
            .await
            .unwrap_or_else(|| panic!("consumer {i} got the fanout"));
        assert_eq!(d.kind, DeliveryKind::Fanout);
        assert_eq!(d.message.method, "update");
    }
    for c in cs.iter_mut() {
        nothing_more(c, "fanout consumer").await;
    }
}

/// `compute.<h1>` and `compute.<h2>` and `compute` are separate topics.
pub async fn per_host_topics_are_isolated(bus: &dyn MessageBus) {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let h1 = HostName::new(format!("h1-{suffix}")).unwrap();
    let h2 = HostName::new(format!("h2-{suffix}")).unwrap();
    let (t1, t2) = (Topic::compute_host(&h1), Topic::compute_host(&h2));
    let mut c1 = bus.subscribe(&t1).await.unwrap();
    let mut c2 = bus.subscribe(&t2).await.unwrap();
    bus.cast(&t1, Message::new("for_h1", Value::Null))
        .await
        .unwrap();
    bus.fanout(&t2, Message::new("for_h2", Value::Null))
        .await
        .unwrap();
    assert_eq!(next(&mut c1).await.unwrap().message.method, "for_h1");
    assert_eq!(next(&mut c2).await.unwrap().message.method, "for_h2");
    nothing_more(&mut c1, "compute.h1").await;
    nothing_more(&mut c2, "compute.h2").await;
}
