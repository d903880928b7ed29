//! The Swift proxy: authenticates clients, routes `/v1/<account>[/<container>
//! [/<object>]]` to the account, container and object controllers, and
//! talks to the storage nodes' replicas with quorum and handoffs.
//!
//! [`Proxy::handle`] serves one `http::Request`; [`Proxy`] is also a
//! `tower::Service`, so middleware layers can be stacked on it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::error::Result;
use crate::headers::Headers;
use crate::node::NodeClient;
use crate::ring::Rings;
use crate::stream::SwiftBody;

mod acl;
pub mod auth;
#[cfg(any(test, feature = "testkit"))]
pub mod cache_conformance;
mod conditional;
mod config;
mod controller;
mod copy;
mod fanout;
mod info;
mod listing_xml;
#[cfg(feature = "memcached")]
pub mod memcached;
mod mime;
mod parse;
mod response;
pub mod s3api;
mod trans_id;

#[cfg(test)]
mod tests;

pub use auth::{
    Cache, Clock, Identity, KeystoneAuthConfig, KeystoneIdentity, KeystoneValidator, MemoryCache,
    SystemClock,
};
pub use config::{ProxyConfig, ServicePrefix, TempAuthConfig, TempAuthUser};
#[cfg(feature = "memcached")]
pub use memcached::{MemcachedCache, MemcachedConfig};
pub use s3api::{S3Credential, S3Credentials, S3Secret, StaticS3Credentials};

use auth::tempauth::TempAuth;
use parse::{parse_query, to_headers};
use response::Reply;

/// The proxy server's logic. Cheap to clone: the state is shared.
#[derive(Debug, Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: ProxyConfig,
    pub(crate) rings: Arc<Rings>,
    pub(crate) client: Arc<dyn NodeClient>,
    pub(crate) auth: TempAuth,
    pub(crate) keystone: Option<auth::keystone::KeystoneAuth>,
    pub(crate) s3: Option<s3api::S3Api>,
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// How long the proxy trusts that an account or container exists.
pub(crate) const INFO_TTL: Duration = Duration::from_secs(10);

/// One client request on its way through a controller.
pub(crate) struct Ctx {
    pub(crate) method: http::Method,
    pub(crate) trans_id: String,
    pub(crate) headers: Headers,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) account: String,
    pub(crate) container: Option<String>,
    pub(crate) object: Option<String>,
    /// The client's body; in a mutex so `&Ctx` is `Send` across awaits.
    pub(crate) body: std::sync::Mutex<Option<SwiftBody>>,
    pub(crate) identity: Option<Identity>,
    /// Whether the request acts as the account's owner (tempauth `.admin`,
    /// reseller admin, or account ACL `admin`): only owners see and set
    /// ACLs and other privileged headers.
    pub(crate) owner: bool,
}

impl Ctx {
    /// Takes the client's body (once).
    pub(crate) fn take_body(&self) -> Option<SwiftBody> {
        self.body.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Proxy {
    /// A proxy over the cluster's rings, reaching nodes through `client`.
    /// Fails with [`crate::Error::InvalidConfig`] if the config is invalid.
    pub fn new(
        config: ProxyConfig,
        rings: Arc<Rings>,
        client: Arc<dyn NodeClient>,
    ) -> Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new(clock.clone()));
        Self::with_parts(config, rings, client, cache, clock)
    }

    /// A proxy with its own cache (tokens, account and container info) and
    /// clock, e.g. memcached shared by several proxies, or a test clock.
    pub fn with_parts(
        config: ProxyConfig,
        rings: Arc<Rings>,
        client: Arc<dyn NodeClient>,
        cache: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        config.validate()?;
        let auth = TempAuth::new(&config.tempauth, cache.clone(), clock.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                rings,
                client,
                auth,
                keystone: None,
                s3: None,
                cache,
                clock,
            }),
        })
    }

    /// Also accepts Keystone tokens, resolved by `validator` and mapped to
    /// account access by `config`. Call before the proxy is cloned;
    /// [`crate::Error::InvalidConfig`] otherwise.
    pub fn with_keystone(
        mut self,
        validator: Arc<dyn KeystoneValidator>,
        config: KeystoneAuthConfig,
    ) -> Result<Self> {
        let inner = Arc::get_mut(&mut self.inner)
            .ok_or_else(|| crate::Error::config("with_keystone on a shared proxy"))?;
        inner.keystone = Some(auth::keystone::KeystoneAuth { validator, config });
        Ok(self)
    }

    /// Also serves S3 requests (SigV4-signed) on the same port, with
    /// access keys looked up through `credentials`; see [`s3api`]. S3
    /// requests act on account `<reseller_prefix><project_id>`, with the
    /// Keystone reseller prefix when Keystone is on (call
    /// [`Proxy::with_keystone`] first), else tempauth's. Call before the
    /// proxy is cloned; [`crate::Error::InvalidConfig`] otherwise.
    pub fn with_s3(mut self, credentials: Arc<dyn S3Credentials>) -> Result<Self> {
        let inner = Arc::get_mut(&mut self.inner)
            .ok_or_else(|| crate::Error::config("with_s3 on a shared proxy"))?;
        let reseller_prefix = match &inner.keystone {
            Some(ks) => ks.config.reseller_prefix.clone(),
            None => inner.config.tempauth.reseller_prefix.clone(),
        };
        inner.s3 = Some(s3api::S3Api {
            credentials,
            reseller_prefix,
        });
        Ok(self)
    }

    /// Serves one client request. Never fails: every problem is a status.
    pub async fn handle(&self, mut req: http::Request<SwiftBody>) -> http::Response<SwiftBody> {
        strip_sysmeta(req.headers_mut());
        self.serve(req, None).await
    }

    /// Serves one Swift request as `identity`, already authenticated by
    /// the caller (no token is looked at). The identity's groups decide
    /// what it may do, as for a token's identity.
    pub async fn handle_as(
        &self,
        mut req: http::Request<SwiftBody>,
        identity: Identity,
    ) -> http::Response<SwiftBody> {
        strip_sysmeta(req.headers_mut());
        self.serve(req, Some(identity)).await
    }

    async fn serve(
        &self,
        req: http::Request<SwiftBody>,
        identity: Option<Identity>,
    ) -> http::Response<SwiftBody> {
        let trans_id = trans_id::generate(self.inner.clock.now());
        let head = req.method() == http::Method::HEAD;
        let reply = match &self.inner.s3 {
            Some(s3) if identity.is_none() && s3api::is_s3_request(&req) => {
                s3api::handle(&self.inner, s3, req, &trans_id).await
            }
            _ => self.inner.route_with(req, &trans_id, identity).await,
        };
        let mut resp = reply
            .with("x-trans-id", trans_id.clone())
            .with("x-openstack-request-id", trans_id)
            .into_http(head);
        if let Ok(v) = http::HeaderValue::from_str(&httpdate::fmt_http_date(self.inner.clock.now()))
        {
            resp.headers_mut().insert(http::header::DATE, v);
        }
        resp
    }
}

/// The 401/403 of a denied request; a 401 names the realm (the account
/// segment of the path as sent) in `WWW-Authenticate`.
fn denied(d: auth::tempauth::Denied, raw_path: &str) -> Reply {
    let reply = Reply::status(d.status());
    if d.status() != 401 {
        return reply;
    }
    let realm = raw_path.split('/').nth(2).filter(|s| !s.is_empty());
    let realm = realm.unwrap_or("unknown").replace('"', "%22");
    reply.with("www-authenticate", format!("Swift realm=\"{realm}\""))
}

/// Drops client-sent `X-{Account,Container,Object}-Sysmeta-*` headers:
/// system metadata is written only by the proxy's own middleware (e.g. the
/// S3 ETag of a multipart upload), never by clients.
fn strip_sysmeta(headers: &mut http::HeaderMap) {
    let forged: Vec<http::HeaderName> = headers
        .keys()
        .filter(|n| {
            let n = n.as_str();
            [
                "x-account-sysmeta-",
                "x-container-sysmeta-",
                "x-object-sysmeta-",
            ]
            .iter()
            .any(|p| n.starts_with(p))
        })
        .cloned()
        .collect();
    for name in forged {
        headers.remove(name);
    }
}

impl tower::Service<http::Request<SwiftBody>> for Proxy {
    type Response = http::Response<SwiftBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<SwiftBody>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}

/// Methods each controller serves, for `Allow` and 405.
pub(crate) const ACCOUNT_METHODS: &str = "DELETE, GET, HEAD, OPTIONS, POST, PUT";
pub(crate) const CONTAINER_METHODS: &str = "DELETE, GET, HEAD, OPTIONS, POST, PUT";
pub(crate) const OBJECT_METHODS: &str = "COPY, DELETE, GET, HEAD, OPTIONS, POST, PUT";

impl Inner {
    /// Routes a request; `preset` is an identity established elsewhere,
    /// used instead of the request's token.
    pub(crate) async fn route_with(
        &self,
        req: http::Request<SwiftBody>,
        trans_id: &str,
        preset: Option<Identity>,
    ) -> Reply {
        let (parts, body) = req.into_parts();
        let raw_path = parts.uri.path();
        let headers = to_headers(&parts.headers);
        if raw_path == "/healthcheck" {
            return Reply::typed(200, "text/plain", "OK");
        }
        let Ok(path) = percent_decode_str(raw_path).decode_utf8() else {
            return Reply::body(412, "Invalid UTF8 or contains NULL");
        };
        if path.contains('\0') {
            return Reply::body(412, "Invalid UTF8 or contains NULL");
        }
        if path == "/info" {
            return self.info(&parts.method);
        }
        if let Some(rest) = path.strip_prefix("/auth/") {
            let base = self.base_url(&parts);
            return self
                .auth
                .handle_get_token(&parts.method, rest, &headers, &base)
                .await;
        }
        // split_path(path, 1, 4, rest_with_last=True)
        let Some(trimmed) = path.strip_prefix('/') else {
            return Reply::status(404);
        };
        let segs: Vec<&str> = trimmed.splitn(4, '/').collect();
        let version = segs.first().copied().unwrap_or("");
        if version.is_empty() {
            return Reply::status(404);
        }
        let seg = |i: usize| segs.get(i).copied().filter(|s| !s.is_empty());
        let (account, container, object) = (seg(1), seg(2), seg(3));
        let Some(account) = account else {
            // `/v1//c/o` or `/v1///o`: an empty account before a later
            // segment names nothing (404); `/v1` alone is a bad URL.
            if segs.iter().skip(2).any(|s| !s.is_empty()) {
                return Reply::status(404);
            }
            return Reply::body(412, "Bad URL");
        };
        if version != "v1" && version != "v1.0" {
            return Reply::status(400);
        }
        let allowed = match (container, object) {
            (Some(_), Some(_)) => OBJECT_METHODS,
            (Some(_), None) => CONTAINER_METHODS,
            (None, None) => ACCOUNT_METHODS,
            (None, Some(_)) => return Reply::status(404),
        };
        let method = parts.method.clone();
        if !allowed.split(", ").any(|m| m == method.as_str()) {
            return Reply::status(405).with("allow", allowed);
        }
        if method == http::Method::OPTIONS {
            return Reply::status(200).with("allow", allowed);
        }
        let identity = match preset {
            Some(id) => Ok(Some(id)),
            None => self.identify(&headers).await,
        };
        let identity = match identity {
            Ok(identity) => identity,
            Err(e) => {
                tracing::warn!(error = %e, "token validation failed");
                return Reply::body(503, "Identity service unavailable");
            }
        };
        let mut ctx = Ctx {
            method,
            trans_id: trans_id.to_string(),
            headers,
            query: parse_query(parts.uri.query()),
            account: account.to_string(),
            container: container.map(str::to_string),
            object: object.map(str::to_string),
            body: std::sync::Mutex::new(Some(body)),
            identity,
            owner: false,
        };
        if let Some(acl) = ctx.headers.get(acl::ACCOUNT_ACL_HEADER) {
            let max = self.config.constraints.max_header_size;
            let cleaned = acl::clean_account_acl(acl).and_then(|v| {
                if v.len() > max {
                    Err(format!("ACL too large; max {max} bytes"))
                } else {
                    Ok(v)
                }
            });
            if let Err(e) = cleaned {
                return Reply::typed(
                    400,
                    "text/plain; charset=UTF-8",
                    format!("X-Account-Access-Control invalid: {e}\n\nInput: {acl}\n"),
                );
            }
        }
        ctx.owner = match self.authorize(&ctx, &ctx.account, ctx.container.as_deref()) {
            Ok(()) => true,
            Err(d) => match self.acl_allows(&ctx).await {
                Some(owner) => owner,
                None => return denied(d, raw_path),
            },
        };
        let c = &self.config.constraints;
        if ctx.account.len() > c.max_account_name_length {
            return Reply::body(
                400,
                format!(
                    "Account name length of {} longer than {}",
                    ctx.account.len(),
                    c.max_account_name_length
                ),
            );
        }
        acl::privileged_request_headers(&mut ctx);
        let mut reply = match (ctx.container.is_some(), ctx.object.is_some()) {
            (true, true) => self.object_request(&mut ctx).await,
            (true, false) => self.container_request(&mut ctx).await,
            _ => self.account_request(&mut ctx).await,
        };
        acl::privileged_reply_headers(&ctx, &mut reply.headers);
        reply
    }

    /// The identity behind the request's token: tempauth's, else Keystone's
    /// when that mode is on.
    async fn identify(&self, headers: &Headers) -> Result<Option<Identity>> {
        if let Some(id) = self.auth.identify(headers).await {
            return Ok(Some(id));
        }
        let Some(ks) = &self.keystone else {
            return Ok(None);
        };
        let Some(token) = headers
            .get("x-auth-token")
            .or_else(|| headers.get("x-storage-token"))
        else {
            return Ok(None);
        };
        ks.identify(token).await
    }

    /// tempauth's decision for the request's identity on another path.
    pub(crate) fn authorize(
        &self,
        ctx: &Ctx,
        account: &str,
        container: Option<&str>,
    ) -> std::result::Result<(), auth::tempauth::Denied> {
        self.auth
            .authorize(ctx.identity.as_ref(), &ctx.method, account, container)
    }

    /// Headers for a backend request: the client's, minus per-connection
    /// and credential headers, plus the transaction id.
    pub(crate) fn backend_headers(&self, ctx: &Ctx, with_body: bool) -> Headers {
        let mut h: Headers = ctx
            .headers
            .iter()
            .filter(|(n, _)| {
                !response::is_hop_by_hop(n)
                    && !matches!(
                        *n,
                        "host"
                            | "x-auth-token"
                            | "x-storage-token"
                            | "expect"
                            | "x-timestamp"
                            | "authorization"
                            | "cookie"
                    )
                    && (with_body || *n != "content-length")
                    && !n.starts_with("x-backend-")
            })
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        parse::apply_removals(&mut h);
        h.set("x-trans-id", ctx.trans_id.clone());
        h.set("user-agent", "proxy-server");
        h
    }
}
