//! The proxy over HTTP: every request goes to [`Proxy::handle`] with a
//! streaming body; the proxy's answer (with its `X-Trans-Id`) is sent as is.

use axum::Router;
use swift_core::proxy::Proxy;

use crate::http::swift_router;

/// The router of the proxy server.
pub fn proxy_router(proxy: Proxy) -> Router {
    swift_router(move |req| {
        let proxy = proxy.clone();
        async move { proxy.handle(req).await }
    })
}
