//! Authentication, token validation and revocation.

use base64::Engine as _;
use rand::RngCore as _;

use super::IdentityService;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::ids::{DomainId, ProjectId, TokenId, UserId};
use crate::model::{
    AssignmentTarget, AuthMethod, Domain, DomainSummary, Password, ProjectSummary, RoleSummary,
    Token, TokenScope, TokenUser, User,
};

/// A domain named by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainSelector {
    /// By id.
    Id(DomainId),
    /// By name.
    Name(String),
}

/// A user named by id or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSelector {
    /// By id.
    Id(UserId),
    /// By name within a domain.
    Name {
        /// User name.
        name: String,
        /// The user's domain.
        domain: DomainSelector,
    },
}

/// A project named by id or by name within a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectSelector {
    /// By id.
    Id(ProjectId),
    /// By name within a domain.
    Name {
        /// Project name.
        name: String,
        /// The project's domain.
        domain: DomainSelector,
    },
}

/// How the caller proves who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthIdentity {
    /// The `password` method.
    Password {
        /// Which user.
        user: UserSelector,
        /// The clear-text password.
        password: Password,
    },
    /// The `token` method: an existing valid token of the user.
    Token(TokenId),
}

/// What the new token should be scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRequest {
    /// No scope.
    Unscoped,
    /// A project.
    Project(ProjectSelector),
    /// A domain.
    Domain(DomainSelector),
}

/// A `POST /v3/auth/tokens` request in core terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// Credentials.
    pub identity: AuthIdentity,
    /// Requested scope.
    pub scope: ScopeRequest,
}

/// A token with the catalog its scope sees (empty when unscoped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token.
    pub token: Token,
    /// The catalog, with project placeholders filled in.
    pub catalog: Catalog,
}

/// Options of [`IdentityService::validate_token`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Accept an expired (but not revoked) token, as keystonemiddleware asks
    /// with `allow_expired=1`.
    pub allow_expired: bool,
}

fn denied() -> Error {
    // One message for unknown user, wrong password and disabled user, so a
    // client cannot tell which one it hit.
    Error::unauthorized("the request you have made requires authentication")
}

fn audit_id() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn not_found_to(err: Error, mapped: impl FnOnce() -> Error) -> Error {
    match err {
        Error::NotFound { .. } => mapped(),
        e => e,
    }
}

impl IdentityService {
    async fn resolve_domain(&self, sel: &DomainSelector) -> Result<Domain> {
        match sel {
            DomainSelector::Id(id) => self.backend.get_domain(id).await,
            DomainSelector::Name(name) => self.backend.find_domain(name).await,
        }
    }

    async fn resolve_user(&self, sel: &UserSelector) -> Result<User> {
        match sel {
            UserSelector::Id(id) => self.backend.get_user(id).await,
            UserSelector::Name { name, domain } => {
                let d = self.resolve_domain(domain).await?;
                self.backend.find_user(&d.id, name).await
            }
        }
    }

    /// The user and domain summary, if both exist and are enabled.
    async fn active_user(&self, user: User) -> Result<(User, Domain)> {
        let domain = self
            .backend
            .get_domain(&user.domain_id)
            .await
            .map_err(|e| not_found_to(e, denied))?;
        if !user.enabled || !domain.enabled {
            return Err(denied());
        }
        Ok((user, domain))
    }

    async fn roles_on(&self, user: &UserId, target: &AssignmentTarget) -> Result<Vec<RoleSummary>> {
        let mut roles = Vec::new();
        for id in self.role_ids_on(user, target).await? {
            match self.backend.get_role(&id).await {
                Ok(r) => roles.push(RoleSummary {
                    id: r.id,
                    name: r.name,
                }),
                // Deleted between the two reads: the grant is gone too.
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(roles)
    }

    async fn resolve_scope(
        &self,
        user: &UserId,
        scope: &ScopeRequest,
    ) -> Result<(TokenScope, Vec<RoleSummary>)> {
        let (scope, target) = match scope {
            ScopeRequest::Unscoped => return Ok((TokenScope::Unscoped, Vec::new())),
            ScopeRequest::Project(sel) => {
                let project = match sel {
                    ProjectSelector::Id(id) => self.backend.get_project(id).await,
                    ProjectSelector::Name { name, domain } => {
                        let d = self.resolve_domain(domain).await;
                        match d {
                            Ok(d) => self.backend.find_project(&d.id, name).await,
                            Err(e) => Err(e),
                        }
                    }
                }
                .map_err(|e| {
                    not_found_to(e, || Error::unauthorized("requested project not found"))
                })?;
                let domain = self.backend.get_domain(&project.domain_id).await?;
                if !project.enabled || !domain.enabled {
                    return Err(Error::unauthorized(format!(
                        "project {} is disabled",
                        project.id
                    )));
                }
                let target = AssignmentTarget::Project(project.id.clone());
                let scope = TokenScope::Project(ProjectSummary {
                    id: project.id,
                    name: project.name,
                    domain: DomainSummary {
                        id: domain.id,
                        name: domain.name,
                    },
                });
                (scope, target)
            }
            ScopeRequest::Domain(sel) => {
                let domain = self.resolve_domain(sel).await.map_err(|e| {
                    not_found_to(e, || Error::unauthorized("requested domain not found"))
                })?;
                if !domain.enabled {
                    return Err(Error::unauthorized(format!(
                        "domain {} is disabled",
                        domain.id
                    )));
                }
                let target = AssignmentTarget::Domain(domain.id.clone());
                let scope = TokenScope::Domain(DomainSummary {
                    id: domain.id,
                    name: domain.name,
                });
                (scope, target)
            }
        };
        let roles = self.roles_on(user, &target).await?;
        if roles.is_empty() {
            return Err(Error::unauthorized(format!(
                "user {user} has no role on the requested scope"
            )));
        }
        Ok((scope, roles))
    }

    fn catalog_for(&self, token: &Token) -> Catalog {
        match &token.scope {
            TokenScope::Unscoped => Catalog::new(),
            TokenScope::Project(p) => self.catalog.for_project(Some(&p.id)),
            TokenScope::Domain(_) => self.catalog.for_project(None),
        }
    }

    /// Authenticates and issues a token.
    ///
    /// Fails with `Error::Unauthorized` for an unknown or disabled user, a
    /// wrong password, an invalid source token, an unknown or disabled scope,
    /// or a user without any role on the scope. A token issued by the token
    /// method never outlives its source token.
    pub async fn authenticate(&self, req: &AuthRequest) -> Result<IssuedToken> {
        let now = self.clock.now();
        let mut expires_at = now.saturating_add(self.config.token_ttl());
        let mut audit_ids = vec![audit_id()];
        let (user, method) = match &req.identity {
            AuthIdentity::Password { user, password } => {
                let user = match self.resolve_user(user).await {
                    Ok(u) => u,
                    Err(Error::NotFound { .. }) => {
                        self.verify_dummy(password).await?;
                        return Err(denied());
                    }
                    Err(e) => return Err(e),
                };
                let ok = match &user.password_hash {
                    Some(h) => self.verify_password(h, password).await?,
                    None => {
                        self.verify_dummy(password).await?;
                        false
                    }
                };
                if !ok {
                    return Err(denied());
                }
                (user, AuthMethod::Password)
            }
            AuthIdentity::Token(id) => {
                let source = self
                    .validate_token(id, &ValidateOptions::default())
                    .await
                    .map_err(|e| not_found_to(e, || Error::unauthorized("invalid token")))?
                    .token;
                expires_at = expires_at.min(source.expires_at);
                audit_ids.extend(source.audit_ids.into_iter().last());
                let user = self
                    .backend
                    .get_user(&source.user.id)
                    .await
                    .map_err(|e| not_found_to(e, denied))?;
                (user, AuthMethod::Token)
            }
        };
        let (user, domain) = self.active_user(user).await?;
        let (scope, roles) = self.resolve_scope(&user.id, &req.scope).await?;
        let token = Token {
            id: TokenId::generate(),
            user: TokenUser {
                id: user.id,
                name: user.name,
                domain: DomainSummary {
                    id: domain.id,
                    name: domain.name,
                },
            },
            scope,
            roles,
            issued_at: now,
            expires_at,
            methods: vec![method],
            audit_ids,
        };
        self.backend.create_token(&token).await?;
        let catalog = self.catalog_for(&token);
        Ok(IssuedToken { token, catalog })
    }

    /// Issues a token for the user of EC2 credential `access`, scoped to
    /// its project, once the caller has checked the request's signature
    /// with the credential's secret (what Keystone's `/v3/ec2tokens` does).
    ///
    /// `Error::Unauthorized` for an unknown credential, a disabled user or
    /// project, or a user without a role on the project.
    pub async fn authenticate_ec2(&self, access: &str) -> Result<IssuedToken> {
        let now = self.clock.now();
        let cred = self
            .backend
            .get_ec2_credential(access)
            .await
            .map_err(|e| not_found_to(e, denied))?;
        let user = self
            .backend
            .get_user(&cred.user_id)
            .await
            .map_err(|e| not_found_to(e, denied))?;
        let (user, domain) = self.active_user(user).await?;
        let scope = ScopeRequest::Project(ProjectSelector::Id(cred.project_id.clone()));
        let (scope, roles) = self.resolve_scope(&user.id, &scope).await?;
        let token = Token {
            id: TokenId::generate(),
            user: TokenUser {
                id: user.id,
                name: user.name,
                domain: DomainSummary {
                    id: domain.id,
                    name: domain.name,
                },
            },
            scope,
            roles,
            issued_at: now,
            expires_at: now.saturating_add(self.config.token_ttl()),
            methods: vec![AuthMethod::Ec2Credential],
            audit_ids: vec![audit_id()],
        };
        self.backend.create_token(&token).await?;
        let catalog = self.catalog_for(&token);
        Ok(IssuedToken { token, catalog })
    }

    /// The token with its roles and catalog.
    ///
    /// `Error::NotFound` when the token is unknown, revoked, expired (unless
    /// `opts.allow_expired`), its user was deleted or disabled, or its
    /// project or domain scope was deleted or disabled.
    pub async fn validate_token(
        &self,
        id: &TokenId,
        opts: &ValidateOptions,
    ) -> Result<IssuedToken> {
        let token = self.backend.get_token(id).await?;
        if !opts.allow_expired && token.is_expired(self.clock.now()) {
            return Err(Error::not_found("token"));
        }
        let user = self
            .backend
            .get_user(&token.user.id)
            .await
            .map_err(|e| not_found_to(e, || Error::not_found("token")))?;
        if !user.enabled || !self.scope_is_active(&token.scope).await? {
            return Err(Error::not_found("token"));
        }
        let catalog = self.catalog_for(&token);
        Ok(IssuedToken { token, catalog })
    }

    /// Whether the scope still exists and is enabled, with its domain.
    async fn scope_is_active(&self, scope: &TokenScope) -> Result<bool> {
        let domain = match scope {
            TokenScope::Unscoped => return Ok(true),
            TokenScope::Project(p) => match self.backend.get_project(&p.id).await {
                Ok(p) if p.enabled => p.domain_id,
                Ok(_) | Err(Error::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(e),
            },
            TokenScope::Domain(d) => d.id.clone(),
        };
        match self.backend.get_domain(&domain).await {
            Ok(d) => Ok(d.enabled),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Revokes a token; idempotent. `Error::NotFound` for an unknown token.
    pub async fn revoke_token(&self, id: &TokenId) -> Result<()> {
        self.backend.revoke_token(id).await
    }

    /// Deletes tokens that have expired by now; returns how many.
    pub async fn purge_expired_tokens(&self) -> Result<u64> {
        self.backend.purge_tokens(self.clock.now()).await
    }
}
