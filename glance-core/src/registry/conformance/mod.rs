//! The conformance suite every [`ImageRegistry`] must pass. The registry
//! must be empty at the start; each scenario asserts a sentence of the
//! trait's contract.
#![allow(clippy::unwrap_used)]

use super::{ImageRegistry, ListOptions, SortDir, SortKey};
use crate::error::Error;
use crate::image::access::{Caller, MemberStatusFilter, VisibilityFilter};
use crate::image::{Image, ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId, Visibility};

/// Runs every scenario against `r` (which must start empty).
pub async fn run_all(r: &dyn ImageRegistry) {
    create_then_get_round_trips(r).await;
    create_twice_is_already_exists(r).await;
    update_is_optimistic_on_status(r).await;
    delete_removes_record_and_members(r).await;
    members_crud(r).await;
    tags_add_is_idempotent_and_delete_reports_missing(r).await;
    // Listing scenarios need a registry holding only their own images.
    clear(r).await;
    list_filters_sorts_and_pages(r).await;
    clear(r).await;
    list_applies_visibility_policy(r).await;
    clear(r).await;
    reference::list_matches_reference(r).await;
    list_applies_extra_filters(r).await;
}

/// Every [`ListFilter`](super::ListFilter) in `filters` must hold:
/// one-of on wire values, size bounds, times, `protected`, custom properties.
pub async fn list_applies_extra_filters(r: &dyn ImageRegistry) {
    use super::{FilterField, ListFilter, TimeOp};
    clear(r).await;
    let mut a = image("p1", 100);
    a.name = Some("a".into());
    a.size = Some(10);
    a.protected = true;
    a.properties.insert("os_distro".into(), "cirros".into());
    let mut b = image("p1", 200);
    b.name = Some("b".into());
    b.size = Some(1000);
    b.disk_format = Some(crate::image::DiskFormat::Qcow2);
    let mut c = image("p1", 300);
    c.name = Some("c".into());
    for i in [&a, &b, &c] {
        r.create(i).await.unwrap();
    }
    let names = |filters: Vec<ListFilter>| async move {
        let opts = ListOptions {
            filters,
            sort: vec![(SortKey::Name, SortDir::Asc)],
            ..ListOptions::default()
        };
        r.list(&opts)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let one_of = |field, v: &[&str]| ListFilter::OneOf {
        field,
        values: v.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        names(vec![one_of(FilterField::Name, &["a", "c"])]).await,
        ["a", "c"]
    );
    assert_eq!(
        names(vec![one_of(FilterField::DiskFormat, &["qcow2"])]).await,
        ["b"]
    );
    assert_eq!(
        names(vec![ListFilter::SizeMin(10), ListFilter::SizeMax(999)]).await,
        ["a"]
    );
    let after = ListFilter::Time {
        updated: false,
        op: TimeOp::Gt,
        secs: 150,
    };
    assert_eq!(names(vec![after]).await, ["b", "c"]);
    assert_eq!(names(vec![ListFilter::Protected(true)]).await, ["a"]);
    let distro = ListFilter::Property {
        key: "os_distro".into(),
        value: "cirros".into(),
    };
    assert_eq!(names(vec![distro]).await, ["a"]);
    assert!(names(vec![one_of(FilterField::Status, &["active"])])
        .await
        .is_empty());
}

mod reference;
pub use reference::list_matches_reference;

fn p(s: &str) -> ProjectId {
    ProjectId::new(s).unwrap()
}

fn image(owner: &str, created_at: u64) -> Image {
    Image::new(ImageId::new_v4(), Some(p(owner)), created_at)
}

pub(super) async fn clear(r: &dyn ImageRegistry) {
    let all = ListOptions {
        status: None,
        ..ListOptions::default()
    };
    for st in ImageStatus::ALL {
        let opts = ListOptions {
            status: Some(st),
            os_hidden: None,
            ..all.clone()
        };
        for img in r.list(&opts).await.unwrap() {
            r.delete(&img.id).await.unwrap();
        }
        let hidden = ListOptions {
            status: Some(st),
            os_hidden: Some(true),
            ..all.clone()
        };
        for img in r.list(&hidden).await.unwrap() {
            r.delete(&img.id).await.unwrap();
        }
    }
}

/// A created record reads back equal, with every field kept.
pub async fn create_then_get_round_trips(r: &dyn ImageRegistry) {
    let mut img = image("p1", 10);
    img.name = Some("cirros".into());
    img.tags.insert("t1".into());
    img.properties.insert("hw_disk_bus".into(), "virtio".into());
    img.disk_format = Some(crate::image::DiskFormat::Qcow2);
    img.size = Some(42);
    r.create(&img).await.unwrap();
    assert_eq!(r.get(&img.id).await.unwrap(), img);
    assert!(matches!(
        r.get(&ImageId::new_v4()).await,
        Err(Error::NotFound { .. })
    ));
}

/// A second create with the same id is `AlreadyExists`.
pub async fn create_twice_is_already_exists(r: &dyn ImageRegistry) {
    let img = image("p1", 1);
    r.create(&img).await.unwrap();
    assert!(matches!(
        r.create(&img).await,
        Err(Error::AlreadyExists { .. })
    ));
}

/// Update replaces the record only when the stored status is the expected
/// one; otherwise `Conflict` and nothing changes. Missing is `NotFound`.
pub async fn update_is_optimistic_on_status(r: &dyn ImageRegistry) {
    let mut img = image("p1", 1);
    r.create(&img).await.unwrap();
    img.status = ImageStatus::Saving;
    r.update(&img, ImageStatus::Queued).await.unwrap();
    let mut stale = img.clone();
    stale.status = ImageStatus::Active;
    stale.name = Some("stale".into());
    assert!(matches!(
        r.update(&stale, ImageStatus::Queued).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(r.get(&img.id).await.unwrap(), img);
    let missing = image("p1", 1);
    assert!(matches!(
        r.update(&missing, ImageStatus::Queued).await,
        Err(Error::NotFound { .. })
    ));
}

/// Delete removes the record and its members; a second delete is `NotFound`.
pub async fn delete_removes_record_and_members(r: &dyn ImageRegistry) {
    let img = image("p1", 1);
    r.create(&img).await.unwrap();
    r.add_member(&member(&img.id, "p2")).await.unwrap();
    r.delete(&img.id).await.unwrap();
    assert!(matches!(r.get(&img.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        r.get_member(&img.id, &p("p2")).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.delete(&img.id).await,
        Err(Error::NotFound { .. })
    ));
}

fn member(id: &ImageId, project: &str) -> ImageMember {
    ImageMember {
        image_id: *id,
        member: p(project),
        status: MemberStatus::Pending,
        created_at: 5,
        updated_at: 5,
    }
}

/// Members: add (duplicate `AlreadyExists`, missing image `NotFound`), get,
/// list ordered by project, set status, delete.
pub async fn members_crud(r: &dyn ImageRegistry) {
    let img = image("p1", 1);
    r.create(&img).await.unwrap();
    let missing = member(&ImageId::new_v4(), "p2");
    assert!(matches!(
        r.add_member(&missing).await,
        Err(Error::NotFound { .. })
    ));
    for m in ["p3", "p2"] {
        r.add_member(&member(&img.id, m)).await.unwrap();
    }
    assert!(matches!(
        r.add_member(&member(&img.id, "p2")).await,
        Err(Error::AlreadyExists { .. })
    ));
    let listed: Vec<String> = r
        .list_members(&img.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.member.to_string())
        .collect();
    assert_eq!(listed, ["p2", "p3"]);
    let m = r
        .set_member_status(&img.id, &p("p2"), MemberStatus::Accepted, 9)
        .await
        .unwrap();
    assert_eq!(
        (m.status, m.created_at, m.updated_at),
        (MemberStatus::Accepted, 5, 9)
    );
    assert_eq!(r.get_member(&img.id, &p("p2")).await.unwrap(), m);
    assert!(matches!(
        r.set_member_status(&img.id, &p("p9"), MemberStatus::Accepted, 9)
            .await,
        Err(Error::NotFound { .. })
    ));
    r.delete_member(&img.id, &p("p3")).await.unwrap();
    assert!(matches!(
        r.delete_member(&img.id, &p("p3")).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(r.list_members(&img.id).await.unwrap().len(), 1);
    assert!(matches!(
        r.list_members(&ImageId::new_v4()).await,
        Err(Error::NotFound { .. })
    ));
}

/// Adding a tag twice keeps one; deleting a missing tag is `NotFound`.
pub async fn tags_add_is_idempotent_and_delete_reports_missing(r: &dyn ImageRegistry) {
    let img = image("p1", 1);
    r.create(&img).await.unwrap();
    r.add_tag(&img.id, "a").await.unwrap();
    r.add_tag(&img.id, "a").await.unwrap();
    r.add_tag(&img.id, "b").await.unwrap();
    let tags: Vec<String> = r.get(&img.id).await.unwrap().tags.into_iter().collect();
    assert_eq!(tags, ["a", "b"]);
    r.delete_tag(&img.id, "a").await.unwrap();
    assert!(matches!(
        r.delete_tag(&img.id, "a").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.add_tag(&ImageId::new_v4(), "a").await,
        Err(Error::NotFound { .. })
    ));
}

fn ids(v: &[Image]) -> Vec<ImageId> {
    v.iter().map(|i| i.id).collect()
}

/// Filters by status, owner, name and tag; default order is newest first;
/// sort keys and directions apply; marker and limit page without gaps or
/// repeats; a bad marker is `InvalidInput`; deleted and hidden images are
/// left out by default.
pub async fn list_filters_sorts_and_pages(r: &dyn ImageRegistry) {
    let mut imgs = Vec::new();
    for i in 0..7u64 {
        let mut img = image(if i % 2 == 0 { "even" } else { "odd" }, 100 + i);
        img.name = Some(format!("img-{}", i % 3));
        img.size = Some(1000 - i);
        if i == 3 {
            img.tags.insert("gold".into());
        }
        img.status = if i == 6 {
            ImageStatus::Active
        } else {
            ImageStatus::Queued
        };
        r.create(&img).await.unwrap();
        imgs.push(img);
    }
    let mut deleted = image("even", 50);
    deleted.status = ImageStatus::Deleted;
    r.create(&deleted).await.unwrap();
    let mut hidden = image("even", 51);
    hidden.os_hidden = true;
    r.create(&hidden).await.unwrap();

    let all = r.list(&ListOptions::default()).await.unwrap();
    let newest_first: Vec<ImageId> = imgs.iter().rev().map(|i| i.id).collect();
    assert_eq!(ids(&all), newest_first);

    let q = |f: fn(&mut ListOptions)| {
        let mut o = ListOptions::default();
        f(&mut o);
        o
    };
    let active = r
        .list(&q(|o| o.status = Some(ImageStatus::Active)))
        .await
        .unwrap();
    assert_eq!(ids(&active), [imgs[6].id]);
    let gone = r
        .list(&q(|o| o.status = Some(ImageStatus::Deleted)))
        .await
        .unwrap();
    assert_eq!(ids(&gone), [deleted.id]);
    let hid = r.list(&q(|o| o.os_hidden = Some(true))).await.unwrap();
    assert_eq!(ids(&hid), [hidden.id]);
    let odd = r.list(&q(|o| o.owner = Some(p("odd")))).await.unwrap();
    assert_eq!(ids(&odd), [imgs[5].id, imgs[3].id, imgs[1].id]);
    let named = r.list(&q(|o| o.name = Some("img-0".into()))).await.unwrap();
    assert_eq!(ids(&named), [imgs[6].id, imgs[3].id, imgs[0].id]);
    let gold = r.list(&q(|o| o.tags = vec!["gold".into()])).await.unwrap();
    assert_eq!(ids(&gold), [imgs[3].id]);

    let by_size = r
        .list(&q(|o| o.sort = vec![(SortKey::Size, SortDir::Asc)]))
        .await
        .unwrap();
    assert_eq!(ids(&by_size), newest_first);
    let by_name = r
        .list(&q(|o| {
            o.sort = vec![
                (SortKey::Name, SortDir::Asc),
                (SortKey::CreatedAt, SortDir::Asc),
            ]
        }))
        .await
        .unwrap();
    let want: Vec<ImageId> = [0, 3, 6, 1, 4, 2, 5].iter().map(|&i| imgs[i].id).collect();
    assert_eq!(ids(&by_name), want);

    let mut paged = Vec::new();
    let mut marker = None;
    loop {
        let opts = ListOptions {
            marker,
            limit: Some(3),
            ..ListOptions::default()
        };
        let page = r.list(&opts).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        marker = page.last().map(|i| i.id);
        paged.extend(ids(&page));
    }
    assert_eq!(paged, newest_first);
    let bad = ListOptions {
        marker: Some(ImageId::new_v4()),
        ..ListOptions::default()
    };
    assert!(matches!(
        r.list(&bad).await,
        Err(Error::InvalidInput { .. })
    ));
}

/// With a caller, the listing follows the visibility rules: public and own
/// images, shared ones by member status, community only on request.
pub async fn list_applies_visibility_policy(r: &dyn ImageRegistry) {
    let mk = |vis: Visibility, t: u64| {
        let mut img = image("owner", t);
        img.visibility = vis;
        img
    };
    let public = mk(Visibility::Public, 1);
    let private = mk(Visibility::Private, 2);
    let shared = mk(Visibility::Shared, 3);
    let community = mk(Visibility::Community, 4);
    let pending = mk(Visibility::Shared, 5);
    for img in [&public, &private, &shared, &community, &pending] {
        r.create(img).await.unwrap();
    }
    let mut m = member(&shared.id, "other");
    m.status = MemberStatus::Accepted;
    r.add_member(&m).await.unwrap();
    r.add_member(&member(&pending.id, "other")).await.unwrap();

    let other = Caller::project(p("other"));
    let list = |vis: VisibilityFilter, ms: MemberStatusFilter, c: Caller| {
        let opts = ListOptions {
            visibility: vis,
            member_status: ms,
            ..ListOptions::for_caller(c)
        };
        async move { ids(&r.list(&opts).await.unwrap()) }
    };
    let d = VisibilityFilter::Default;
    let acc = MemberStatusFilter::default();
    assert_eq!(list(d, acc, other.clone()).await, [shared.id, public.id]);
    assert_eq!(
        list(d, MemberStatusFilter::All, other.clone()).await,
        [pending.id, shared.id, public.id]
    );
    assert_eq!(
        list(VisibilityFilter::All, acc, other.clone()).await,
        [community.id, shared.id, public.id]
    );
    assert_eq!(
        list(
            VisibilityFilter::Only(Visibility::Community),
            acc,
            other.clone()
        )
        .await,
        [community.id]
    );
    let stranger = Caller::project(p("stranger"));
    assert_eq!(list(d, acc, stranger).await, [public.id]);
    let owner = Caller::project(p("owner"));
    assert_eq!(list(d, acc, owner).await.len(), 5);
    let admin = Caller::admin(p("admins"));
    assert_eq!(list(d, acc, admin).await.len(), 5);
}
