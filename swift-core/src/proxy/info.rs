//! `/info`: the cluster's capabilities and constraints.

use serde_json::json;

use super::config::ProxyConfig;
use super::response::Reply;

/// The version reported as `swift.version`.
pub(crate) const SWIFT_VERSION: &str = "2.34.0";

/// The `/info` document.
pub(crate) fn document(config: &ProxyConfig) -> serde_json::Value {
    let c = &config.constraints;
    json!({
        "swift": {
            "version": SWIFT_VERSION,
            "max_file_size": c.max_file_size,
            "max_meta_name_length": c.max_meta_name_length,
            "max_meta_value_length": c.max_meta_value_length,
            "max_meta_count": c.max_meta_count,
            "max_meta_overall_size": c.max_meta_overall_size,
            "max_header_size": c.max_header_size,
            "max_object_name_length": c.max_object_name_length,
            "container_listing_limit": c.container_listing_limit,
            "account_listing_limit": c.account_listing_limit,
            "max_account_name_length": c.max_account_name_length,
            "max_container_name_length": c.max_container_name_length,
            "extra_header_count": c.extra_header_count,
            "valid_api_versions": ["v1", "v1.0"],
            "strict_cors_mode": true,
            "allow_account_management": config.allow_account_management,
            "account_autocreate": config.account_autocreate,
            "policies": [{"name": "Policy-0", "aliases": "Policy-0", "default": true}],
        },
        "tempauth": {"account_acls": true},
    })
}

impl super::Inner {
    pub(super) fn base_url(&self, parts: &http::request::Parts) -> String {
        let scheme = self
            .config
            .storage_url_scheme
            .clone()
            .or_else(|| parts.uri.scheme_str().map(str::to_string))
            .unwrap_or_else(|| "http".into());
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        format!("{scheme}://{host}")
    }

    pub(super) fn info(&self, method: &http::Method) -> Reply {
        match method.as_str() {
            "GET" | "HEAD" => Reply::typed(
                200,
                "application/json; charset=UTF-8",
                document(&self.config).to_string(),
            ),
            "OPTIONS" => Reply::status(200).with("allow", "GET, HEAD, OPTIONS"),
            _ => Reply::status(405).with("allow", "GET, HEAD, OPTIONS"),
        }
    }
}
