//! ferrostack's identity server: a Keystone v3 subset over `identity-core`.
//!
//! [`router`] serves an [`AppState`]: version discovery, token issue,
//! validation and revocation, the caller's catalog and projects, EC2
//! credentials, and the administration APIs for domains, projects, users,
//! roles and role assignments (admin role required for writes and lists).
//! Every route except discovery, `POST /v3/auth/tokens` and the self-service
//! password change needs a valid `X-Auth-Token`, checked by one middleware
//! layer ([`auth`]). [`config`] holds the binary's TOML configuration.

use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;
use identity_core::IdentityService;

mod admin;
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
    use admin::{projects, roles, users};
    use handlers::*;
    let public = Router::new()
        .route("/", get(versions))
        .route("/v3", get(version_v3))
        .route("/v3/", get(version_v3))
        .route("/v3/auth/tokens", post(issue_token))
        .route("/v3/users/{id}/password", post(users::change_password));
    let protected = Router::new()
        .route("/v3/auth/tokens", get(validate_token).delete(revoke_token))
        .route("/v3/auth/catalog", get(auth_catalog))
        .route("/v3/auth/projects", get(auth_projects))
        .route("/v3/domains", get(projects::list_domains))
        .route("/v3/domains/{id}", get(projects::show_domain))
        .route(
            "/v3/projects",
            get(projects::list_projects).post(projects::create_project),
        )
        .route(
            "/v3/projects/{id}",
            get(projects::show_project)
                .patch(projects::update_project)
                .delete(projects::delete_project),
        )
        .route("/v3/users", get(users::list_users).post(users::create_user))
        .route(
            "/v3/users/{id}",
            get(users::show_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .route("/v3/users/{id}/projects", get(users::user_projects))
        .route("/v3/roles", get(roles::list_roles).post(roles::create_role))
        .route(
            "/v3/roles/{id}",
            get(roles::show_role).delete(roles::delete_role),
        )
        .route(
            "/v3/projects/{target}/users/{user}/roles/{role}",
            put(roles::grant::<false>)
                .get(roles::check_grant::<false>)
                .delete(roles::revoke::<false>),
        )
        .route(
            "/v3/domains/{target}/users/{user}/roles/{role}",
            put(roles::grant::<true>)
                .get(roles::check_grant::<true>)
                .delete(roles::revoke::<true>),
        )
        .route("/v3/role_assignments", get(roles::list_assignments))
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
