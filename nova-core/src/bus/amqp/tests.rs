//! `AmqpBus` against a real broker from `FERROSTACK_AMQP_URL`.

use super::*;

/// The broker the tests use, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`.
const URL_VAR: &str = "FERROSTACK_AMQP_URL";

/// The broker URL, or `None` (after saying so) when the test is skipped.
/// Panics instead when `FERROSTACK_REQUIRE_SERVICES=1`.
fn broker_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: {URL_VAR} is unset but FERROSTACK_REQUIRE_SERVICES=1"
            );
            eprintln!("{test}: skipped ({URL_VAR} is unset)");
            None
        }
    }
}

/// A bus with a prefix of its own, so parallel tests do not share queues.
async fn fresh_bus(url: &str) -> AmqpBus {
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    AmqpBus::connect(url, AmqpOptions { prefix }).await.unwrap()
}

#[tokio::test]
async fn amqp_bus_conforms() {
    let Some(url) = broker_url("amqp_bus_conforms") else {
        return;
    };
    let bus = fresh_bus(&url).await;
    // The URL (and its password) is not part of the bus's Debug output.
    assert!(!format!("{bus:?}").contains(&url));
    crate::bus::conformance::run_all(&bus).await;
    bus.close().await.unwrap();
}

#[tokio::test]
async fn two_buses_on_one_prefix_talk_to_each_other() {
    let Some(url) = broker_url("two_buses_on_one_prefix_talk_to_each_other") else {
        return;
    };
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let server = AmqpBus::connect(
        &url,
        AmqpOptions {
            prefix: prefix.clone(),
        },
    )
    .await
    .unwrap();
    let client = AmqpBus::connect(&url, AmqpOptions { prefix })
        .await
        .unwrap();
    let t = Topic::scheduler();
    let mut c = server.subscribe(&t).await.unwrap();
    let serve = tokio::spawn(async move {
        let d = c.next().await.unwrap();
        let n = d.message.args.as_i64().unwrap();
        d.reply(Ok(serde_json::json!(n + 1))).await.unwrap();
    });
    let r = client
        .call(
            &t,
            Message::new("inc", serde_json::json!(41)),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r, serde_json::json!(42));
    serve.await.unwrap();
}

#[tokio::test]
async fn closed_bus_is_unavailable() {
    let Some(url) = broker_url("closed_bus_is_unavailable") else {
        return;
    };
    let bus = fresh_bus(&url).await;
    bus.close().await.unwrap();
    let e = bus
        .cast(&Topic::volume(), Message::new("m", serde_json::Value::Null))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "Unavailable", "{e:?}");
    let Err(e) = bus.subscribe(&Topic::volume()).await else {
        panic!("subscribing on a closed bus worked");
    };
    assert_eq!(e.kind(), "Unavailable", "{e:?}");
}

#[tokio::test]
async fn no_broker_is_unavailable() {
    // Port 1 on loopback: nothing listens there.
    let e = AmqpBus::connect("amqp://guest:guest@127.0.0.1:1/%2f", AmqpOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "Unavailable", "{e:?}");
}
