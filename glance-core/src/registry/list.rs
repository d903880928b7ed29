//! Listing: filters, sort keys and marker/limit paging, shared by every
//! registry backend so they all order and page alike.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::image::access::{self, Caller, MemberStatusFilter, VisibilityFilter};
use crate::image::{Image, ImageId, ImageStatus, MemberStatus, ProjectId};

/// A sort key of `GET /v2/images?sort_key=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortKey {
    /// `name`
    Name,
    /// `status`
    Status,
    /// `container_format`
    ContainerFormat,
    /// `disk_format`
    DiskFormat,
    /// `size`
    Size,
    /// `id`
    Id,
    /// `created_at`
    CreatedAt,
    /// `updated_at`
    UpdatedAt,
    /// `visibility`
    Visibility,
    /// `owner`
    Owner,
    /// `min_disk`
    MinDisk,
    /// `min_ram`
    MinRam,
}

impl std::str::FromStr for SortKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "name" => Self::Name,
            "status" => Self::Status,
            "container_format" => Self::ContainerFormat,
            "disk_format" => Self::DiskFormat,
            "size" => Self::Size,
            "id" => Self::Id,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "visibility" => Self::Visibility,
            "owner" => Self::Owner,
            "min_disk" => Self::MinDisk,
            "min_ram" => Self::MinRam,
            _ => return Err(Error::invalid(format!("bad sort key {s:?}"))),
        })
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending, Glance's default.
    #[default]
    Desc,
}

impl std::str::FromStr for SortDir {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(Error::invalid(format!("bad sort dir {s:?}"))),
        }
    }
}

/// An image field that [`ListFilter::OneOf`] compares by its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterField {
    /// `id=`
    Id,
    /// `name=`
    Name,
    /// `status=`
    Status,
    /// `container_format=`
    ContainerFormat,
    /// `disk_format=`
    DiskFormat,
}

/// A timestamp comparison of `created_at=`/`updated_at=` (`gt:`, `gte:`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOp {
    /// `gt:`
    Gt,
    /// `gte:`
    Gte,
    /// `eq:`
    Eq,
    /// `neq:`
    Neq,
    /// `lt:`
    Lt,
    /// `lte:`
    Lte,
}

impl std::str::FromStr for TimeOp {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            _ => return Err(Error::invalid(format!("bad time operator {s:?}"))),
        })
    }
}

/// A further filter of `GET /v2/images`; all of them must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListFilter {
    /// The field's wire value is one of `values` (exact match or `in:a,b`).
    OneOf {
        /// The field.
        field: FilterField,
        /// Accepted values.
        values: Vec<String>,
    },
    /// `size_min=`: at least this many bytes (images without data never match).
    SizeMin(u64),
    /// `size_max=`: at most this many bytes.
    SizeMax(u64),
    /// `created_at=op:time` (`updated: false`) or `updated_at=` (`updated: true`),
    /// the time in seconds since the epoch.
    Time {
        /// Compare `updated_at` instead of `created_at`.
        updated: bool,
        /// The comparison.
        op: TimeOp,
        /// The time to compare with.
        secs: u64,
    },
    /// `protected=`.
    Protected(bool),
    /// A custom property equals this value.
    Property {
        /// The property name.
        key: String,
        /// The wanted value.
        value: String,
    },
}

fn field_value(img: &Image, field: FilterField) -> Option<String> {
    match field {
        FilterField::Id => Some(img.id.to_string()),
        FilterField::Name => img.name.clone(),
        FilterField::Status => Some(img.status.as_str().to_owned()),
        FilterField::ContainerFormat => img.container_format.map(|f| f.as_str().to_owned()),
        FilterField::DiskFormat => img.disk_format.map(|f| f.as_str().to_owned()),
    }
}

impl ListFilter {
    /// Whether `img` passes this filter.
    pub fn matches(&self, img: &Image) -> bool {
        match self {
            Self::OneOf { field, values } => {
                field_value(img, *field).is_some_and(|v| values.contains(&v))
            }
            Self::SizeMin(n) => img.size.is_some_and(|s| s >= *n),
            Self::SizeMax(n) => img.size.is_some_and(|s| s <= *n),
            Self::Time { updated, op, secs } => {
                let t = if *updated {
                    img.updated_at
                } else {
                    img.created_at
                };
                match op {
                    TimeOp::Gt => t > *secs,
                    TimeOp::Gte => t >= *secs,
                    TimeOp::Eq => t == *secs,
                    TimeOp::Neq => t != *secs,
                    TimeOp::Lt => t < *secs,
                    TimeOp::Lte => t <= *secs,
                }
            }
            Self::Protected(p) => img.protected == *p,
            Self::Property { key, value } => img.properties.get(key) == Some(value),
        }
    }
}

/// What [`super::ImageRegistry::list`] returns.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListOptions {
    /// Apply the listing policy for this caller; `None` lists every record
    /// (internal use, e.g. the scrubber).
    pub caller: Option<Caller>,
    /// `visibility=`.
    pub visibility: VisibilityFilter,
    /// `member_status=`.
    pub member_status: MemberStatusFilter,
    /// `status=`; without it deleted images are left out.
    pub status: Option<ImageStatus>,
    /// `owner=`.
    pub owner: Option<ProjectId>,
    /// `name=` (exact).
    pub name: Option<String>,
    /// `tag=` (each must be present).
    pub tags: Vec<String>,
    /// `os_hidden=`; `None` means only images that are not hidden.
    pub os_hidden: Option<bool>,
    /// Further filters; all must hold.
    pub filters: Vec<ListFilter>,
    /// Sort keys in order; empty means `created_at desc`. The id always
    /// breaks ties, in the direction of the last key.
    pub sort: Vec<(SortKey, SortDir)>,
    /// Start after this image.
    pub marker: Option<ImageId>,
    /// At most this many images.
    pub limit: Option<usize>,
}

impl ListOptions {
    /// Lists as `caller` sees it.
    pub fn for_caller(caller: Caller) -> Self {
        Self {
            caller: Some(caller),
            ..Self::default()
        }
    }
}

fn cmp_key(a: &Image, b: &Image, key: SortKey) -> Ordering {
    match key {
        SortKey::Name => a.name.cmp(&b.name),
        SortKey::Status => a.status.as_str().cmp(b.status.as_str()),
        SortKey::ContainerFormat => a
            .container_format
            .map(|f| f.as_str())
            .cmp(&b.container_format.map(|f| f.as_str())),
        SortKey::DiskFormat => a
            .disk_format
            .map(|f| f.as_str())
            .cmp(&b.disk_format.map(|f| f.as_str())),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Id => a.id.to_string().cmp(&b.id.to_string()),
        SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
        SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        SortKey::Visibility => a.visibility.as_str().cmp(b.visibility.as_str()),
        SortKey::Owner => a.owner.cmp(&b.owner),
        SortKey::MinDisk => a.min_disk.cmp(&b.min_disk),
        SortKey::MinRam => a.min_ram.cmp(&b.min_ram),
    }
}

fn matches(img: &Image, opts: &ListOptions, member: Option<MemberStatus>) -> bool {
    match opts.status {
        Some(s) if img.status != s => return false,
        None if img.status == ImageStatus::Deleted => return false,
        _ => {}
    }
    if opts
        .owner
        .as_ref()
        .is_some_and(|o| img.owner.as_ref() != Some(o))
        || opts
            .name
            .as_ref()
            .is_some_and(|n| img.name.as_ref() != Some(n))
        || !opts.tags.iter().all(|t| img.tags.contains(t))
        || img.os_hidden != opts.os_hidden.unwrap_or(false)
        || !opts.filters.iter().all(|f| f.matches(img))
    {
        return false;
    }
    match &opts.caller {
        Some(c) => access::is_listed(img, c, member, opts.visibility, opts.member_status),
        None => match opts.visibility {
            VisibilityFilter::Only(v) => img.visibility == v,
            _ => true,
        },
    }
}

/// Filters, sorts and pages `images`. `members` maps image ids to the
/// caller project's member status.
pub(crate) fn select(
    images: impl IntoIterator<Item = Image>,
    members: &HashMap<ImageId, MemberStatus>,
    opts: &ListOptions,
) -> Result<Vec<Image>> {
    let mut out: Vec<Image> = images
        .into_iter()
        .filter(|img| matches(img, opts, members.get(&img.id).copied()))
        .collect();
    let default_sort = [(SortKey::CreatedAt, SortDir::Desc)];
    let sort = if opts.sort.is_empty() {
        &default_sort[..]
    } else {
        &opts.sort[..]
    };
    let last_dir = sort.last().map(|s| s.1).unwrap_or_default();
    out.sort_by(|a, b| {
        sort.iter()
            .chain(std::iter::once(&(SortKey::Id, last_dir)))
            .map(|&(key, dir)| match dir {
                SortDir::Asc => cmp_key(a, b, key),
                SortDir::Desc => cmp_key(b, a, key),
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    if let Some(marker) = opts.marker {
        let pos = out
            .iter()
            .position(|i| i.id == marker)
            .ok_or_else(|| Error::invalid(format!("marker {marker} not found")))?;
        out.drain(..=pos);
    }
    if let Some(limit) = opts.limit {
        out.truncate(limit);
    }
    Ok(out)
}
