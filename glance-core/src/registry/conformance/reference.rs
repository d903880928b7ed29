//! Listing checked against the reference semantics of
//! [`crate::registry::list`] on generated data.

use std::collections::HashMap;

use super::super::list::select;
use super::super::{ImageRegistry, ListOptions, SortDir, SortKey};
use crate::error::Error;
use crate::image::access::{Caller, MemberStatusFilter, VisibilityFilter};
use crate::image::{
    DiskFormat, Image, ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId, Visibility,
};

/// A small seeded generator: the scenario is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const KEYS: [SortKey; 12] = [
    SortKey::Name,
    SortKey::Status,
    SortKey::ContainerFormat,
    SortKey::DiskFormat,
    SortKey::Size,
    SortKey::Id,
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::Visibility,
    SortKey::Owner,
    SortKey::MinDisk,
    SortKey::MinRam,
];

fn p(s: &str) -> ProjectId {
    ProjectId::new(s).unwrap()
}

fn ids(r: &Result<Vec<Image>, Error>) -> Result<Vec<ImageId>, &'static str> {
    match r {
        Ok(v) => Ok(v.iter().map(|i| i.id).collect()),
        Err(Error::InvalidInput { .. }) => Err("InvalidInput"),
        Err(_) => Err("other error"),
    }
}

/// For many combinations of caller, filters, sort keys (over unset fields
/// and ties too), marker and limit, `list` returns what the in-memory
/// reference returns, and paging with the last id as marker walks the
/// whole listing. The registry must start empty.
pub async fn list_matches_reference(r: &dyn ImageRegistry) {
    let mut rng = Lcg(0x5eed);
    let owners = [None, Some(p("a")), Some(p("b")), Some(p("c"))];
    let mut images = Vec::new();
    for _ in 0..24 {
        let mut img = Image::new(ImageId::new_v4(), rng.pick(&owners), rng.below(6) as u64);
        img.name = rng.pick(&[None, Some("n1".to_owned()), Some("n2".to_owned())]);
        img.size = rng.pick(&[None, Some(0), Some(7), Some(7)]);
        img.visibility = rng.pick(&Visibility::ALL);
        img.status = rng.pick(&[
            ImageStatus::Queued,
            ImageStatus::Active,
            ImageStatus::Active,
            ImageStatus::Deleted,
        ]);
        img.os_hidden = rng.below(6) == 0;
        img.disk_format = rng.pick(&[None, Some(DiskFormat::Raw), Some(DiskFormat::Qcow2)]);
        img.min_ram = rng.below(3) as u64;
        img.updated_at = rng.below(4) as u64;
        for t in ["t1", "t2"] {
            if rng.below(3) == 0 {
                img.tags.insert(t.to_owned());
            }
        }
        r.create(&img).await.unwrap();
        images.push(img);
    }
    let mut members: Vec<ImageMember> = Vec::new();
    for img in &images {
        for who in ["b", "c"] {
            if rng.below(2) == 0 {
                let m = ImageMember {
                    image_id: img.id,
                    member: p(who),
                    status: rng.pick(&MemberStatus::ALL),
                    created_at: 1,
                    updated_at: 1,
                };
                r.add_member(&m).await.unwrap();
                members.push(m);
            }
        }
    }
    let callers = [
        None,
        Some(Caller::project(p("a"))),
        Some(Caller::project(p("b"))),
        Some(Caller::admin(p("c"))),
        Some(Caller::anonymous()),
    ];
    let visibilities = [
        VisibilityFilter::Default,
        VisibilityFilter::All,
        VisibilityFilter::Only(Visibility::Shared),
        VisibilityFilter::Only(Visibility::Community),
    ];
    for _ in 0..150 {
        let caller = rng.pick(&callers);
        let project = caller.as_ref().and_then(|c| c.project.clone());
        let their: HashMap<ImageId, MemberStatus> = members
            .iter()
            .filter(|m| Some(&m.member) == project.as_ref())
            .map(|m| (m.image_id, m.status))
            .collect();
        let mut opts = ListOptions {
            caller,
            visibility: rng.pick(&visibilities),
            member_status: rng.pick(&[
                MemberStatusFilter::default(),
                MemberStatusFilter::All,
                MemberStatusFilter::Only(MemberStatus::Pending),
            ]),
            status: rng.pick(&[
                None,
                None,
                Some(ImageStatus::Active),
                Some(ImageStatus::Deleted),
            ]),
            owner: rng.pick(&[None, None, Some(p("a"))]),
            name: rng.pick(&[None, None, Some("n1".to_owned())]),
            tags: rng.pick(&[
                vec![],
                vec![],
                vec!["t1".to_owned()],
                vec!["t1".to_owned(), "t2".to_owned()],
            ]),
            os_hidden: rng.pick(&[None, None, Some(true), Some(false)]),
            sort: (0..rng.below(4))
                .map(|_| (rng.pick(&KEYS), rng.pick(&[SortDir::Asc, SortDir::Desc])))
                .collect(),
            ..ListOptions::default()
        };
        let whole = select(images.clone(), &their, &opts);
        assert_eq!(ids(&r.list(&opts).await), ids(&whole), "{opts:?}");
        // A marker anywhere (listed or not) and a limit.
        opts.marker = Some(rng.pick(&images).id);
        opts.limit = rng.pick(&[None, Some(1), Some(3)]);
        let want = select(images.clone(), &their, &opts);
        assert_eq!(ids(&r.list(&opts).await), ids(&want), "{opts:?}");
        // Paging with the last id as marker walks the whole listing.
        let Ok(whole) = whole else { continue };
        opts.marker = None;
        opts.limit = Some(4);
        let mut walked = Vec::new();
        loop {
            let page = r.list(&opts).await.unwrap();
            walked.extend(page.iter().map(|i| i.id));
            match page.last() {
                Some(last) if page.len() == 4 => opts.marker = Some(last.id),
                _ => break,
            }
        }
        assert_eq!(walked, whole.iter().map(|i| i.id).collect::<Vec<_>>());
    }
}
