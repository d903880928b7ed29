//! The core scenario on PostgreSQL and RabbitMQ (FERROSTACK_PG_URL and
//! FERROSTACK_AMQP_URL; skipped without them unless
//! FERROSTACK_REQUIRE_SERVICES=1).

use super::*;
use sql_support::testkit::TestDatabase;

use crate::bus::{AmqpBus, AmqpOptions};

fn env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var("FERROSTACK_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{name} is required (FERROSTACK_REQUIRE_SERVICES=1)"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn core_scenario_on_postgres_and_amqp() {
    let Some(amqp) = env("FERROSTACK_AMQP_URL") else {
        eprintln!("skipped core_scenario_on_postgres_and_amqp: FERROSTACK_AMQP_URL is unset");
        return;
    };
    // A fresh database and a private queue prefix: the server and the
    // broker may be shared with other runs.
    let Some(pg) = TestDatabase::create("nova core_scenario_on_postgres_and_amqp").await else {
        return;
    };
    let db = crate::db::open(pg.url().expose()).await.unwrap();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let opts = AmqpOptions {
        prefix: format!("ft-{run}"),
    };
    let bus = AmqpBus::connect(&amqp, opts).await.unwrap();
    let (h1, h2) = (format!("pg-{}-1", &run[..8]), format!("pg-{}-2", &run[..8]));
    let s = stack_on(db, Arc::new(bus), &[&h1, &h2]).await;
    let project = format!("pg-{run}");
    super::core::core_scenario(&s, &project).await;
    s.emb.shutdown().await;
}
