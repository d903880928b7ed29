//! Shared SQL plumbing of ferrostack's cores (identity, glance, nova).
//!
//! - [`Location`]: one config string picks a storage backend:
//!   `memory:`, `sqlite:PATH` (or a plain path) or a `postgres://` URL whose
//!   password never shows in `Debug` or `Display`.
//! - `pg` (feature `postgres`): a connection pool, ordered schema migrations
//!   recorded in a `schema_version` table and serialized across processes by
//!   an advisory lock, and a classification of PostgreSQL errors that each
//!   core maps onto its own error kinds.
//! - `testkit` (feature `testkit`): a fresh PostgreSQL database per test,
//!   dropped afterwards, from `FERROSTACK_PG_URL`.
//!
//! ```
//! use sql_support::Location;
//!
//! let loc = Location::parse("postgres://glance:s3cret@db:5432/glance")?;
//! assert!(matches!(loc, Location::Postgres(_)));
//! assert!(!loc.to_string().contains("s3cret"));
//! assert!(matches!(Location::parse("/var/lib/glance.db")?, Location::Sqlite(_)));
//! # Ok::<(), sql_support::Error>(())
//! ```
#![deny(missing_docs)]

mod error;
mod location;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{BoxError, Error, Failure};
pub use location::{Location, PgUrl};
