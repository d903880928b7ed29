//! One conformance suite for every [`IdentityBackend`]: each scenario asserts
//! a sentence of the trait's contract. Scenarios use fresh ids and names, so
//! they can share one backend.

use crate::backend::IdentityBackend;
use crate::error::Error;
use crate::ids::{DomainId, ProjectId, RoleId, TokenId, UserId};
use crate::model::{
    AssignmentFilter, AssignmentTarget, AuthMethod, Domain, DomainSummary, Ec2Credential,
    Ec2Secret, PasswordHash, Project, ProjectSummary, Role, RoleAssignment, RoleSummary, Token,
    TokenScope, TokenUser, User,
};
use crate::time::Timestamp;

/// Runs every scenario against `b`; panics on the first violation.
pub async fn run_all(b: &dyn IdentityBackend) {
    domains_are_unique_and_deletable(b).await;
    projects_are_unique_per_domain(b).await;
    users_round_trip_and_update(b).await;
    projects_update_in_place(b).await;
    user_tokens_are_revoked_together(b).await;
    roles_are_unique(b).await;
    grants_are_idempotent_and_listed(b).await;
    ec2_credentials_lifecycle(b).await;
    tokens_store_revoke_and_purge(b).await;
    deletes_cascade(b).await;
    invalid_names_are_rejected(b).await;
}

fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// A new enabled domain.
async fn domain(b: &dyn IdentityBackend) -> Domain {
    let d = Domain {
        id: DomainId::generate(),
        name: format!("dom-{}", tag()),
        description: "d".into(),
        enabled: true,
    };
    b.create_domain(&d).await.expect("backend call");
    d
}

async fn project(b: &dyn IdentityBackend, d: &DomainId, name: &str) -> Project {
    let p = Project {
        id: ProjectId::generate(),
        name: name.into(),
        domain_id: d.clone(),
        description: String::new(),
        enabled: true,
    };
    b.create_project(&p).await.expect("backend call");
    p
}

async fn user(b: &dyn IdentityBackend, d: &DomainId, name: &str) -> User {
    let u = User {
        id: UserId::generate(),
        name: name.into(),
        domain_id: d.clone(),
        enabled: true,
        default_project_id: None,
        password_hash: Some(PasswordHash::from_phc("$argon2id$v=19$fake")),
    };
    b.create_user(&u).await.expect("backend call");
    u
}

async fn role(b: &dyn IdentityBackend) -> Role {
    let r = Role {
        id: RoleId::generate(),
        name: format!("role-{}", tag()),
        description: Some("a role".into()),
    };
    b.create_role(&r).await.expect("backend call");
    r
}

fn token(u: &User, expires: i64) -> Token {
    let dom = DomainSummary {
        id: u.domain_id.clone(),
        name: "x".into(),
    };
    Token {
        id: TokenId::generate(),
        user: TokenUser {
            id: u.id.clone(),
            name: u.name.clone(),
            domain: dom.clone(),
        },
        scope: TokenScope::Project(ProjectSummary {
            id: ProjectId::generate(),
            name: "p".into(),
            domain: dom,
        }),
        roles: vec![RoleSummary {
            id: RoleId::generate(),
            name: "member".into(),
        }],
        issued_at: Timestamp::from_micros(expires - 10),
        expires_at: Timestamp::from_micros(expires),
        methods: vec![AuthMethod::Password],
        audit_ids: vec!["audit".into()],
    }
}

fn assert_kind<T: std::fmt::Debug>(r: crate::Result<T>, want: &str) {
    let ok = matches!(
        (&r, want),
        (Err(Error::NotFound { .. }), "NotFound")
            | (Err(Error::AlreadyExists { .. }), "AlreadyExists")
            | (Err(Error::Conflict { .. }), "Conflict")
            | (Err(Error::InvalidInput { .. }), "InvalidInput")
    );
    assert!(ok, "expected {want}, got {r:?}");
}

/// Domain ids and names are unique; get/find/list see it; delete refuses
/// while it owns projects (`Conflict`) and then removes it.
pub async fn domains_are_unique_and_deletable(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    assert_eq!(b.get_domain(&d.id).await.expect("backend call"), d);
    assert_eq!(b.find_domain(&d.name).await.expect("backend call"), d);
    assert!(b.list_domains().await.expect("backend call").contains(&d));
    let same_id = Domain {
        name: format!("other-{}", tag()),
        ..d.clone()
    };
    assert_kind(b.create_domain(&same_id).await, "AlreadyExists");
    let same_name = Domain {
        id: DomainId::generate(),
        ..d.clone()
    };
    assert_kind(b.create_domain(&same_name).await, "AlreadyExists");
    let p = project(b, &d.id, "p").await;
    assert_kind(b.delete_domain(&d.id).await, "Conflict");
    b.delete_project(&p.id).await.expect("backend call");
    b.delete_domain(&d.id).await.expect("backend call");
    assert_kind(b.get_domain(&d.id).await, "NotFound");
    assert_kind(b.find_domain(&d.name).await, "NotFound");
    assert_kind(b.delete_domain(&d.id).await, "NotFound");
    let ids: Vec<_> = b
        .list_domains()
        .await
        .expect("backend call")
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "domains sorted by id");
}

/// Project names are unique within a domain only; the domain must exist.
pub async fn projects_are_unique_per_domain(b: &dyn IdentityBackend) {
    let (d1, d2) = (domain(b).await, domain(b).await);
    let p1 = project(b, &d1.id, "shared").await;
    let p2 = project(b, &d2.id, "shared").await;
    assert_eq!(b.get_project(&p1.id).await.expect("backend call"), p1);
    assert_eq!(
        b.find_project(&d2.id, "shared")
            .await
            .expect("backend call"),
        p2
    );
    assert_kind(b.find_project(&d1.id, "nope").await, "NotFound");
    let dup = Project {
        id: ProjectId::generate(),
        ..p1.clone()
    };
    assert_kind(b.create_project(&dup).await, "AlreadyExists");
    assert_kind(
        b.create_project(&Project {
            name: "x".into(),
            ..p1.clone()
        })
        .await,
        "AlreadyExists",
    );
    let orphan = Project {
        id: ProjectId::generate(),
        domain_id: DomainId::generate(),
        ..p1.clone()
    };
    assert_kind(b.create_project(&orphan).await, "NotFound");
    assert_eq!(
        b.list_projects(Some(&d1.id)).await.expect("backend call"),
        vec![p1.clone()]
    );
    let all = b.list_projects(None).await.expect("backend call");
    assert!(all.contains(&p1) && all.contains(&p2));
    b.delete_project(&p1.id).await.expect("backend call");
    assert_kind(b.get_project(&p1.id).await, "NotFound");
    assert_kind(b.delete_project(&p1.id).await, "NotFound");
}

/// Users keep their password hash; update changes name, flag and hash but
/// not the domain; names are unique per domain.
pub async fn users_round_trip_and_update(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    let u = user(b, &d.id, "alice").await;
    let other = user(b, &d.id, "bob").await;
    assert_eq!(b.get_user(&u.id).await.expect("backend call"), u);
    assert_eq!(b.find_user(&d.id, "alice").await.expect("backend call"), u);
    assert_kind(b.find_user(&d.id, "carol").await, "NotFound");
    let dup = User {
        id: UserId::generate(),
        ..u.clone()
    };
    assert_kind(b.create_user(&dup).await, "AlreadyExists");
    let orphan = User {
        id: UserId::generate(),
        domain_id: DomainId::generate(),
        ..u.clone()
    };
    assert_kind(b.create_user(&orphan).await, "NotFound");
    let mut changed = u.clone();
    changed.name = "alice2".into();
    changed.enabled = false;
    changed.password_hash = None;
    changed.domain_id = DomainId::generate();
    b.update_user(&changed).await.expect("backend call");
    let got = b.get_user(&u.id).await.expect("backend call");
    assert_eq!(
        (got.name.as_str(), got.enabled, got.password_hash),
        ("alice2", false, None)
    );
    assert_eq!(got.domain_id, d.id, "update keeps the domain");
    let clash = User {
        name: "bob".into(),
        ..u.clone()
    };
    assert_kind(b.update_user(&clash).await, "AlreadyExists");
    let ghost = User {
        id: UserId::generate(),
        ..u.clone()
    };
    assert_kind(b.update_user(&ghost).await, "NotFound");
    assert_eq!(
        b.list_users(Some(&d.id)).await.expect("backend call").len(),
        2
    );
    b.delete_user(&other.id).await.expect("backend call");
    assert_kind(b.get_user(&other.id).await, "NotFound");
    assert_kind(b.delete_user(&other.id).await, "NotFound");
}

/// Project updates change name, description and flag but not the domain;
/// names stay unique per domain; unknown projects are `NotFound`.
pub async fn projects_update_in_place(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    let p = project(b, &d.id, "before").await;
    project(b, &d.id, "taken").await;
    let changed = Project {
        name: "after".into(),
        description: "new text".into(),
        enabled: false,
        domain_id: DomainId::generate(),
        ..p.clone()
    };
    b.update_project(&changed).await.expect("backend call");
    let got = b.get_project(&p.id).await.expect("backend call");
    assert_eq!(
        (got.name.as_str(), got.description.as_str(), got.enabled),
        ("after", "new text", false)
    );
    assert_eq!(got.domain_id, d.id, "update keeps the domain");
    let clash = Project {
        name: "taken".into(),
        ..p.clone()
    };
    assert_kind(b.update_project(&clash).await, "AlreadyExists");
    let ghost = Project {
        id: ProjectId::generate(),
        ..p.clone()
    };
    assert_kind(b.update_project(&ghost).await, "NotFound");
    let bad = Project {
        name: String::new(),
        ..p.clone()
    };
    assert_kind(b.update_project(&bad).await, "InvalidInput");
}

/// `revoke_user_tokens` revokes exactly that user's unrevoked tokens and
/// counts them; the default project survives a round trip.
pub async fn user_tokens_are_revoked_together(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    let p = project(b, &d.id, "home").await;
    let mut u = user(b, &d.id, "revokee").await;
    u.default_project_id = Some(p.id.clone());
    b.update_user(&u).await.expect("backend call");
    assert_eq!(b.get_user(&u.id).await.expect("backend call"), u);
    let other = user(b, &d.id, "bystander").await;
    let (t1, t2, t3) = (
        token(&u, i64::MAX),
        token(&u, i64::MAX),
        token(&other, i64::MAX),
    );
    for t in [&t1, &t2, &t3] {
        b.create_token(t).await.expect("backend call");
    }
    b.revoke_token(&t1.id).await.expect("backend call");
    assert_eq!(b.revoke_user_tokens(&u.id).await.expect("backend call"), 1);
    assert_kind(b.get_token(&t2.id).await, "NotFound");
    assert_eq!(b.get_token(&t3.id).await.expect("backend call"), t3);
    assert_eq!(b.revoke_user_tokens(&u.id).await.expect("backend call"), 0);
    assert_eq!(
        b.revoke_user_tokens(&UserId::generate())
            .await
            .expect("backend call"),
        0
    );
}

/// Role ids and names are unique.
pub async fn roles_are_unique(b: &dyn IdentityBackend) {
    let r = role(b).await;
    assert_eq!(b.get_role(&r.id).await.expect("backend call"), r);
    assert_eq!(b.find_role(&r.name).await.expect("backend call"), r);
    assert!(b.list_roles().await.expect("backend call").contains(&r));
    let dup = Role {
        id: RoleId::generate(),
        ..r.clone()
    };
    assert_kind(b.create_role(&dup).await, "AlreadyExists");
    b.delete_role(&r.id).await.expect("backend call");
    assert_kind(b.get_role(&r.id).await, "NotFound");
    assert_kind(b.delete_role(&r.id).await, "NotFound");
}

/// Granting twice succeeds once; references must exist; listing filters and
/// sorts; revoking an absent grant is `NotFound`.
pub async fn grants_are_idempotent_and_listed(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    let p = project(b, &d.id, "proj").await;
    let u = user(b, &d.id, "granted").await;
    let (r1, r2) = (role(b).await, role(b).await);
    let on_p = RoleAssignment {
        user_id: u.id.clone(),
        target: AssignmentTarget::Project(p.id.clone()),
        role_id: r1.id.clone(),
    };
    let on_d = RoleAssignment {
        user_id: u.id.clone(),
        target: AssignmentTarget::Domain(d.id.clone()),
        role_id: r2.id.clone(),
    };
    b.grant_role(&on_p).await.expect("backend call");
    b.grant_role(&on_p).await.expect("backend call");
    b.grant_role(&on_d).await.expect("backend call");
    let mine = AssignmentFilter {
        user_id: Some(u.id.clone()),
        target: None,
        role_id: None,
    };
    let listed = b.list_role_assignments(&mine).await.expect("backend call");
    assert_eq!(
        listed,
        vec![on_d.clone(), on_p.clone()],
        "domain before project"
    );
    let on_project = AssignmentFilter {
        user_id: None,
        target: Some(on_p.target.clone()),
        role_id: None,
    };
    assert_eq!(
        b.list_role_assignments(&on_project)
            .await
            .expect("backend call"),
        vec![on_p.clone()]
    );
    let bad_user = RoleAssignment {
        user_id: UserId::generate(),
        ..on_p.clone()
    };
    assert_kind(b.grant_role(&bad_user).await, "NotFound");
    let bad_role = RoleAssignment {
        role_id: RoleId::generate(),
        ..on_p.clone()
    };
    assert_kind(b.grant_role(&bad_role).await, "NotFound");
    let bad_target = RoleAssignment {
        target: AssignmentTarget::Project(ProjectId::generate()),
        ..on_p.clone()
    };
    assert_kind(b.grant_role(&bad_target).await, "NotFound");
    let by_role = AssignmentFilter {
        role_id: Some(r2.id.clone()),
        ..AssignmentFilter::default()
    };
    assert_eq!(
        b.list_role_assignments(&by_role)
            .await
            .expect("backend call"),
        vec![on_d.clone()]
    );
    b.revoke_role(&on_p).await.expect("backend call");
    assert_kind(b.revoke_role(&on_p).await, "NotFound");
    assert_eq!(
        b.list_role_assignments(&mine).await.expect("backend call"),
        vec![on_d]
    );
}

/// EC2 credentials: unique access key, user and project must exist, listed
/// per user sorted by access, deletable once.
pub async fn ec2_credentials_lifecycle(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    let p = project(b, &d.id, "ec2").await;
    let u = user(b, &d.id, "ec2user").await;
    let mk = |access: &str| Ec2Credential {
        access: access.to_owned(),
        secret: Ec2Secret::new(format!("secret-{access}")),
        user_id: u.id.clone(),
        project_id: p.id.clone(),
    };
    let (a, z) = (mk(&format!("b{}", tag())), mk(&format!("a{}", tag())));
    b.create_ec2_credential(&a).await.expect("backend call");
    b.create_ec2_credential(&z).await.expect("backend call");
    assert_kind(b.create_ec2_credential(&a).await, "AlreadyExists");
    let orphan = Ec2Credential {
        access: tag(),
        project_id: ProjectId::generate(),
        ..a.clone()
    };
    assert_kind(b.create_ec2_credential(&orphan).await, "NotFound");
    let orphan = Ec2Credential {
        access: tag(),
        user_id: UserId::generate(),
        ..a.clone()
    };
    assert_kind(b.create_ec2_credential(&orphan).await, "NotFound");
    assert_eq!(
        b.get_ec2_credential(&a.access).await.expect("backend call"),
        a
    );
    assert_eq!(
        b.list_ec2_credentials(&u.id).await.expect("backend call"),
        vec![z.clone(), a.clone()]
    );
    assert!(b
        .list_ec2_credentials(&UserId::generate())
        .await
        .expect("backend call")
        .is_empty());
    b.delete_ec2_credential(&a.access)
        .await
        .expect("backend call");
    assert_kind(b.get_ec2_credential(&a.access).await, "NotFound");
    assert_kind(b.delete_ec2_credential(&a.access).await, "NotFound");
}

/// Tokens round-trip exactly; revoke hides them (idempotently); purge drops
/// those expiring at or before the cut-off.
pub async fn tokens_store_revoke_and_purge(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    let u = user(b, &d.id, "tok").await;
    // Far in the past so that purging below never races other data.
    let old = token(&u, 1_000);
    let live = token(&u, i64::MAX / 2);
    b.create_token(&old).await.expect("backend call");
    b.create_token(&live).await.expect("backend call");
    assert_kind(b.create_token(&old).await, "AlreadyExists");
    assert_eq!(
        b.get_token(&old.id).await.expect("backend call"),
        old,
        "expired tokens are still returned"
    );
    assert_eq!(b.get_token(&live.id).await.expect("backend call"), live);
    assert_kind(b.get_token(&TokenId::generate()).await, "NotFound");
    b.revoke_token(&live.id).await.expect("backend call");
    b.revoke_token(&live.id).await.expect("backend call");
    assert_kind(b.get_token(&live.id).await, "NotFound");
    assert_kind(b.revoke_token(&TokenId::generate()).await, "NotFound");
    assert!(
        b.purge_tokens(Timestamp::from_micros(1_000))
            .await
            .expect("backend call")
            >= 1
    );
    assert_kind(b.get_token(&old.id).await, "NotFound");
}

/// Deleting a user removes its grants, credentials and tokens; deleting a
/// project removes grants on it and its credentials; deleting a role removes
/// its grants.
pub async fn deletes_cascade(b: &dyn IdentityBackend) {
    let d = domain(b).await;
    let p = project(b, &d.id, "cascade").await;
    let u = user(b, &d.id, "cascade").await;
    let r = role(b).await;
    let grant = RoleAssignment {
        user_id: u.id.clone(),
        target: AssignmentTarget::Project(p.id.clone()),
        role_id: r.id.clone(),
    };
    let cred = Ec2Credential {
        access: format!("c{}", tag()),
        secret: Ec2Secret::new("s"),
        user_id: u.id.clone(),
        project_id: p.id.clone(),
    };
    let t = token(&u, i64::MAX / 2);
    b.grant_role(&grant).await.expect("backend call");
    b.create_ec2_credential(&cred).await.expect("backend call");
    b.create_token(&t).await.expect("backend call");
    b.delete_user(&u.id).await.expect("backend call");
    let by_user = AssignmentFilter {
        user_id: Some(u.id.clone()),
        target: None,
        role_id: None,
    };
    assert!(b
        .list_role_assignments(&by_user)
        .await
        .expect("backend call")
        .is_empty());
    assert_kind(b.get_ec2_credential(&cred.access).await, "NotFound");
    assert_kind(b.get_token(&t.id).await, "NotFound");

    let u2 = user(b, &d.id, "cascade2").await;
    let grant2 = RoleAssignment {
        user_id: u2.id.clone(),
        ..grant.clone()
    };
    let cred2 = Ec2Credential {
        access: format!("c{}", tag()),
        user_id: u2.id.clone(),
        ..cred
    };
    b.grant_role(&grant2).await.expect("backend call");
    b.create_ec2_credential(&cred2).await.expect("backend call");
    b.delete_project(&p.id).await.expect("backend call");
    let by_user2 = AssignmentFilter {
        user_id: Some(u2.id.clone()),
        target: None,
        role_id: None,
    };
    assert!(b
        .list_role_assignments(&by_user2)
        .await
        .expect("backend call")
        .is_empty());
    assert_kind(b.get_ec2_credential(&cred2.access).await, "NotFound");

    let on_domain = RoleAssignment {
        user_id: u2.id.clone(),
        target: AssignmentTarget::Domain(d.id.clone()),
        role_id: r.id.clone(),
    };
    b.grant_role(&on_domain).await.expect("backend call");
    b.delete_role(&r.id).await.expect("backend call");
    assert!(b
        .list_role_assignments(&by_user2)
        .await
        .expect("backend call")
        .is_empty());
}

/// Empty, oversized or control-character names are `InvalidInput`.
pub async fn invalid_names_are_rejected(b: &dyn IdentityBackend) {
    for name in ["", "a\nb", &"x".repeat(256)] {
        let d = Domain {
            id: DomainId::generate(),
            name: name.to_owned(),
            description: String::new(),
            enabled: true,
        };
        assert_kind(b.create_domain(&d).await, "InvalidInput");
        let r = Role {
            id: RoleId::generate(),
            name: name.to_owned(),
            description: None,
        };
        assert_kind(b.create_role(&r).await, "InvalidInput");
    }
}

#[cfg(test)]
mod tests {
    use crate::backend::{MemoryIdentityBackend, SqliteIdentityBackend};

    #[tokio::test]
    async fn memory_backend_conforms() {
        super::run_all(&MemoryIdentityBackend::new()).await;
    }

    #[tokio::test]
    async fn sqlite_backend_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity.db");
        super::run_all(&SqliteIdentityBackend::open(&path).await.unwrap()).await;
        // Reopening applies no migration twice and keeps the data.
        let again = SqliteIdentityBackend::open(&path).await.unwrap();
        assert!(!crate::backend::IdentityBackend::list_domains(&again)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn sqlite_in_memory_conforms() {
        super::run_all(&SqliteIdentityBackend::open_in_memory().unwrap()).await;
    }
}
