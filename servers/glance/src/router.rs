//! [`AppState`] and the route table.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use glance_core::ImageService;

use crate::auth::{require_token, Authenticator};
use crate::error::{format_errors, ApiError};
use crate::{data, discovery, images};

/// What every handler shares: the image service and the authenticator.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) service: Arc<ImageService>,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    pub(crate) public_endpoint: Option<String>,
    pub(crate) auth_url: Option<String>,
}

impl AppState {
    /// State over `service`, authenticating tokens with `authenticator`.
    pub fn new(service: Arc<ImageService>, authenticator: Arc<dyn Authenticator>) -> Self {
        Self {
            service,
            authenticator,
            public_endpoint: None,
            auth_url: None,
        }
    }

    /// The base URL shown in version links (else taken from `Host`).
    pub fn with_public_endpoint(mut self, url: impl Into<String>) -> Self {
        self.public_endpoint = Some(url.into());
        self
    }

    /// The Keystone URL named in `WWW-Authenticate` on 401s.
    pub fn with_auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }
}

async fn fallback(state: State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/v2" || path.starts_with("/v2/") {
        return ApiError::not_found("The resource could not be found.").into_response();
    }
    discovery::multiple_choices(state, req.headers().clone()).await
}

/// The Images API v2 router.
pub fn router(state: AppState) -> Router {
    let v2 = Router::new()
        .route("/v2/schemas/image", get(discovery::schema_image))
        .route("/v2/schemas/images", get(discovery::schema_images))
        .route("/v2/schemas/member", get(discovery::schema_member))
        .route("/v2/schemas/members", get(discovery::schema_members))
        .route("/v2/images", get(images::list).post(images::create))
        .route(
            "/v2/images/{id}",
            get(images::show)
                .patch(images::update)
                .delete(images::delete),
        )
        .route(
            "/v2/images/{id}/file",
            get(data::download).put(data::upload),
        )
        .route(
            "/v2/images/{id}/tags/{tag}",
            put(images::add_tag).delete(images::delete_tag),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/", get(discovery::multiple_choices))
        .route("/versions", get(discovery::versions))
        .merge(v2)
        .fallback(fallback)
        .layer(middleware::from_fn(format_errors))
        .with_state(state)
}
