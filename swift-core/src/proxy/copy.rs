//! Server-side copy: `COPY` with `Destination` and PUT with `X-Copy-From`.
//! The proxy GETs the source and PUTs its body to the destination, with the
//! source's metadata merged with the request's.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::controller::object_put::{set_content_type, PutTarget};
use super::controller::{apply_delete_at, object::ctx_path};
use super::response::Reply;
use super::{Ctx, Inner};
use crate::headers::Headers;

/// Characters left unescaped in `X-Copied-From`, as Python's `quote`.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Splits `[/]container/object` (percent-encoded) into its parts.
fn parse_location(value: &str) -> Option<(String, String)> {
    let decoded = percent_decode_str(value).decode_utf8().ok()?;
    let trimmed = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (c, o) = trimmed.split_once('/')?;
    if c.is_empty() || o.is_empty() || trimmed.contains('\0') {
        return None;
    }
    Some((c.to_string(), o.to_string()))
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on" | "t" | "y"
        )
    })
}

struct Location {
    account: String,
    container: String,
    object: String,
}

impl Inner {
    /// `COPY /v1/a/c/o` with `Destination: c2/o2` (and optionally
    /// `Destination-Account`).
    pub(crate) async fn copy_request(&self, ctx: &mut Ctx) -> Reply {
        let Some(dest) = ctx.headers.get("destination") else {
            return Reply::typed(412, "text/plain", "You must provide a Destination header");
        };
        let Some((dc, dobj)) = parse_location(dest) else {
            return Reply::typed(
                412,
                "text/plain",
                "Destination header must be of the form <container name>/<object name>",
            );
        };
        let dacct = ctx
            .headers
            .get("destination-account")
            .map(|a| percent_decode_str(a).decode_utf8_lossy().into_owned())
            .unwrap_or_else(|| ctx.account.clone());
        let (account, container, object) = ctx_path(ctx);
        let src = Location {
            account,
            container,
            object,
        };
        let dst = Location {
            account: dacct,
            container: dc,
            object: dobj,
        };
        self.copy(ctx, src, dst).await
    }

    /// `PUT /v1/a/c/o` with `X-Copy-From: c2/o2` (and optionally
    /// `X-Copy-From-Account`).
    pub(crate) async fn put_copy(&self, ctx: &mut Ctx) -> Reply {
        if ctx
            .headers
            .get("content-length")
            .is_some_and(|v| v.trim() != "0")
        {
            return Reply::typed(400, "text/plain", "Copy requests require a zero byte body");
        }
        let from = ctx.headers.get("x-copy-from").unwrap_or("");
        let Some((sc, so)) = parse_location(from) else {
            return Reply::typed(
                412,
                "text/plain",
                "X-Copy-From header must be of the form <container name>/<object name>",
            );
        };
        let sacct = ctx
            .headers
            .get("x-copy-from-account")
            .map(|a| percent_decode_str(a).decode_utf8_lossy().into_owned())
            .unwrap_or_else(|| ctx.account.clone());
        let (account, container, object) = ctx_path(ctx);
        let src = Location {
            account: sacct,
            container: sc,
            object: so,
        };
        let dst = Location {
            account,
            container,
            object,
        };
        self.copy(ctx, src, dst).await
    }

    async fn copy(&self, ctx: &Ctx, src: Location, dst: Location) -> Reply {
        let c = &self.config.constraints;
        for (acct, cont) in [
            (&src.account, &src.container),
            (&dst.account, &dst.container),
        ] {
            if acct.len() > c.max_account_name_length || cont.len() > c.max_container_name_length {
                return Reply::status(400);
            }
        }
        if dst.object.len() > c.max_object_name_length {
            return Reply::typed(
                400,
                "text/plain",
                format!(
                    "Object name length of {} longer than {}",
                    dst.object.len(),
                    c.max_object_name_length
                ),
            );
        }
        let id = ctx.identity.as_ref();
        let get = http::Method::GET;
        let put = http::Method::PUT;
        for (method, loc) in [(&get, &src), (&put, &dst)] {
            if let Err(d) = self
                .auth
                .authorize(id, method, &loc.account, Some(&loc.container))
            {
                let target = super::acl::AclTarget {
                    method,
                    account: &loc.account,
                    container: Some(&loc.container),
                    object: true,
                };
                if self.acl_allows_for(ctx, target).await.is_none() {
                    return Reply::status(d.status());
                }
            }
        }
        let mut src_headers = Headers::new().with("x-trans-id", ctx.trans_id.clone());
        src_headers.set("x-newest", "true");
        // A copy with Range copies only that part of the source.
        if let Some(range) = ctx.headers.get("range") {
            src_headers.set("range", range);
        }
        let source = self
            .object_get(
                &get,
                &src.account,
                &src.container,
                &src.object,
                &[],
                src_headers,
            )
            .await;
        if !(200..300).contains(&source.status) {
            return match source.status {
                s if s >= 500 => Reply::status(503),
                s => Reply::status(s),
            };
        }
        let length: Option<u64> = source
            .headers
            .get("content-length")
            .and_then(|v| v.parse().ok());
        if length.is_some_and(|n| n > c.max_file_size) {
            return Reply::typed(413, "text/plain", "Your request is too large.");
        }
        let mut headers = self.backend_headers(ctx, false);
        for h in [
            "x-copy-from",
            "x-copy-from-account",
            "destination",
            "destination-account",
            "content-length",
            "etag",
            "range",
        ] {
            headers.remove(h);
        }
        let fresh = is_true(headers.remove("x-fresh-metadata").as_deref());
        if let Some(ct) = source.headers.get("content-type") {
            if !headers.contains("content-type") {
                headers.set("content-type", ct);
            }
        }
        if !fresh {
            for (n, v) in source.headers.iter() {
                let copied = n.starts_with("x-object-meta-")
                    || n == "content-encoding"
                    || n == "content-disposition";
                if copied && !headers.contains(n) {
                    headers.set(n, v);
                }
            }
        }
        if let Some(etag) = source.headers.get("etag").filter(|_| source.status != 206) {
            headers.set("etag", etag.trim_matches('"'));
        }
        if let Err(e) = c.check_metadata(&headers, crate::names::MetaKind::Object) {
            return Reply::typed(400, "text/plain", e.to_string());
        }
        if let Err(r) = apply_delete_at(&mut headers) {
            return r;
        }
        set_content_type(&mut headers, &dst.object);
        let last_modified = source.headers.get("last-modified").map(str::to_string);
        let target = PutTarget {
            account: &dst.account,
            container: &dst.container,
            object: &dst.object,
        };
        let mut reply = self
            .put_stream(ctx, &target, headers, source.body, length)
            .await;
        if reply.status == 201 {
            let from = format!("{}/{}", src.container, src.object);
            reply.headers.set(
                "x-copied-from",
                utf8_percent_encode(&from, QUOTE).to_string(),
            );
            if let Some(lm) = last_modified {
                reply.headers.set("x-copied-from-last-modified", lm);
            }
            if src.account != dst.account {
                reply.headers.set(
                    "x-copied-from-account",
                    utf8_percent_encode(&src.account, QUOTE).to_string(),
                );
            }
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(parse_location("/c/o/p"), Some(("c".into(), "o/p".into())));
        assert_eq!(parse_location("c%20x/o"), Some(("c x".into(), "o".into())));
        assert_eq!(parse_location("c"), None);
        assert_eq!(parse_location("/c/"), None);
        assert_eq!(parse_location("%ff/o"), None);
    }
}
