//! ferrostack's identity server: a Keystone v3 subset over `identity-core`.
//!
//! [`router`] serves an [`AppState`]: version discovery, token issue,
//! validation and revocation, the caller's catalog and projects, projects
//! and users by id, and EC2 credentials. Every route except discovery and
//! `POST /v3/auth/tokens` needs a valid `X-Auth-Token`, checked by one
//! middleware layer ([`auth`]). [`config`] holds the binary's TOML
//! configuration.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use identity_core::IdentityService;

pub mod auth;
pub mod config;
pub mod error;
mod handlers;
pub mod views;
mod wire;

#[cfg(test)]
mod tests;

pub use error::ApiError;

/// What every handler sees: the identity service and the public base URL
/// used in links.
#[derive(Debug, Clone)]
pub struct AppState {
    identity: Arc<IdentityService>,
    public_url: Arc<str>,
}

impl AppState {
    /// State serving `identity`, with links under `public_url`
    /// (e.g. `http://host:5000`; a trailing `/` is dropped).
    pub fn new(identity: Arc<IdentityService>, public_url: &str) -> Self {
        Self {
            identity,
            public_url: public_url.trim_end_matches('/').into(),
        }
    }

    /// The identity service.
    pub fn identity(&self) -> &IdentityService {
        &self.identity
    }

    /// The public base URL, without a trailing `/`.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }
}

/// The identity API.
pub fn router(state: AppState) -> Router {
    use handlers::*;
    let public = Router::new()
        .route("/", get(versions))
        .route("/v3", get(version_v3))
        .route("/v3/", get(version_v3))
        .route("/v3/auth/tokens", axum::routing::post(issue_token));
    let protected = Router::new()
        .route("/v3/auth/tokens", get(validate_token).delete(revoke_token))
        .route("/v3/auth/catalog", get(auth_catalog))
        .route("/v3/auth/projects", get(auth_projects))
        .route("/v3/projects/{id}", get(show_project))
        .route("/v3/users/{id}", get(show_user))
        .route(
            "/v3/users/{id}/credentials/OS-EC2",
            get(list_ec2).post(create_ec2),
        )
        .route(
            "/v3/users/{id}/credentials/OS-EC2/{access}",
            get(show_ec2).delete(delete_ec2),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    public
        .merge(protected)
        .fallback(not_found)
        .with_state(state)
}
