//! Who may see, list, change and share an image: Glance's default policy
//! (secure RBAC) as pure functions.
//!
//! Roles are reduced to what the rules need: the caller's project and
//! whether it is an admin. Invisible images are reported as
//! [`Error::NotFound`], as Glance does, so their existence does not leak.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Image, ImageId, ImageStatus, ProjectId};
use crate::error::{Error, Result};

/// Who may see an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Listed for and usable by everyone; setting it needs admin.
    Public,
    /// The owner only; cannot have members.
    Private,
    /// The owner and its members; the default at create.
    Shared,
    /// Usable by anyone by id; listed only for the owner or on request.
    Community,
}

impl Visibility {
    /// Every value.
    pub const ALL: [Visibility; 4] = [Self::Public, Self::Private, Self::Shared, Self::Community];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Shared => "shared",
            Self::Community => "community",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown visibility {s:?}")))
    }
}

/// The status of a member project's share of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Offered, not yet answered; the initial status.
    Pending,
    /// Accepted by the member; the image is listed for it.
    Accepted,
    /// Declined by the member.
    Rejected,
}

impl MemberStatus {
    /// Every value.
    pub const ALL: [MemberStatus; 3] = [Self::Pending, Self::Accepted, Self::Rejected];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemberStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("bad member status {s:?}")))
    }
}

/// A project an image is shared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMember {
    /// The shared image.
    pub image_id: ImageId,
    /// The member project.
    pub member: ProjectId,
    /// The member's answer.
    pub status: MemberStatus,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Last update time, seconds since the Unix epoch.
    pub updated_at: u64,
}

/// The caller of an operation, as the policy sees it: its project and
/// Keystone roles reduced to admin (bypasses every rule) and read-only
/// (`reader` without `member`: may read, list and download, never write).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caller {
    /// The project the token is scoped to, if any.
    pub project: Option<ProjectId>,
    /// Whether the caller has the admin role (bypasses every rule).
    pub is_admin: bool,
    /// Whether the caller may only read (the `reader` role alone).
    pub read_only: bool,
}

impl Caller {
    /// A non-admin caller with the `member` role in `project`.
    pub fn project(project: ProjectId) -> Self {
        Self {
            project: Some(project),
            is_admin: false,
            read_only: false,
        }
    }

    /// An admin caller scoped to `project`.
    pub fn admin(project: ProjectId) -> Self {
        Self {
            project: Some(project),
            is_admin: true,
            read_only: false,
        }
    }

    /// A caller with only the `reader` role in `project`.
    pub fn reader(project: ProjectId) -> Self {
        Self {
            project: Some(project),
            is_admin: false,
            read_only: true,
        }
    }

    /// A caller with no project scope and no roles (reads public images only).
    pub fn anonymous() -> Self {
        Self {
            project: None,
            is_admin: false,
            read_only: true,
        }
    }

    /// The caller of a token scoped to `project` with Keystone role names
    /// `roles`: `admin` is admin; `member` (or the legacy `_member_`)
    /// may write; anything else, `reader` included, is read-only.
    pub fn from_roles<S: AsRef<str>>(project: Option<ProjectId>, roles: &[S]) -> Self {
        let has = |r: &str| roles.iter().any(|x| x.as_ref().eq_ignore_ascii_case(r));
        let is_admin = has("admin");
        Self {
            project,
            is_admin,
            read_only: !is_admin && !has("member") && !has("_member_"),
        }
    }

    /// Whether the caller's project owns `image`.
    pub fn owns(&self, image: &Image) -> bool {
        matches!((&self.project, &image.owner), (Some(p), Some(o)) if p == o)
    }

    /// Whether the caller may change anything at all (not read-only).
    pub fn can_write(&self) -> bool {
        self.is_admin || !self.read_only
    }
}

/// Checks that `caller` may write at all; [`Error::Forbidden`] for
/// read-only callers.
pub fn check_write(caller: &Caller) -> Result<()> {
    if caller.can_write() {
        Ok(())
    } else {
        Err(Error::forbidden("the reader role may not change images"))
    }
}

/// Which images a listing includes by visibility (`visibility=` filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VisibilityFilter {
    /// No filter: public, own, accepted shared (and everything for admins).
    #[default]
    Default,
    /// Only images of this visibility that the caller may see.
    Only(Visibility),
    /// `visibility=all`: also community images of others.
    All,
}

/// Which shared images a listing includes for a member (`member_status=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatusFilter {
    /// Only shares with this status.
    Only(MemberStatus),
    /// `member_status=all`.
    All,
}

impl Default for MemberStatusFilter {
    fn default() -> Self {
        Self::Only(MemberStatus::Accepted)
    }
}

/// Whether `caller` may read `image` by id (show, download, boot).
/// `member` is the caller project's member record on the image, if any.
/// Deleted images are visible to no one.
pub fn can_read(image: &Image, caller: &Caller, member: Option<MemberStatus>) -> bool {
    if image.status == ImageStatus::Deleted {
        return false;
    }
    if caller.is_admin || caller.owns(image) {
        return true;
    }
    match image.visibility {
        Visibility::Public | Visibility::Community => true,
        Visibility::Shared => member.is_some(),
        Visibility::Private => false,
    }
}

/// Whether `image` appears in `caller`'s listing under the given filters.
pub fn is_listed(
    image: &Image,
    caller: &Caller,
    member: Option<MemberStatus>,
    visibility: VisibilityFilter,
    member_status: MemberStatusFilter,
) -> bool {
    if !can_read(image, caller, member) {
        return false;
    }
    if let VisibilityFilter::Only(v) = visibility {
        if image.visibility != v {
            return false;
        }
    }
    if caller.is_admin || caller.owns(image) {
        return true;
    }
    match image.visibility {
        Visibility::Public => true,
        Visibility::Community => visibility != VisibilityFilter::Default,
        Visibility::Shared => match (member, member_status) {
            (Some(_), MemberStatusFilter::All) => true,
            (Some(s), MemberStatusFilter::Only(want)) => s == want,
            (None, _) => false,
        },
        Visibility::Private => false,
    }
}

/// Checks that `caller` may read `image`; else [`Error::NotFound`].
pub fn check_read(image: &Image, caller: &Caller, member: Option<MemberStatus>) -> Result<()> {
    if can_read(image, caller, member) {
        Ok(())
    } else {
        Err(Error::not_found(format!("image {}", image.id)))
    }
}

/// Checks that `caller` may modify `image` (update, upload, deactivate,
/// manage members): the owner or an admin. Readers who may not modify get
/// [`Error::Forbidden`]; others [`Error::NotFound`].
pub fn check_modify(image: &Image, caller: &Caller, member: Option<MemberStatus>) -> Result<()> {
    check_read(image, caller, member)?;
    check_write(caller)?;
    if caller.is_admin || caller.owns(image) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "not allowed to modify image {}",
            image.id
        )))
    }
}

/// Checks that `caller` may give an image visibility `to`: only admins may
/// publicize (`publicize_image`); any owner may set the others.
pub fn check_set_visibility(caller: &Caller, to: Visibility) -> Result<()> {
    if to == Visibility::Public && !caller.is_admin {
        return Err(Error::forbidden("only admins may publicize images"));
    }
    Ok(())
}

/// Checks that `caller` may delete `image`: it may modify it and the image
/// is not protected.
pub fn check_delete(image: &Image, caller: &Caller, member: Option<MemberStatus>) -> Result<()> {
    check_modify(image, caller, member)?;
    if image.protected {
        return Err(Error::forbidden(format!(
            "image {} is protected and cannot be deleted",
            image.id
        )));
    }
    Ok(())
}

/// Checks that `caller` may download the data: it may read the image and,
/// unless admin, the image is not deactivated.
pub fn check_download(image: &Image, caller: &Caller, member: Option<MemberStatus>) -> Result<()> {
    check_read(image, caller, member)?;
    if image.status == ImageStatus::Deactivated && !caller.is_admin {
        return Err(Error::forbidden(format!(
            "image {} is deactivated; only admins may download it",
            image.id
        )));
    }
    Ok(())
}

/// Checks that `caller`, who can read `image`, may add or remove its
/// members: the owner or an admin (`Forbidden` otherwise, members
/// included), and the image is `shared`.
pub fn check_manage_members(image: &Image, caller: &Caller) -> Result<()> {
    check_write(caller)?;
    if !(caller.is_admin || caller.owns(image)) {
        return Err(Error::forbidden(format!(
            "not allowed to manage members of image {}",
            image.id
        )));
    }
    if image.visibility != Visibility::Shared {
        return Err(Error::forbidden(format!(
            "not allowed to create members for image {}: visibility is {}",
            image.id, image.visibility
        )));
    }
    Ok(())
}

/// Checks that `caller` may set the status of `member` on an image: only
/// the member project itself (or an admin); the owner cannot accept for it.
pub fn check_set_member_status(image: &Image, caller: &Caller, member: &ProjectId) -> Result<()> {
    check_write(caller)?;
    if caller.is_admin || caller.project.as_ref() == Some(member) {
        return Ok(());
    }
    Err(Error::forbidden(format!(
        "only project {member} may change its membership of image {}",
        image.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ProjectId {
        ProjectId::new(s).unwrap()
    }

    fn image(vis: Visibility) -> Image {
        let mut img = Image::new(ImageId::new_v4(), Some(p("owner")), 0);
        img.visibility = vis;
        img
    }

    fn owner() -> Caller {
        Caller::project(p("owner"))
    }
    fn other() -> Caller {
        Caller::project(p("other"))
    }
    fn admin() -> Caller {
        Caller::admin(p("admins"))
    }

    const D: VisibilityFilter = VisibilityFilter::Default;

    fn listed(img: &Image, c: &Caller, m: Option<MemberStatus>) -> bool {
        is_listed(img, c, m, D, MemberStatusFilter::default())
    }

    #[test]
    fn public_is_readable_and_listed_for_everyone() {
        let img = image(Visibility::Public);
        for c in [owner(), other(), admin()] {
            assert!(can_read(&img, &c, None));
            assert!(listed(&img, &c, None));
        }
    }

    #[test]
    fn private_is_owner_and_admin_only() {
        let img = image(Visibility::Private);
        assert!(can_read(&img, &owner(), None) && listed(&img, &owner(), None));
        assert!(can_read(&img, &admin(), None) && listed(&img, &admin(), None));
        assert!(!can_read(&img, &other(), None) && !listed(&img, &other(), None));
        assert!(matches!(
            check_read(&img, &other(), None),
            Err(Error::NotFound { .. })
        ));
        let anon = Caller::anonymous();
        assert!(!can_read(&img, &anon, None));
    }

    #[test]
    fn community_is_readable_by_id_but_listed_only_on_request() {
        let img = image(Visibility::Community);
        assert!(can_read(&img, &other(), None));
        assert!(!listed(&img, &other(), None));
        assert!(listed(&img, &owner(), None));
        let all = MemberStatusFilter::default();
        assert!(is_listed(&img, &other(), None, VisibilityFilter::All, all));
        assert!(is_listed(
            &img,
            &other(),
            None,
            VisibilityFilter::Only(Visibility::Community),
            all
        ));
        assert!(!is_listed(
            &img,
            &other(),
            None,
            VisibilityFilter::Only(Visibility::Public),
            all
        ));
    }

    #[test]
    fn shared_is_readable_by_members_whatever_the_status_and_listed_by_status() {
        let img = image(Visibility::Shared);
        assert!(!can_read(&img, &other(), None));
        for s in MemberStatus::ALL {
            assert!(can_read(&img, &other(), Some(s)));
            assert_eq!(listed(&img, &other(), Some(s)), s == MemberStatus::Accepted);
            assert!(is_listed(
                &img,
                &other(),
                Some(s),
                D,
                MemberStatusFilter::All
            ));
            assert_eq!(
                is_listed(
                    &img,
                    &other(),
                    Some(s),
                    D,
                    MemberStatusFilter::Only(MemberStatus::Pending)
                ),
                s == MemberStatus::Pending
            );
        }
        assert!(listed(&img, &owner(), None));
    }

    #[test]
    fn deleted_images_are_visible_to_no_one() {
        let mut img = image(Visibility::Public);
        img.status = ImageStatus::Deleted;
        for c in [owner(), other(), admin()] {
            assert!(!can_read(&img, &c, None));
        }
    }

    #[test]
    fn only_admin_may_publicize() {
        for v in Visibility::ALL {
            assert!(check_set_visibility(&admin(), v).is_ok());
            let r = check_set_visibility(&owner(), v);
            assert_eq!(r.is_err(), v == Visibility::Public, "{v}");
        }
        assert!(matches!(
            check_set_visibility(&owner(), Visibility::Public),
            Err(Error::Forbidden { .. })
        ));
    }

    #[test]
    fn modify_is_owner_or_admin() {
        let img = image(Visibility::Public);
        assert!(check_modify(&img, &owner(), None).is_ok());
        assert!(check_modify(&img, &admin(), None).is_ok());
        assert!(matches!(
            check_modify(&img, &other(), None),
            Err(Error::Forbidden { .. })
        ));
        let img = image(Visibility::Private);
        assert!(matches!(
            check_modify(&img, &other(), None),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn protected_images_cannot_be_deleted_even_by_admin() {
        let mut img = image(Visibility::Private);
        assert!(check_delete(&img, &owner(), None).is_ok());
        img.protected = true;
        for c in [owner(), admin()] {
            match check_delete(&img, &c, None) {
                Err(Error::Forbidden { reason }) => assert!(reason.contains("is protected")),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn deactivated_download_is_admin_only() {
        let mut img = image(Visibility::Public);
        img.status = ImageStatus::Deactivated;
        assert!(check_download(&img, &admin(), None).is_ok());
        assert!(matches!(
            check_download(&img, &owner(), None),
            Err(Error::Forbidden { .. })
        ));
        img.status = ImageStatus::Active;
        assert!(check_download(&img, &other(), None).is_ok());
    }

    #[test]
    fn members_only_on_shared_images_by_owner() {
        for v in Visibility::ALL {
            let img = image(v);
            assert_eq!(
                check_manage_members(&img, &owner()).is_ok(),
                v == Visibility::Shared
            );
        }
        let img = image(Visibility::Shared);
        assert!(check_manage_members(&img, &other()).is_err());
        assert!(check_manage_members(&img, &admin()).is_ok());
    }

    #[test]
    fn readers_read_but_never_write() {
        let reader = Caller::reader(p("owner"));
        let img = image(Visibility::Private);
        assert!(can_read(&img, &reader, None));
        assert!(check_download(&img, &reader, None).is_ok());
        assert!(matches!(
            check_modify(&img, &reader, None),
            Err(Error::Forbidden { .. })
        ));
        assert!(check_delete(&img, &reader, None).is_err());
        let shared = image(Visibility::Shared);
        assert!(check_manage_members(&shared, &reader).is_err());
        let m = p("other");
        assert!(check_set_member_status(&shared, &Caller::reader(m.clone()), &m).is_err());
        // A reader of another project still gets 404 for private images.
        assert!(matches!(
            check_modify(&img, &Caller::reader(p("x")), None),
            Err(Error::NotFound { .. })
        ));
        let c = Caller::from_roles(Some(p("a")), &["reader"]);
        assert!(c.read_only && !c.is_admin);
        let c = Caller::from_roles(Some(p("a")), &["reader", "member"]);
        assert!(!c.read_only && c.can_write());
        let c = Caller::from_roles(Some(p("a")), &["admin"]);
        assert!(c.is_admin && c.can_write());
    }

    #[test]
    fn member_status_is_set_by_the_member_only() {
        let img = image(Visibility::Shared);
        let m = p("other");
        assert!(check_set_member_status(&img, &other(), &m).is_ok());
        assert!(check_set_member_status(&img, &admin(), &m).is_ok());
        assert!(matches!(
            check_set_member_status(&img, &owner(), &m),
            Err(Error::Forbidden { .. })
        ));
        assert_eq!(
            "accepted".parse::<MemberStatus>().unwrap(),
            MemberStatus::Accepted
        );
        assert!("maybe".parse::<MemberStatus>().is_err());
    }
}
