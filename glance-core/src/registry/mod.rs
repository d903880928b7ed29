//! Image metadata persistence: the [`ImageRegistry`] trait, its in-memory
//! and SQLite backends, and its conformance suite.

use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::image::Image;
use crate::image::{ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId};

#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
mod list;
pub mod memory;
pub mod sqlite;

pub use list::{FilterField, ListFilter, ListOptions, SortDir, SortKey, TimeOp};
pub use memory::MemoryImageRegistry;
pub use sqlite::SqliteImageRegistry;

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
