use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::backend::MemoryIdentityBackend;
use crate::model::Password;
use crate::service::{
    AuthIdentity, AuthRequest, BootstrapConfig, DomainSelector, IdentityConfig, PasswordHashing,
    ProjectSelector, ScopeRequest, UserSelector,
};

async fn service_and_token() -> (IdentityService, String) {
    let svc = IdentityService::new(
        Arc::new(MemoryIdentityBackend::new()),
        IdentityConfig {
            token_ttl_secs: 3600,
            password_hashing: PasswordHashing::insecure_fast(),
        },
    )
    .unwrap();
    svc.bootstrap(&BootstrapConfig::new(Password::new("pw")))
        .await
        .unwrap();
    let issued = svc
        .authenticate(&AuthRequest {
            identity: AuthIdentity::Password {
                user: UserSelector::Name {
                    name: "admin".into(),
                    domain: DomainSelector::Name("Default".into()),
                },
                password: Password::new("pw"),
            },
            scope: ScopeRequest::Project(ProjectSelector::Name {
                name: "admin".into(),
                domain: DomainSelector::Name("Default".into()),
            }),
        })
        .await
        .unwrap();
    let token = issued.token.id.expose().to_string();
    (svc, token)
}

#[tokio::test]
async fn service_validates_its_own_tokens() {
    let (svc, token) = service_and_token().await;
    let info = svc.validate(&token).await.unwrap().unwrap();
    assert_eq!(info.user_name, "admin");
    assert_eq!(info.project_name.as_deref(), Some("admin"));
    assert!(info.project_id.is_some());
    assert!(info.has_role("admin") && info.has_role("ADMIN"));
    assert!(!info.has_role("nobody"));

    assert_eq!(svc.validate("no-such-token").await.unwrap(), None);
    assert_eq!(svc.validate("").await.unwrap(), None);
    svc.revoke_token(&TokenId::new(token.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(svc.validate(&token).await.unwrap(), None);
}

#[derive(Debug)]
struct Counting {
    inner: IdentityService,
    calls: AtomicUsize,
}

#[async_trait]
impl TokenValidator for Counting {
    async fn validate(&self, token: &str) -> Result<Option<TokenInfo>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.validate(token).await
    }
}

#[tokio::test]
async fn caching_validator_remembers_valid_tokens_only() {
    let (svc, token) = service_and_token().await;
    let counting = Arc::new(Counting {
        inner: svc,
        calls: AtomicUsize::new(0),
    });
    let cached = CachingValidator::new(counting.clone(), Duration::from_secs(60));
    let a = cached.validate(&token).await.unwrap().unwrap();
    let b = cached.validate(&token).await.unwrap().unwrap();
    assert_eq!(a, b);
    assert_eq!(counting.calls.load(Ordering::SeqCst), 1);

    assert_eq!(cached.validate("bogus").await.unwrap(), None);
    assert_eq!(cached.validate("bogus").await.unwrap(), None);
    assert_eq!(
        counting.calls.load(Ordering::SeqCst),
        3,
        "misses are not cached"
    );

    let zero = CachingValidator::new(counting.clone(), Duration::ZERO);
    zero.validate(&token).await.unwrap().unwrap();
    zero.validate(&token).await.unwrap().unwrap();
    assert_eq!(
        counting.calls.load(Ordering::SeqCst),
        5,
        "ttl 0 caches nothing"
    );
}
