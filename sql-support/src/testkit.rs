//! Throw-away PostgreSQL databases for tests.
//!
//! Tests read the server from `FERROSTACK_PG_URL` (e.g.
//! `postgres://postgres@127.0.0.1:55432/postgres`). Without it they print
//! that they were skipped, unless `FERROSTACK_REQUIRE_SERVICES=1`, when they
//! fail: `scripts/test.sh` starts a server and sets both.
#![allow(clippy::panic, clippy::expect_used)]

use std::fmt;

use crate::location::PgUrl;
use crate::pg::PgPool;

/// The variable naming the PostgreSQL server tests use.
pub const PG_URL_VAR: &str = "FERROSTACK_PG_URL";
/// Set to `1` to make tests fail instead of skipping when a service is missing.
pub const REQUIRE_VAR: &str = "FERROSTACK_REQUIRE_SERVICES";

/// A database with a random name, created on the test server and dropped
/// (connections included) when this value is dropped, even after a panic.
pub struct TestDatabase {
    server: PgUrl,
    name: String,
    url: PgUrl,
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("url", &self.url)
            .finish()
    }
}

impl TestDatabase {
    /// Creates a fresh database for the test named `test`. `None` (after
    /// printing why) when `FERROSTACK_PG_URL` is unset and services are not
    /// required. Panics when they are required but missing, or when the
    /// server cannot be reached.
    pub async fn create(test: &str) -> Option<Self> {
        let Some(server) = std::env::var(PG_URL_VAR).ok().filter(|s| !s.is_empty()) else {
            if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
                panic!("{test}: {PG_URL_VAR} is unset but {REQUIRE_VAR}=1");
            }
            eprintln!("skipped {test}: set {PG_URL_VAR} to run it against PostgreSQL");
            return None;
        };
        let server = PgUrl::new(server);
        let name = format!("ft_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPool::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("{test}: cannot reach {server}: {e:?}"));
        admin
            .get()
            .await
            .expect("admin connection")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("{test}: cannot create database {name}: {e:?}"));
        let url = server.with_database(&name);
        Some(Self { server, name, url })
    }

    /// The URL of the fresh database.
    pub fn url(&self) -> &PgUrl {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which may be single-threaded:
        // do the async work on a runtime of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let admin = PgPool::connect(&server).await?;
                admin
                    .get()
                    .await?
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                Ok::<_, crate::Error>(())
            })
            .map_err(|e| std::io::Error::other(format!("{e:?}")))
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {done:?}", self.name);
        }
    }
}
