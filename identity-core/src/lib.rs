//! Identity core of ferrostack: a Keystone v3–style identity service as a
//! library.
//!
//! The crate holds domains, projects, users, roles and role assignments
//! ([`model`]), their storage behind the object-safe [`IdentityBackend`]
//! trait (in memory or SQLite, [`backend`]), and the behaviour in
//! [`IdentityService`]: bootstrap, password and token authentication with
//! project, domain or no scope, token validation, expiry and revocation,
//! EC2 credentials and the service [`Catalog`] returned with tokens.
//! Servers only translate HTTP to and from these types.
//!
//! ```
//! use std::sync::Arc;
//! use identity_core::service::{
//!     AuthIdentity, AuthRequest, BootstrapConfig, DomainSelector, IdentityConfig,
//!     ProjectSelector, ScopeRequest, UserSelector, ValidateOptions,
//! };
//! use identity_core::{Catalog, IdentityService, MemoryIdentityBackend, Password};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut catalog = Catalog::new();
//! catalog.register_all("identity", "keystone", "RegionOne", "http://127.0.0.1:5000/v3");
//! let identity = IdentityService::new(
//!     Arc::new(MemoryIdentityBackend::new()),
//!     IdentityConfig::default(),
//! )?
//! .with_catalog(catalog);
//! identity.bootstrap(&BootstrapConfig::new(Password::new("secret"))).await?;
//!
//! let issued = identity
//!     .authenticate(&AuthRequest {
//!         identity: AuthIdentity::Password {
//!             user: UserSelector::Name {
//!                 name: "admin".into(),
//!                 domain: DomainSelector::Name("Default".into()),
//!             },
//!             password: Password::new("secret"),
//!         },
//!         scope: ScopeRequest::Project(ProjectSelector::Name {
//!             name: "admin".into(),
//!             domain: DomainSelector::Name("Default".into()),
//!         }),
//!     })
//!     .await?;
//! assert!(issued.token.has_role("admin"));
//! assert_eq!(issued.catalog.services[0].service_type, "identity");
//!
//! let checked = identity
//!     .validate_token(&issued.token.id, &ValidateOptions::default())
//!     .await?;
//! assert_eq!(checked.token.user.name, "admin");
//! println!("expires at {}", checked.token.expires_at); // 2025-01-01T12:00:00.000000Z form
//! # Ok::<(), identity_core::Error>(())
//! # }).unwrap();
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod catalog;
#[cfg(any(test, feature = "testkit"))]
pub mod conformance;
pub mod error;
pub mod ids;
pub mod model;
pub mod service;
pub mod time;
pub mod validator;

pub use backend::{IdentityBackend, MemoryIdentityBackend, SqliteIdentityBackend};
pub use catalog::{Catalog, CatalogService, Endpoint, Interface};
pub use error::{BoxError, Error, Result};
pub use ids::{DomainId, ProjectId, RoleId, TokenId, UserId};
pub use model::{
    AssignmentTarget, Domain, Ec2Credential, Password, Project, Role, RoleAssignment, Token,
    TokenScope, User,
};
pub use service::{IdentityConfig, IdentityService};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
pub use validator::{CachingValidator, TokenInfo, TokenValidator};
