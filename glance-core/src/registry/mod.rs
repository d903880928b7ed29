//! Image metadata persistence: the [`ImageRegistry`] trait, its in-memory,
//! SQLite and PostgreSQL backends, the
//! [`open`] function that picks one from a location string, and its
//! conformance suite.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{from_sql, run_blocking, Result};
use crate::image::Image;
use crate::image::{ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId};

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
mod list;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod sql_list;
pub mod sqlite;

pub use list::{FilterField, ListFilter, ListOptions, SortDir, SortKey, TimeOp};
pub use memory::MemoryImageRegistry;
#[cfg(feature = "postgres")]
pub use postgres::PostgresImageRegistry;
pub use sql_support::{Location, PgUrl};
pub use sqlite::SqliteImageRegistry;

/// Opens the registry a config string names:
///
/// | `location` | registry |
/// |---|---|
/// | `memory:` or `:memory:` | [`MemoryImageRegistry`] |
/// | `postgres://…` or `postgresql://…` | `PostgresImageRegistry` (feature `postgres`) |
/// | `sqlite:PATH` or a plain `PATH` | [`SqliteImageRegistry`] |
///
/// Opening migrates the schema. `Error::InvalidConfig` for a malformed
/// location, an unknown scheme, a PostgreSQL URL in a build without the
/// `postgres` feature, bad credentials or a schema newer than this build;
/// `Error::Unavailable` when the database server cannot be reached. Error
/// messages and `Debug` output never show a URL's password.
pub async fn open(location: &str) -> Result<Arc<dyn ImageRegistry>> {
    open_location(&Location::parse(location).map_err(|e| from_sql("location", e))?).await
}

/// [`open`] for a location already parsed (e.g. by a config loader: it
/// deserializes from the same strings).
pub async fn open_location(location: &Location) -> Result<Arc<dyn ImageRegistry>> {
    match location.clone() {
        Location::Memory => Ok(Arc::new(MemoryImageRegistry::new())),
        Location::Sqlite(path) => Ok(Arc::new(
            run_blocking("sqlite", move || SqliteImageRegistry::open(path)).await?,
        )),
        #[cfg(feature = "postgres")]
        Location::Postgres(url) => Ok(Arc::new(PostgresImageRegistry::connect(&url).await?)),
        #[cfg(not(feature = "postgres"))]
        Location::Postgres(url) => Err(crate::error::Error::config(format!(
            "{url}: this build has no postgres backend (cargo feature `postgres`)"
        ))),
    }
}

/// Stores image records, their members and tags. Shared across tasks; each
/// method is atomic on its own.
#[async_trait]
pub trait ImageRegistry: Send + Sync + fmt::Debug + 'static {
    /// The backend name used in errors, e.g. `sqlite`.
    fn name(&self) -> &'static str;

    /// Stores a new record. `AlreadyExists` if the id is taken (even by a
    /// deleted image).
    async fn create(&self, image: &Image) -> Result<()>;

    /// The record, whatever its status; `NotFound` if there is none.
    async fn get(&self, id: &ImageId) -> Result<Image>;

    /// Records matching `opts`, sorted, after the marker, at most `limit`.
    /// `InvalidInput` if the marker is not among the matching records.
    async fn list(&self, opts: &ListOptions) -> Result<Vec<Image>>;

    /// Replaces the record if its stored status is still `expected`
    /// (optimistic concurrency): `Conflict` if it changed meanwhile,
    /// `NotFound` if there is no record.
    async fn update(&self, image: &Image, expected: ImageStatus) -> Result<()>;

    /// Removes the record and its members. `NotFound` if there is none.
    async fn delete(&self, id: &ImageId) -> Result<()>;

    /// Adds a member record. `NotFound` without the image, `AlreadyExists`
    /// for a duplicate member.
    async fn add_member(&self, member: &ImageMember) -> Result<()>;

    /// One member record; `NotFound` if absent.
    async fn get_member(&self, id: &ImageId, member: &ProjectId) -> Result<ImageMember>;

    /// Members of an image, ordered by project id; `NotFound` without the image.
    async fn list_members(&self, id: &ImageId) -> Result<Vec<ImageMember>>;

    /// Sets a member's status and `updated_at`; `NotFound` if absent.
    async fn set_member_status(
        &self,
        id: &ImageId,
        member: &ProjectId,
        status: MemberStatus,
        now: u64,
    ) -> Result<ImageMember>;

    /// Removes a member record; `NotFound` if absent.
    async fn delete_member(&self, id: &ImageId, member: &ProjectId) -> Result<()>;

    /// Adds a tag; idempotent. `NotFound` without the image.
    async fn add_tag(&self, id: &ImageId, tag: &str) -> Result<()>;

    /// Removes a tag; `NotFound` if the image or the tag is missing.
    async fn delete_tag(&self, id: &ImageId, tag: &str) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::open;
    use crate::error::Error;

    #[tokio::test]
    async fn open_dispatches_on_location() {
        assert_eq!(open("memory:").await.unwrap().name(), "memory");
        assert_eq!(open(":memory:").await.unwrap().name(), "memory");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.db");
        let r = open(&format!("sqlite:{}", file.display())).await.unwrap();
        assert_eq!(r.name(), "sqlite");
        assert!(file.exists());
        let plain = dir.path().join("b.db");
        assert_eq!(
            open(plain.to_str().unwrap()).await.unwrap().name(),
            "sqlite"
        );
        for bad in ["", "mysql://h/db"] {
            let err = open(bad).await.unwrap_err();
            assert!(matches!(err, Error::InvalidConfig { .. }), "{bad}: {err:?}");
        }
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn open_postgres_url() {
        // Nothing listens on port 1: the URL is recognised, the server is not there.
        let err = open("postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
        let Some(db) = sql_support::testkit::TestDatabase::create("glance open_postgres_url").await
        else {
            return;
        };
        assert_eq!(open(db.url().expose()).await.unwrap().name(), "postgres");
    }
}
