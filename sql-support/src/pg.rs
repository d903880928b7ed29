//! PostgreSQL: a pooled connection set, ordered migrations and error
//! classification.

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

pub use deadpool_postgres::{Object as PooledClient, Transaction};
pub use tokio_postgres;

use crate::error::{Error, Failure};
use crate::location::PgUrl;

/// Connections kept per pool.
const POOL_SIZE: usize = 16;
/// How long a caller waits for a free connection or a new one.
const WAIT: Duration = Duration::from_secs(10);
/// Key of the advisory lock every ferrostack migration holds, so two
/// processes opening one database at once migrate one after the other.
const MIGRATION_LOCK: i64 = 0x6665_7272_6f5f_6462; // "ferro_db"

/// A pool of connections to one database. `Debug` hides the password.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
    url: PgUrl,
}

impl fmt::Debug for PgPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgPool")
            .field("url", &self.url)
            .field("status", &self.pool.status())
            .finish()
    }
}

impl PgPool {
    /// A pool for `url` (libpq URL or `key=value` form), plain TCP or Unix
    /// socket, no TLS. Connects once to fail early on a bad address or
    /// credentials.
    pub async fn connect(url: &PgUrl) -> Result<Self, Error> {
        let config: tokio_postgres::Config =
            url.expose()
                .parse()
                .map_err(|e: tokio_postgres::Error| Error::InvalidLocation {
                    reason: format!("bad postgres url {url}: {e}"),
                })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .build()
            .map_err(|e| Error::Pool(Box::new(e)))?;
        let this = Self {
            pool,
            url: url.clone(),
        };
        drop(this.get().await?);
        Ok(this)
    }

    /// The location, password hidden when shown.
    pub fn url(&self) -> &PgUrl {
        &self.url
    }

    /// A connection from the pool; back to the pool on drop.
    pub async fn get(&self) -> Result<PooledClient, Error> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => Error::Postgres(e),
            other => Error::Pool(Box::new(other)),
        })
    }

    /// Brings `component`'s schema to `steps.len()`: step `i` moves it from
    /// version `i` to `i + 1`. Each step runs in its own transaction under an
    /// advisory lock and is recorded in `schema_version (component, version)`,
    /// so opening is idempotent and safe when several processes open at
    /// once. `Error::SchemaTooNew` when a newer build migrated it.
    pub async fn migrate(&self, component: &str, steps: &[&str]) -> Result<(), Error> {
        let mut client = self.get().await?;
        let supported = i64::try_from(steps.len()).unwrap_or(i64::MAX);
        loop {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_version (
                    component TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    PRIMARY KEY (component, version)
                )",
            )
            .await?;
            let current: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version WHERE component = $1",
                    &[&component],
                )
                .await?
                .try_get(0)?;
            if current > supported {
                return Err(Error::SchemaTooNew {
                    component: component.to_owned(),
                    found: current,
                    supported,
                });
            }
            let Some(step) = usize::try_from(current).ok().and_then(|i| steps.get(i)) else {
                tx.commit().await?;
                return Ok(());
            };
            tx.batch_execute(step).await?;
            tx.execute(
                "INSERT INTO schema_version (component, version) VALUES ($1, $2)",
                &[&component, &(current + 1)],
            )
            .await?;
            tx.commit().await?;
        }
    }
}

/// What a PostgreSQL error means.
pub fn classify(e: &tokio_postgres::Error) -> Failure {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return if *code == SqlState::UNIQUE_VIOLATION {
            Failure::UniqueViolation(db.constraint().map(str::to_owned))
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            Failure::ForeignKeyViolation
        } else if [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::QUERY_CANCELED,
        ]
        .contains(code)
        {
            Failure::Retryable
        } else if [
            SqlState::INVALID_PASSWORD,
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            SqlState::INVALID_CATALOG_NAME,
        ]
        .contains(code)
        {
            Failure::Config
        } else {
            Failure::Other
        };
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        Failure::Retryable
    } else {
        Failure::Other
    }
}
