//! Members: Glance's sharing rules.

use std::sync::Arc;

use super::*;
use crate::image::{ImageMember, ProjectId};
use crate::registry::{ListOptions, MemoryImageRegistry};
use crate::store::{MemoryImageStore, Stores};

fn p(s: &str) -> ProjectId {
    ProjectId::new(s).unwrap()
}

fn service(member_quota: usize) -> ImageService {
    let quota = QuotaConfig {
        image_member_quota: member_quota,
        ..QuotaConfig::default()
    };
    let stores = Stores::new("mem", Arc::new(MemoryImageStore::new()));
    ImageService::new(Arc::new(MemoryImageRegistry::new()), stores, quota).unwrap()
}

fn status(ms: &[ImageMember]) -> Vec<(String, MemberStatus)> {
    ms.iter()
        .map(|m| (m.member.to_string(), m.status))
        .collect()
}

#[tokio::test]
async fn owner_shares_member_answers_and_listing_follows_status() {
    let svc = service(2);
    let owner = Caller::project(p("demo"));
    let bob = Caller::project(p("bob"));
    let eve = Caller::project(p("eve"));
    let img = svc.create(&owner, CreateImage::default()).await.unwrap();
    assert!(matches!(
        svc.get(&bob, &img.id).await,
        Err(Error::NotFound { .. })
    ));

    let m = svc.add_member(&owner, &img.id, p("bob")).await.unwrap();
    assert_eq!(m.status, MemberStatus::Pending);
    assert!(matches!(
        svc.add_member(&owner, &img.id, p("bob")).await,
        Err(Error::AlreadyExists { .. })
    ));
    // Bob may see the image by id now, but it is listed only once accepted.
    assert!(svc.get(&bob, &img.id).await.is_ok());
    assert!(svc
        .list(&bob, ListOptions::default())
        .await
        .unwrap()
        .is_empty());
    let pending = ListOptions {
        member_status: crate::image::access::MemberStatusFilter::Only(MemberStatus::Pending),
        ..ListOptions::default()
    };
    assert_eq!(svc.list(&bob, pending).await.unwrap().len(), 1);

    // Only bob sets bob's status; bob cannot add members.
    assert!(matches!(
        svc.set_member_status(&owner, &img.id, &p("bob"), MemberStatus::Accepted)
            .await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        svc.add_member(&bob, &img.id, p("eve")).await,
        Err(Error::Forbidden { .. })
    ));
    let m = svc
        .set_member_status(&bob, &img.id, &p("bob"), MemberStatus::Accepted)
        .await
        .unwrap();
    assert_eq!(m.status, MemberStatus::Accepted);
    assert_eq!(
        svc.list(&bob, ListOptions::default()).await.unwrap().len(),
        1
    );

    // Member listing: the owner sees all, a member only itself, others nothing.
    svc.add_member(&owner, &img.id, p("carol")).await.unwrap();
    assert_eq!(
        status(&svc.list_members(&owner, &img.id).await.unwrap()),
        [
            ("bob".into(), MemberStatus::Accepted),
            ("carol".into(), MemberStatus::Pending)
        ]
    );
    assert_eq!(
        status(&svc.list_members(&bob, &img.id).await.unwrap()),
        [("bob".into(), MemberStatus::Accepted)]
    );
    assert!(matches!(
        svc.get_member(&bob, &img.id, &p("carol")).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        svc.list_members(&eve, &img.id).await,
        Err(Error::NotFound { .. })
    ));
    // The member quota.
    assert!(matches!(
        svc.add_member(&owner, &img.id, p("dave")).await,
        Err(Error::QuotaExceeded { .. })
    ));
    // Removal is the owner's.
    assert!(matches!(
        svc.delete_member(&bob, &img.id, &p("bob")).await,
        Err(Error::Forbidden { .. })
    ));
    svc.delete_member(&owner, &img.id, &p("bob")).await.unwrap();
    assert!(matches!(
        svc.get(&bob, &img.id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn only_shared_images_have_members() {
    let svc = service(128);
    let owner = Caller::project(p("demo"));
    for vis in [Visibility::Private, Visibility::Community] {
        let req = CreateImage {
            visibility: Some(vis),
            ..CreateImage::default()
        };
        let img = svc.create(&owner, req).await.unwrap();
        assert!(matches!(
            svc.add_member(&owner, &img.id, p("bob")).await,
            Err(Error::Forbidden { .. })
        ));
        assert!(matches!(
            svc.list_members(&owner, &img.id).await,
            Err(Error::Forbidden { .. })
        ));
    }
}
