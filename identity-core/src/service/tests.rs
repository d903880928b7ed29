use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::backend::{MemoryIdentityBackend, SqliteIdentityBackend};
use crate::catalog::Interface;
use crate::ids::TokenId;
use crate::model::{AuthMethod, DomainSummary, Ec2Credential, TokenScope, DEFAULT_DOMAIN_NAME};
use crate::time::{ManualClock, Timestamp};

const PW: &str = "correct horse";

fn config() -> IdentityConfig {
    IdentityConfig {
        token_ttl_secs: 3600,
        password_hashing: PasswordHashing::insecure_fast(),
    }
}

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.register_all("identity", "keystone", "RegionOne", "http://h:5000/v3")
        .register(
            "object-store",
            "swift",
            Interface::Public,
            "RegionOne",
            "http://h:8080/v1/AUTH_$(project_id)s",
        );
    c
}

fn service_on(b: Arc<dyn IdentityBackend>) -> (IdentityService, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_micros(
        1_700_000_000_000_000,
    )));
    let svc = IdentityService::new(b, config())
        .unwrap()
        .with_clock(clock.clone())
        .with_catalog(catalog());
    (svc, clock)
}

async fn booted() -> (IdentityService, Arc<ManualClock>, BootstrapOutcome) {
    let (svc, clock) = service_on(Arc::new(MemoryIdentityBackend::new()));
    let out = svc
        .bootstrap(&BootstrapConfig::new(Password::new(PW)))
        .await
        .unwrap();
    (svc, clock, out)
}

fn by_name(user: &str, pw: &str, scope: ScopeRequest) -> AuthRequest {
    AuthRequest {
        identity: AuthIdentity::Password {
            user: UserSelector::Name {
                name: user.into(),
                domain: DomainSelector::Name(DEFAULT_DOMAIN_NAME.into()),
            },
            password: Password::new(pw),
        },
        scope,
    }
}

fn admin_project_scope() -> ScopeRequest {
    ScopeRequest::Project(ProjectSelector::Name {
        name: "admin".into(),
        domain: DomainSelector::Id(DomainId::default_domain()),
    })
}

fn is_unauthorized<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::Unauthorized { .. }))
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::NotFound { .. }))
}

#[tokio::test]
async fn bootstrap_is_idempotent() {
    let (svc, _clock, first) = booted().await;
    let again = svc
        .bootstrap(&BootstrapConfig::new(Password::new(PW)))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.domain.id.as_str(), "default");
    assert_eq!(first.domain.name, "Default");
    let names: Vec<_> = first.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["admin", "member", "reader"]);
    let b = svc.backend();
    assert_eq!(b.list_domains().await.unwrap().len(), 1);
    assert_eq!(b.list_roles().await.unwrap().len(), 3);
    assert_eq!(b.list_users(None).await.unwrap().len(), 1);
    assert_eq!(b.list_projects(None).await.unwrap().len(), 1);
    // A changed password is applied on the next run.
    svc.bootstrap(&BootstrapConfig::new(Password::new("new one")))
        .await
        .unwrap();
    assert!(is_unauthorized(
        svc.authenticate(&by_name("admin", PW, ScopeRequest::Unscoped))
            .await
    ));
    svc.authenticate(&by_name("admin", "new one", ScopeRequest::Unscoped))
        .await
        .unwrap();
    let empty = BootstrapConfig::new(Password::new(""));
    assert!(matches!(
        svc.bootstrap(&empty).await,
        Err(Error::InvalidConfig { .. })
    ));
}

#[tokio::test]
async fn password_auth_project_scope() {
    let (svc, clock, boot) = booted().await;
    let issued = svc
        .authenticate(&by_name("admin", PW, admin_project_scope()))
        .await
        .unwrap();
    let t = &issued.token;
    assert_eq!(t.user.id, boot.admin_user.id);
    assert_eq!(t.user.domain.name, "Default");
    assert_eq!(t.project_id(), Some(&boot.admin_project.id));
    assert!(t.has_role("admin"));
    assert_eq!(t.methods, vec![AuthMethod::Password]);
    assert_eq!(t.audit_ids.len(), 1);
    assert_eq!(t.issued_at, clock.now());
    assert_eq!(
        t.expires_at,
        clock.now().saturating_add(Duration::from_secs(3600))
    );
    let swift = &issued.catalog.services[1];
    assert_eq!(
        swift.endpoints[0].url,
        format!("http://h:8080/v1/AUTH_{}", boot.admin_project.id)
    );
    // By user id and project id works too.
    let by_id = AuthRequest {
        identity: AuthIdentity::Password {
            user: UserSelector::Id(boot.admin_user.id.clone()),
            password: Password::new(PW),
        },
        scope: ScopeRequest::Project(ProjectSelector::Id(boot.admin_project.id.clone())),
    };
    svc.authenticate(&by_id).await.unwrap();
}

#[tokio::test]
async fn bad_credentials_are_unauthorized() {
    let (svc, _clock, boot) = booted().await;
    assert!(is_unauthorized(
        svc.authenticate(&by_name("admin", "wrong", ScopeRequest::Unscoped))
            .await
    ));
    assert!(is_unauthorized(
        svc.authenticate(&by_name("nobody", PW, ScopeRequest::Unscoped))
            .await
    ));
    let mut u = boot.admin_user.clone();
    u.enabled = false;
    svc.backend().update_user(&u).await.unwrap();
    assert!(is_unauthorized(
        svc.authenticate(&by_name("admin", PW, ScopeRequest::Unscoped))
            .await
    ));
}

#[tokio::test]
async fn unscoped_and_domain_scope() {
    let (svc, _clock, boot) = booted().await;
    let unscoped = svc
        .authenticate(&by_name("admin", PW, ScopeRequest::Unscoped))
        .await
        .unwrap();
    assert_eq!(unscoped.token.scope, TokenScope::Unscoped);
    assert!(unscoped.token.roles.is_empty());
    assert!(unscoped.catalog.services.is_empty());
    let domain_scope = ScopeRequest::Domain(DomainSelector::Id(DomainId::default_domain()));
    // No role on the domain yet.
    assert!(is_unauthorized(
        svc.authenticate(&by_name("admin", PW, domain_scope.clone()))
            .await
    ));
    svc.grant_role_by_name(
        &boot.admin_user.id,
        AssignmentTarget::Domain(DomainId::default_domain()),
        "admin",
    )
    .await
    .unwrap();
    let issued = svc
        .authenticate(&by_name("admin", PW, domain_scope))
        .await
        .unwrap();
    assert_eq!(
        issued.token.scope,
        TokenScope::Domain(DomainSummary {
            id: DomainId::default_domain(),
            name: "Default".into()
        })
    );
    // Templated endpoints need a project.
    assert_eq!(issued.catalog.services.len(), 1);
}

#[tokio::test]
async fn scope_without_role_is_refused() {
    let (svc, _clock, _boot) = booted().await;
    let d = DomainId::default_domain();
    let alice = svc
        .create_user(&d, "alice", Some(&Password::new("pw")))
        .await
        .unwrap();
    let demo = svc.create_project(&d, "demo").await.unwrap();
    let scope = ScopeRequest::Project(ProjectSelector::Id(demo.id.clone()));
    assert!(is_unauthorized(
        svc.authenticate(&by_name("alice", "pw", scope.clone()))
            .await
    ));
    // Admin's project is off limits to alice as well.
    assert!(is_unauthorized(
        svc.authenticate(&by_name("alice", "pw", admin_project_scope()))
            .await
    ));
    let unknown = ScopeRequest::Project(ProjectSelector::Id(ProjectId::generate()));
    assert!(is_unauthorized(
        svc.authenticate(&by_name("alice", "pw", unknown)).await
    ));
    svc.grant_role_by_name(
        &alice.id,
        AssignmentTarget::Project(demo.id.clone()),
        "member",
    )
    .await
    .unwrap();
    let t = svc
        .authenticate(&by_name("alice", "pw", scope))
        .await
        .unwrap();
    assert!(t.token.has_role("member") && !t.token.has_role("admin"));
    let projects = svc.projects_for_user(&alice.id).await.unwrap();
    assert_eq!(projects, vec![demo]);
}

#[tokio::test]
async fn tokens_expire_with_the_clock() {
    let (svc, clock, _boot) = booted().await;
    let t = svc
        .authenticate(&by_name("admin", PW, admin_project_scope()))
        .await
        .unwrap()
        .token;
    let opts = ValidateOptions::default();
    clock.advance(Duration::from_secs(3599));
    assert_eq!(svc.validate_token(&t.id, &opts).await.unwrap().token, t);
    clock.advance(Duration::from_secs(1));
    assert!(is_not_found(svc.validate_token(&t.id, &opts).await));
    let allow = ValidateOptions {
        allow_expired: true,
    };
    svc.validate_token(&t.id, &allow).await.unwrap();
    assert_eq!(svc.purge_expired_tokens().await.unwrap(), 1);
    assert!(is_not_found(svc.validate_token(&t.id, &allow).await));
}

#[tokio::test]
async fn revoked_tokens_are_gone() {
    let (svc, _clock, _boot) = booted().await;
    let t = svc
        .authenticate(&by_name("admin", PW, admin_project_scope()))
        .await
        .unwrap()
        .token;
    svc.revoke_token(&t.id).await.unwrap();
    svc.revoke_token(&t.id).await.unwrap();
    let opts = ValidateOptions {
        allow_expired: true,
    };
    assert!(is_not_found(svc.validate_token(&t.id, &opts).await));
    assert!(is_not_found(svc.revoke_token(&TokenId::generate()).await));
    let reuse = AuthRequest {
        identity: AuthIdentity::Token(t.id.clone()),
        scope: ScopeRequest::Unscoped,
    };
    assert!(is_unauthorized(svc.authenticate(&reuse).await));
}

#[tokio::test]
async fn token_method_rescopes_without_outliving_the_source() {
    let (svc, clock, boot) = booted().await;
    let unscoped = svc
        .authenticate(&by_name("admin", PW, ScopeRequest::Unscoped))
        .await
        .unwrap()
        .token;
    clock.advance(Duration::from_secs(600));
    let req = AuthRequest {
        identity: AuthIdentity::Token(unscoped.id.clone()),
        scope: ScopeRequest::Project(ProjectSelector::Id(boot.admin_project.id.clone())),
    };
    let scoped = svc.authenticate(&req).await.unwrap().token;
    assert_eq!(scoped.methods, vec![AuthMethod::Token]);
    assert_eq!(scoped.expires_at, unscoped.expires_at);
    assert_eq!(scoped.audit_ids[1], unscoped.audit_ids[0]);
    assert_ne!(scoped.id, unscoped.id);
    assert!(scoped.has_role("admin"));
    let garbage = AuthRequest {
        identity: AuthIdentity::Token(TokenId::generate()),
        scope: ScopeRequest::Unscoped,
    };
    assert!(is_unauthorized(svc.authenticate(&garbage).await));
    clock.advance(Duration::from_secs(3000));
    assert!(is_unauthorized(svc.authenticate(&req).await));
}

#[tokio::test]
async fn ec2_credential_lifecycle() {
    let (svc, _clock, boot) = booted().await;
    let (admin, project) = (&boot.admin_user.id, &boot.admin_project.id);
    let c = svc.create_ec2_credential(admin, project).await.unwrap();
    assert_eq!(c.access.len(), 32);
    assert_eq!(c.secret.expose().len(), 32);
    assert_eq!(svc.find_ec2_credential(&c.access).await.unwrap(), c);
    assert_eq!(svc.get_ec2_credential(admin, &c.access).await.unwrap(), c);
    assert_eq!(
        svc.list_ec2_credentials(admin).await.unwrap(),
        vec![c.clone()]
    );

    let d = DomainId::default_domain();
    let bob = svc.create_user(&d, "bob", None).await.unwrap();
    assert!(matches!(
        svc.create_ec2_credential(&bob.id, project).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(is_not_found(
        svc.get_ec2_credential(&bob.id, &c.access).await
    ));
    assert!(is_not_found(
        svc.delete_ec2_credential(&bob.id, &c.access).await
    ));
    assert!(is_not_found(
        svc.create_ec2_credential(admin, &ProjectId::generate())
            .await
    ));
    assert!(is_not_found(
        svc.list_ec2_credentials(&UserId::generate()).await
    ));

    svc.delete_ec2_credential(admin, &c.access).await.unwrap();
    assert!(is_not_found(svc.find_ec2_credential(&c.access).await));
    assert!(svc.list_ec2_credentials(admin).await.unwrap().is_empty());
}

#[tokio::test]
async fn service_runs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let b = SqliteIdentityBackend::open(dir.path().join("id.db"))
        .await
        .unwrap();
    let (svc, _clock) = service_on(Arc::new(b));
    let boot = svc
        .bootstrap(&BootstrapConfig::new(Password::new(PW)))
        .await
        .unwrap();
    let again = svc
        .bootstrap(&BootstrapConfig::new(Password::new(PW)))
        .await
        .unwrap();
    assert_eq!(boot, again);
    let t = svc
        .authenticate(&by_name("admin", PW, admin_project_scope()))
        .await
        .unwrap()
        .token;
    let v = svc
        .validate_token(&t.id, &ValidateOptions::default())
        .await
        .unwrap();
    assert_eq!(v.token, t);
}

#[test]
fn debug_never_shows_secrets() {
    let secret = "hunter2-very-secret";
    let boot = BootstrapConfig::new(Password::new(secret));
    assert!(!format!("{boot:?}").contains(secret));
    let user = User {
        id: UserId::generate(),
        name: "u".into(),
        domain_id: DomainId::default_domain(),
        enabled: true,
        default_project_id: None,
        password_hash: Some(PasswordHash::from_phc(secret)),
    };
    assert!(!format!("{user:?}").contains(secret));
    let json = serde_json::to_string(&user).unwrap();
    assert!(!json.contains(secret) && !json.contains("password"));
    let cred = Ec2Credential {
        access: "ak".into(),
        secret: Ec2Secret::new(secret),
        user_id: user.id.clone(),
        project_id: ProjectId::generate(),
    };
    assert!(!format!("{cred:?}").contains(secret));
    let token = TokenId::new(secret).unwrap();
    let t = crate::model::Token {
        id: token,
        user: crate::model::TokenUser {
            id: user.id.clone(),
            name: "u".into(),
            domain: DomainSummary {
                id: DomainId::default_domain(),
                name: "Default".into(),
            },
        },
        scope: TokenScope::Unscoped,
        roles: vec![],
        issued_at: Timestamp::from_micros(0),
        expires_at: Timestamp::from_micros(1),
        methods: vec![AuthMethod::Password],
        audit_ids: vec![],
    };
    assert!(!format!("{t:?}").contains(secret));
    let req = by_name("u", secret, ScopeRequest::Unscoped);
    assert!(!format!("{req:?}").contains(secret));
}

#[test]
fn config_validation() {
    assert!(IdentityConfig::default().validate().is_ok());
    let zero = IdentityConfig {
        token_ttl_secs: 0,
        ..IdentityConfig::default()
    };
    assert!(matches!(
        IdentityService::new(Arc::new(MemoryIdentityBackend::new()), zero),
        Err(Error::InvalidConfig { .. })
    ));
    let parsed: IdentityConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(parsed, IdentityConfig::default());
    assert!(serde_json::from_str::<IdentityConfig>(r#"{"bogus":1}"#).is_err());
}
