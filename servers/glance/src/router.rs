//! [`AppState`] and the route table.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use glance_core::ImageService;
use http::HeaderMap;

use crate::auth::{require_token, Authenticator};
use crate::error::{format_errors, ApiError};
use crate::{data, discovery, images, import, list, members};

/// What every handler shares: the image service and the authenticator.
#[derive(Clone, Debug)]
pub struct AppState {
    pub(crate) service: Arc<ImageService>,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    pub(crate) public_endpoint: Option<String>,
    pub(crate) auth_url: Option<String>,
    pub(crate) store_descriptions: HashMap<String, String>,
}

impl AppState {
    /// State over `service`, authenticating tokens with `authenticator`.
    pub fn new(service: Arc<ImageService>, authenticator: Arc<dyn Authenticator>) -> Self {
        Self {
            service,
            authenticator,
            public_endpoint: None,
            auth_url: None,
            store_descriptions: HashMap::new(),
        }
    }

    /// The description of store `id` shown in `/v2/info/stores`.
    pub fn with_store_description(
        mut self,
        id: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        self.store_descriptions.insert(id.into(), text.into());
        self
    }

    /// The base URL of this API: the public endpoint, else from `Host`.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        match &self.public_endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => {
                let host = headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost:9292");
                format!("http://{host}")
            }
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
        .route(
            "/v2/schemas/metadefs/namespace",
            get(discovery::schema_metadefs_namespace),
        )
        .route(
            "/v2/schemas/metadefs/resource_type",
            get(discovery::schema_metadefs_resource_type),
        )
        .route("/v2/info/import", get(import::info_import))
        .route("/v2/info/stores", get(import::info_stores))
        .route("/v2/images", get(list::list).post(images::create))
        .route(
            "/v2/images/{id}",
            get(images::show)
                .patch(images::update)
                .delete(images::delete),
        )
        .route(
            "/v2/images/{id}/file",
            get(data::download)
                .put(data::upload)
                .head(data::head_not_allowed),
        )
        .route("/v2/images/{id}/stage", put(import::stage))
        .route("/v2/images/{id}/import", post(import::import))
        .route(
            "/v2/images/{id}/actions/deactivate",
            post(images::deactivate),
        )
        .route(
            "/v2/images/{id}/actions/reactivate",
            post(images::reactivate),
        )
        .route(
            "/v2/images/{id}/members",
            get(members::list).post(members::create),
        )
        .route(
            "/v2/images/{id}/members/{member}",
            get(members::show)
                .put(members::update)
                .delete(members::delete),
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
