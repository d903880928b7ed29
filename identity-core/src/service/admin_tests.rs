use std::sync::Arc;

use super::*;
use crate::backend::{MemoryIdentityBackend, SqliteIdentityBackend};
use crate::model::DEFAULT_DOMAIN_NAME;

fn service(b: Arc<dyn IdentityBackend>) -> IdentityService {
    let cfg = IdentityConfig {
        token_ttl_secs: 3600,
        password_hashing: PasswordHashing::insecure_fast(),
    };
    IdentityService::new(b, cfg).unwrap()
}

async fn booted() -> IdentityService {
    let svc = service(Arc::new(MemoryIdentityBackend::new()));
    svc.bootstrap(&BootstrapConfig::new(Password::new("adminpw")))
        .await
        .unwrap();
    svc
}

fn login(user: &str, pw: &str, project: Option<&str>) -> AuthRequest {
    let domain = || DomainSelector::Name(DEFAULT_DOMAIN_NAME.into());
    AuthRequest {
        identity: AuthIdentity::Password {
            user: UserSelector::Name {
                name: user.into(),
                domain: domain(),
            },
            password: Password::new(pw),
        },
        scope: match project {
            Some(p) => ScopeRequest::Project(ProjectSelector::Name {
                name: p.into(),
                domain: domain(),
            }),
            None => ScopeRequest::Unscoped,
        },
    }
}

/// A user `name` with password `pw` and `member` on a new project `name`-p.
async fn member(svc: &IdentityService, name: &str, pw: &str) -> (User, Project) {
    let d = DomainId::default_domain();
    let p = svc
        .create_project_with(&NewProject::new(d.clone(), format!("{name}-p")))
        .await
        .unwrap();
    let new = NewUser {
        password: Some(Password::new(pw)),
        default_project_id: Some(p.id.clone()),
        ..NewUser::new(d, name)
    };
    let u = svc.create_user_with(&new).await.unwrap();
    svc.grant_role_by_name(&u.id, AssignmentTarget::Project(p.id.clone()), "member")
        .await
        .unwrap();
    (u, p)
}

async fn valid(svc: &IdentityService, t: &crate::ids::TokenId) -> bool {
    match svc.validate_token(t, &ValidateOptions::default()).await {
        Ok(_) => true,
        Err(Error::NotFound { .. }) => false,
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[tokio::test]
async fn projects_create_list_update_delete() {
    let svc = booted().await;
    let (_, p) = member(&svc, "pat", "pw").await;
    let d = DomainId::default_domain();
    let dup = svc
        .create_project_with(&NewProject::new(d.clone(), "pat-p"))
        .await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })), "{dup:?}");
    let by_name = ListFilter {
        name: Some("pat-p".into()),
        ..ListFilter::default()
    };
    assert_eq!(svc.list_projects(&by_name).await.unwrap(), vec![p.clone()]);
    let other_domain = ListFilter {
        domain_id: Some(DomainId::new("nope").unwrap()),
        ..ListFilter::default()
    };
    assert!(svc.list_projects(&other_domain).await.unwrap().is_empty());
    assert_eq!(
        svc.list_projects(&ListFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );

    let tok = svc
        .authenticate(&login("pat", "pw", Some("pat-p")))
        .await
        .unwrap();
    assert!(valid(&svc, &tok.token.id).await);
    let upd = ProjectUpdate {
        description: Some("renamed".into()),
        enabled: Some(false),
        ..ProjectUpdate::default()
    };
    let got = svc.update_project(&p.id, &upd).await.unwrap();
    assert_eq!(
        (got.name.as_str(), got.description.as_str(), got.enabled),
        ("pat-p", "renamed", false)
    );
    assert!(
        !valid(&svc, &tok.token.id).await,
        "disabled project's token must fail"
    );
    let disabled = ListFilter {
        enabled: Some(false),
        ..ListFilter::default()
    };
    assert_eq!(svc.list_projects(&disabled).await.unwrap(), vec![got]);
    let relogin = svc.authenticate(&login("pat", "pw", Some("pat-p"))).await;
    assert!(matches!(relogin, Err(Error::Unauthorized { .. })));

    svc.update_project(
        &p.id,
        &ProjectUpdate {
            enabled: Some(true),
            ..ProjectUpdate::default()
        },
    )
    .await
    .unwrap();
    let tok = svc
        .authenticate(&login("pat", "pw", Some("pat-p")))
        .await
        .unwrap();
    svc.delete_project(&p.id).await.unwrap();
    assert!(
        !valid(&svc, &tok.token.id).await,
        "deleted project's token must fail"
    );
    assert!(matches!(
        svc.get_project(&p.id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn users_create_update_delete_and_tokens() {
    let svc = booted().await;
    let (u, p) = member(&svc, "uma", "pw1").await;
    assert_eq!(u.default_project_id, Some(p.id.clone()));
    let ghost_project = NewUser {
        default_project_id: Some(ProjectId::generate()),
        ..NewUser::new(DomainId::default_domain(), "ghost")
    };
    let r = svc.create_user_with(&ghost_project).await;
    assert!(matches!(r, Err(Error::InvalidInput { .. })), "{r:?}");
    let by_name = ListFilter {
        name: Some("uma".into()),
        ..ListFilter::default()
    };
    assert_eq!(svc.list_users(&by_name).await.unwrap(), vec![u.clone()]);

    let tok = svc
        .authenticate(&login("uma", "pw1", Some("uma-p")))
        .await
        .unwrap();
    let upd = UserUpdate {
        name: Some("uma2".into()),
        password: Some(Password::new("pw2")),
        default_project_id: Some(None),
        ..UserUpdate::default()
    };
    let got = svc.update_user(&u.id, &upd).await.unwrap();
    assert_eq!((got.name.as_str(), got.default_project_id), ("uma2", None));
    assert!(
        !valid(&svc, &tok.token.id).await,
        "a new password revokes tokens"
    );
    assert!(svc.authenticate(&login("uma2", "pw1", None)).await.is_err());
    let tok = svc
        .authenticate(&login("uma2", "pw2", Some("uma-p")))
        .await
        .unwrap();

    let off = UserUpdate {
        enabled: Some(false),
        ..UserUpdate::default()
    };
    svc.update_user(&u.id, &off).await.unwrap();
    assert!(
        !valid(&svc, &tok.token.id).await,
        "a disabled user's token fails"
    );
    let on = UserUpdate {
        enabled: Some(true),
        ..UserUpdate::default()
    };
    svc.update_user(&u.id, &on).await.unwrap();
    let tok = svc.authenticate(&login("uma2", "pw2", None)).await.unwrap();
    svc.delete_user(&u.id).await.unwrap();
    assert!(
        !valid(&svc, &tok.token.id).await,
        "a deleted user's token fails"
    );
    assert!(matches!(
        svc.delete_user(&u.id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn change_password_needs_the_original() {
    for backend in [
        Arc::new(MemoryIdentityBackend::new()) as Arc<dyn IdentityBackend>,
        Arc::new(SqliteIdentityBackend::open_in_memory().unwrap()),
    ] {
        let svc = service(backend);
        svc.bootstrap(&BootstrapConfig::new(Password::new("adminpw")))
            .await
            .unwrap();
        let (u, _) = member(&svc, "cp", "old").await;
        let tok = svc.authenticate(&login("cp", "old", None)).await.unwrap();
        let wrong = svc
            .change_password(&u.id, &Password::new("nope"), &Password::new("new"))
            .await;
        assert!(
            matches!(wrong, Err(Error::Unauthorized { .. })),
            "{wrong:?}"
        );
        let ghost = svc
            .change_password(
                &UserId::generate(),
                &Password::new("old"),
                &Password::new("new"),
            )
            .await;
        assert!(
            matches!(ghost, Err(Error::Unauthorized { .. })),
            "{ghost:?}"
        );
        assert!(valid(&svc, &tok.token.id).await);
        svc.change_password(&u.id, &Password::new("old"), &Password::new("new"))
            .await
            .unwrap();
        assert!(!valid(&svc, &tok.token.id).await);
        assert!(svc.authenticate(&login("cp", "old", None)).await.is_err());
        assert!(svc.authenticate(&login("cp", "new", None)).await.is_ok());
    }
}

#[tokio::test]
async fn roles_grants_and_named_assignments() {
    let svc = booted().await;
    let (u, p) = member(&svc, "rita", "pw").await;
    let r = svc
        .create_role("auditor", Some("reads logs"))
        .await
        .unwrap();
    assert!(matches!(
        svc.create_role("auditor", None).await,
        Err(Error::AlreadyExists { .. })
    ));
    let by_name = ListFilter {
        name: Some("auditor".into()),
        ..ListFilter::default()
    };
    assert_eq!(svc.list_roles(&by_name).await.unwrap(), vec![r.clone()]);
    assert_eq!(
        svc.get_role(&r.id).await.unwrap().description.as_deref(),
        Some("reads logs")
    );
    assert_eq!(
        svc.list_roles(&ListFilter::default()).await.unwrap().len(),
        4
    );

    let grant = RoleAssignment {
        user_id: u.id.clone(),
        target: AssignmentTarget::Project(p.id.clone()),
        role_id: r.id.clone(),
    };
    assert!(matches!(
        svc.check_role(&grant).await,
        Err(Error::NotFound { .. })
    ));
    svc.grant_role(&grant).await.unwrap();
    svc.check_role(&grant).await.unwrap();
    let on_domain = RoleAssignment {
        target: AssignmentTarget::Domain(DomainId::default_domain()),
        ..grant.clone()
    };
    svc.grant_role(&on_domain).await.unwrap();
    let by_role = AssignmentFilter {
        role_id: Some(r.id.clone()),
        ..AssignmentFilter::default()
    };
    let listed = svc.list_role_assignments(&by_role).await.unwrap();
    assert_eq!(listed, vec![on_domain.clone(), grant.clone()]);
    let named = svc.name_assignments(listed).await.unwrap();
    assert_eq!(named[0].user.name, "rita");
    assert_eq!(named[0].user.domain.name, DEFAULT_DOMAIN_NAME);
    assert_eq!(named[0].role.name, "auditor");
    assert!(matches!(&named[0].target, NamedTarget::Domain(d) if d.name == DEFAULT_DOMAIN_NAME));
    assert!(matches!(&named[1].target,
        NamedTarget::Project(ps) if ps.name == "rita-p" && ps.domain.name == DEFAULT_DOMAIN_NAME));

    svc.revoke_role(&grant).await.unwrap();
    assert!(matches!(
        svc.revoke_role(&grant).await,
        Err(Error::NotFound { .. })
    ));
    svc.delete_role(&r.id).await.unwrap();
    assert!(svc
        .list_role_assignments(&by_role)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        svc.get_role(&r.id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn domains_list_and_filter() {
    let svc = booted().await;
    let all = svc.list_domains(&ListFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        svc.get_domain(&all[0].id).await.unwrap().name,
        DEFAULT_DOMAIN_NAME
    );
    let none = ListFilter {
        name: Some("Other".into()),
        ..ListFilter::default()
    };
    assert!(svc.list_domains(&none).await.unwrap().is_empty());
    let disabled = ListFilter {
        enabled: Some(false),
        ..ListFilter::default()
    };
    assert!(svc.list_domains(&disabled).await.unwrap().is_empty());
}
