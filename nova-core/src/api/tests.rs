//! Unit tests of the facade methods that need no service.

use std::sync::Arc;

use super::*;
use crate::image::FakeImages;
use crate::model::{default_flavors, Flavor, FlavorId, Instance, UserId};

pub(crate) fn ctx(project: &str, admin: bool) -> RequestContext {
    let roles = if admin {
        vec!["admin".to_owned(), "member".to_owned()]
    } else {
        vec!["member".to_owned()]
    };
    RequestContext::new(
        UserId::new(format!("u-{project}")).unwrap(),
        ProjectId::new(project).unwrap(),
        roles,
    )
}

async fn api() -> ComputeApi {
    let db = crate::db::open("memory:").await.unwrap();
    for f in default_flavors() {
        db.create_flavor(&f).await.unwrap();
    }
    let (images, _) = FakeImages::with_cirros();
    ComputeApi::new(
        db,
        Arc::new(crate::InProcessBus::default()),
        Arc::new(images),
        ApiConfig::default(),
    )
}

#[tokio::test]
async fn flavors_by_id_or_name_and_admin_only_changes() {
    let api = api().await;
    let user = ctx("p1", false);
    let admin = ctx("adm", true);
    assert_eq!(api.list_flavors(&user).await.unwrap().len(), 5);
    assert_eq!(api.get_flavor(&user, "1").await.unwrap().name, "m1.tiny");
    assert_eq!(
        api.get_flavor(&user, "m1.small").await.unwrap().id.as_str(),
        "2"
    );
    assert!(matches!(
        api.get_flavor(&user, "nope").await,
        Err(Error::NotFound { .. })
    ));
    let f = Flavor::new(FlavorId::new("auto").unwrap(), "custom", 256, 1, 1).unwrap();
    assert!(matches!(
        api.create_flavor(&user, f.clone()).await,
        Err(Error::Forbidden { .. })
    ));
    let made = api.create_flavor(&admin, f).await.unwrap();
    assert_ne!(made.id.as_str(), "auto");
    assert_eq!(api.get_flavor(&user, "custom").await.unwrap().id, made.id);
    assert!(matches!(
        api.delete_flavor(&user, &made.id).await,
        Err(Error::Forbidden { .. })
    ));
    api.delete_flavor(&admin, &made.id).await.unwrap();
    assert_eq!(api.list_flavors(&user).await.unwrap().len(), 5);
}

#[tokio::test]
async fn key_pairs_import_generate_and_belong_to_their_user() {
    let api = api().await;
    let alice = ctx("p1", false);
    let bob = ctx("p2", false);
    let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABJPpdISiUqDl7dRddPiHyLbK1D41wnkvrykkPn4ak+ demo@host";
    let (k, private) = api
        .create_key_pair(&alice, "imported", Some(line))
        .await
        .unwrap();
    assert!(private.is_none());
    assert_eq!(
        k.fingerprint,
        "40:fb:db:e7:f7:fb:7f:d1:ca:74:92:26:df:23:62:93"
    );
    let (g, private) = api
        .create_key_pair(&alice, "generated", None)
        .await
        .unwrap();
    let private = private.unwrap();
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert!(g.public_key.starts_with("ssh-ed25519 "));
    assert!(matches!(
        api.create_key_pair(&alice, "generated", None).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert!(matches!(
        api.create_key_pair(&alice, "bad;name", None).await,
        Err(Error::InvalidInput { .. })
    ));
    let names: Vec<_> = api
        .list_key_pairs(&alice)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["generated", "imported"]);
    assert!(api.list_key_pairs(&bob).await.unwrap().is_empty());
    assert!(matches!(
        api.get_key_pair(&bob, "imported").await,
        Err(Error::NotFound { .. })
    ));
    api.delete_key_pair(&alice, "imported").await.unwrap();
    assert!(api.get_key_pair(&alice, "imported").await.is_err());
}

#[tokio::test]
async fn servers_are_invisible_to_other_projects() {
    let api = api().await;
    let p1 = ctx("p1", false);
    let p2 = ctx("p2", false);
    let flavor = &default_flavors()[0];
    let i = Instance::new(
        "vm",
        p1.project_id.clone(),
        p1.user_id.clone(),
        flavor,
        None,
    );
    api.db().create_instance(&i).await.unwrap();
    assert_eq!(api.get_server(&p1, &i.id).await.unwrap().id, i.id);
    assert!(matches!(
        api.get_server(&p2, &i.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        api.list_servers(&p1, &ServerFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(api
        .list_servers(&p2, &ServerFilter::default())
        .await
        .unwrap()
        .is_empty());
    let all = ServerFilter {
        all_projects: true,
        ..ServerFilter::default()
    };
    assert!(matches!(
        api.list_servers(&p2, &all).await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        api.list_servers(&ctx("adm", true), &all)
            .await
            .unwrap()
            .len(),
        1
    );
    let named = ServerFilter {
        name: Some("^v".into()),
        ..ServerFilter::default()
    };
    assert_eq!(api.list_servers(&p1, &named).await.unwrap().len(), 1);
    assert!(matches!(
        api.delete_server(&p2, &i.id).await,
        Err(Error::NotFound { .. })
    ));
    // Never scheduled: removed at once.
    api.delete_server(&p1, &i.id).await.unwrap();
    assert!(api.get_server(&p1, &i.id).await.is_err());
}
