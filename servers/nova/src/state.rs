//! [`ApiState`]: what the handlers of every front end share.

use std::sync::Arc;

use http::HeaderMap;
use nova_core::ComputeApi;

use crate::auth::Authenticator;

/// The compute API, the authenticator, and the URLs shown in links.
#[derive(Clone, Debug)]
pub struct ApiState {
    pub(crate) api: ComputeApi,
    pub(crate) auth: Arc<dyn Authenticator>,
    pub(crate) public_endpoint: Option<String>,
    pub(crate) auth_url: Option<String>,
}

impl ApiState {
    /// State over `api`, authenticating tokens with `auth`.
    pub fn new(api: ComputeApi, auth: Arc<dyn Authenticator>) -> Self {
        Self {
            api,
            auth,
            public_endpoint: None,
            auth_url: None,
        }
    }

    /// The base URL of this API in links (else taken from `Host`), e.g.
    /// `http://127.0.0.1:8774`.
    pub fn with_public_endpoint(mut self, url: impl Into<String>) -> Self {
        self.public_endpoint = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// The Keystone URL named in `WWW-Authenticate` on 401s.
    pub fn with_auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }

    /// The compute API.
    pub fn api(&self) -> &ComputeApi {
        &self.api
    }

    /// The base URL of this API: the public endpoint, else from `Host`.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> String {
        match &self.public_endpoint {
            Some(e) => e.clone(),
            None => {
                let host = headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }
}
