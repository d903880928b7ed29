//! Image members (sharing with other projects) with Glance's rules.

use super::ImageService;
use crate::error::{Error, Result};
use crate::image::access::{self, Caller};
use crate::image::{Image, ImageId, ImageMember, MemberStatus, ProjectId, Visibility};

impl ImageService {
    /// The image, readable by `caller` (else `NotFound`) and `shared`
    /// (else `Forbidden`: only shared images have members).
    async fn shared_image(&self, caller: &Caller, id: &ImageId) -> Result<Image> {
        let image = self.registry.get(id).await?;
        access::check_read(&image, caller, self.member_status(id, caller).await?)?;
        if image.visibility != Visibility::Shared {
            return Err(Error::forbidden(format!(
                "only shared images have members; image {id} is {}",
                image.visibility
            )));
        }
        Ok(image)
    }

    fn sees_all_members(caller: &Caller, image: &Image) -> bool {
        caller.is_admin || caller.owns(image)
    }

    /// Shares image `id` with project `member` (status `pending`). Only
    /// the owner (or an admin) of a `shared` image may; `Forbidden`
    /// otherwise, `AlreadyExists` for a duplicate, `QuotaExceeded` past
    /// `image_member_quota`.
    pub async fn add_member(
        &self,
        caller: &Caller,
        id: &ImageId,
        member: ProjectId,
    ) -> Result<ImageMember> {
        let image = self.registry.get(id).await?;
        access::check_read(&image, caller, self.member_status(id, caller).await?)?;
        access::check_manage_members(&image, caller)?;
        let existing = self.registry.list_members(id).await?;
        if existing.iter().any(|m| m.member == member) {
            return Err(Error::already_exists(format!(
                "member {member} of image {id}"
            )));
        }
        self.quota.check_members(existing.len() + 1)?;
        let now = self.now();
        let m = ImageMember {
            image_id: *id,
            member,
            status: MemberStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        self.registry.add_member(&m).await?;
        Ok(m)
    }

    /// The members of a shared image: all of them for the owner or an
    /// admin, only its own record for a member.
    pub async fn list_members(&self, caller: &Caller, id: &ImageId) -> Result<Vec<ImageMember>> {
        let image = self.shared_image(caller, id).await?;
        let all = self.registry.list_members(id).await?;
        if Self::sees_all_members(caller, &image) {
            return Ok(all);
        }
        Ok(all
            .into_iter()
            .filter(|m| caller.project.as_ref() == Some(&m.member))
            .collect())
    }

    /// One member record; `NotFound` unless the caller is the owner, an
    /// admin, or that member.
    pub async fn get_member(
        &self,
        caller: &Caller,
        id: &ImageId,
        member: &ProjectId,
    ) -> Result<ImageMember> {
        let image = self.shared_image(caller, id).await?;
        if !Self::sees_all_members(caller, &image) && caller.project.as_ref() != Some(member) {
            return Err(Error::not_found(format!("member {member} of image {id}")));
        }
        self.registry.get_member(id, member).await
    }

    /// Sets a member's status. Only the member project itself (or an
    /// admin) may; the owner gets `Forbidden`.
    pub async fn set_member_status(
        &self,
        caller: &Caller,
        id: &ImageId,
        member: &ProjectId,
        status: MemberStatus,
    ) -> Result<ImageMember> {
        let image = self.shared_image(caller, id).await?;
        self.registry.get_member(id, member).await?;
        access::check_set_member_status(&image, caller, member)?;
        self.registry
            .set_member_status(id, member, status, self.now())
            .await
    }

    /// Stops sharing with `member`; only the owner or an admin.
    pub async fn delete_member(
        &self,
        caller: &Caller,
        id: &ImageId,
        member: &ProjectId,
    ) -> Result<()> {
        let image = self.shared_image(caller, id).await?;
        if !Self::sees_all_members(caller, &image) && caller.project.as_ref() != Some(member) {
            return Err(Error::not_found(format!("member {member} of image {id}")));
        }
        access::check_manage_members(&image, caller)?;
        self.registry.delete_member(id, member).await
    }
}
