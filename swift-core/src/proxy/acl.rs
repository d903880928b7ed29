//! Access control lists, as tempauth applies them once its owner rules
//! said no: container ACLs (`X-Container-Read`/`-Write`: referrers `.r:`,
//! `.rlistings`, `account` and `account:user` entries) and account ACLs
//! (`X-Account-Access-Control`: JSON lists `admin`, `read-write`,
//! `read-only`, stored as system metadata).

use serde_json::{Map, Value};

use super::{Ctx, Inner};
use crate::headers::Headers;

/// Where an account's ACL is stored.
pub(crate) const ACCOUNT_ACL_SYSMETA: &str = "x-account-sysmeta-core-access-control";
/// The client-facing account ACL header.
pub(crate) const ACCOUNT_ACL_HEADER: &str = "x-account-access-control";

/// A container ACL: referrer rules and group names.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ContainerAcl {
    referrers: Vec<String>,
    groups: Vec<String>,
}

impl ContainerAcl {
    /// Parses `X-Container-Read`/`-Write`: comma-separated entries; `.r:`
    /// (or `.ref:`, `.referer:`, `.referrer:`) entries are referrer rules.
    pub(crate) fn parse(acl: &str) -> Self {
        let mut out = Self::default();
        for entry in acl.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.split_once(':') {
                Some((".r" | ".ref" | ".referer" | ".referrer", host)) => {
                    out.referrers.push(host.trim().to_string());
                }
                _ => out.groups.push(entry.to_string()),
            }
        }
        out
    }

    /// Whether the ACL names `group`.
    pub(crate) fn has_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Whether a request with this `Referer` passes the referrer rules
    /// (`*` any, `.example.com` a domain, `-host` an exclusion; later
    /// rules win).
    pub(crate) fn referrer_allowed(&self, referer: Option<&str>) -> bool {
        let host = referer.and_then(referer_host).unwrap_or("unknown");
        let matches = |m: &str| m == host || (m.starts_with('.') && host.ends_with(m));
        let mut allow = false;
        for rule in &self.referrers {
            if let Some(denied) = rule.strip_prefix('-') {
                if matches(denied) {
                    allow = false;
                }
            } else if rule == "*" || matches(rule) {
                allow = true;
            }
        }
        allow
    }
}

/// The host of a `Referer` URL.
fn referer_host(referer: &str) -> Option<&str> {
    let rest = referer.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// The access an account ACL grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AccountAccess {
    /// GET and HEAD anywhere in the account.
    ReadOnly,
    /// Also writes inside containers.
    ReadWrite,
    /// Everything the owner may do.
    Admin,
}

const ACL_KEYS: [(&str, AccountAccess); 3] = [
    ("admin", AccountAccess::Admin),
    ("read-write", AccountAccess::ReadWrite),
    ("read-only", AccountAccess::ReadOnly),
];

/// Validates a client's `X-Account-Access-Control` and returns the value
/// to store (compact JSON, keys sorted, empty lists dropped), or the error
/// message for the 400.
pub(crate) fn clean_account_acl(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    let parsed: Value =
        serde_json::from_str(value).map_err(|_| "Syntax error in input (not JSON)".to_string())?;
    let Value::Object(map) = parsed else {
        return Err("Syntax error in input (not a JSON object)".into());
    };
    let mut out = Map::new();
    for (key, v) in map {
        if !ACL_KEYS.iter().any(|(k, _)| *k == key) {
            return Err(format!("Key {key:?} not recognized"));
        }
        let Value::Array(items) = v else {
            return Err(format!("Value for key {key:?} must be a list"));
        };
        if items.iter().any(|i| !i.is_string()) {
            return Err(format!("Elements of {key:?} list must be strings"));
        }
        if !items.is_empty() {
            out.insert(key, Value::Array(items));
        }
    }
    if out.is_empty() {
        return Ok(String::new());
    }
    // serde_json's map is ordered by key: the output is canonical.
    Ok(Value::Object(out).to_string())
}

/// The highest access a stored account ACL grants to any of `groups`.
pub(crate) fn account_access(stored: &str, groups: &[String]) -> Option<AccountAccess> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(stored) else {
        return None;
    };
    ACL_KEYS
        .iter()
        .filter(|(key, _)| {
            map.get(*key)
                .and_then(Value::as_array)
                .is_some_and(|names| {
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|n| groups.iter().any(|g| g == n))
                })
        })
        .map(|(_, access)| *access)
        .max()
}

/// Before a request is served: non-owners cannot set privileged headers;
/// an owner's account ACL goes to system metadata (already validated).
pub(crate) fn privileged_request_headers(ctx: &mut Ctx) {
    if !ctx.owner {
        strip_owner_headers(&mut ctx.headers);
        return;
    }
    if ctx.container.is_none() {
        if let Some(v) = ctx.headers.remove(ACCOUNT_ACL_HEADER) {
            let stored = clean_account_acl(&v).unwrap_or_default();
            ctx.headers.set(ACCOUNT_ACL_SYSMETA, stored);
        }
    }
}

/// Before a reply leaves: the stored account ACL is shown (as
/// `X-Account-Access-Control`) to owners only; other privileged headers
/// are hidden from non-owners.
pub(crate) fn privileged_reply_headers(ctx: &Ctx, h: &mut Headers) {
    if ctx.container.is_none() {
        if let Some(v) = h.remove(ACCOUNT_ACL_SYSMETA) {
            if ctx.owner && !v.is_empty() {
                h.set(ACCOUNT_ACL_HEADER, v);
            }
        }
    }
    if !ctx.owner && ctx.object.is_none() {
        strip_owner_headers(h);
    }
}

/// Headers only an account's or container's owner sees.
fn strip_owner_headers(h: &mut Headers) {
    for name in [
        "x-container-read",
        "x-container-write",
        "x-container-sync-key",
        "x-container-sync-to",
        "x-account-meta-temp-url-key",
        "x-account-meta-temp-url-key-2",
        "x-container-meta-temp-url-key",
        "x-container-meta-temp-url-key-2",
        ACCOUNT_ACL_HEADER,
    ] {
        h.remove(name);
    }
}

impl Inner {
    /// Whether an ACL lets `ctx` through after tempauth's owner rules said
    /// no: `Some(true)` as an owner (account ACL `admin`), `Some(false)` as
    /// a plain user, `None` denied.
    pub(crate) async fn acl_allows(&self, ctx: &Ctx) -> Option<bool> {
        let target = AclTarget {
            method: &ctx.method,
            account: &ctx.account,
            container: ctx.container.as_deref(),
            object: ctx.object.is_some(),
        };
        self.acl_allows_for(ctx, target).await
    }

    /// [`Inner::acl_allows`] for another request of the same client (the
    /// source or destination of a copy).
    pub(crate) async fn acl_allows_for(&self, ctx: &Ctx, t: AclTarget<'_>) -> Option<bool> {
        if !self.auth.serves(t.account) {
            return None;
        }
        let groups: &[String] = ctx.identity.as_ref().map_or(&[], |id| &id.groups);
        let read = matches!(t.method.as_str(), "GET" | "HEAD");
        if let Some(container) = t.container {
            let acl_header = if read {
                Some("x-container-read")
            } else if t.object {
                Some("x-container-write")
            } else {
                None
            };
            if let Some(name) = acl_header {
                let info = self.info_headers(ctx, t.account, Some(container)).await;
                let acl =
                    ContainerAcl::parse(info.as_ref().and_then(|h| h.get(name)).unwrap_or(""));
                let referer = ctx.headers.get("referer");
                if acl.referrer_allowed(referer) && (t.object || acl.has_group(".rlistings")) {
                    return Some(false);
                }
                if groups.iter().any(|g| acl.has_group(g)) {
                    return Some(false);
                }
            }
        }
        if groups.is_empty() {
            return None;
        }
        let info = self.info_headers(ctx, t.account, None).await?;
        match account_access(info.get(ACCOUNT_ACL_SYSMETA)?, groups)? {
            AccountAccess::Admin => Some(true),
            AccountAccess::ReadWrite if t.container.is_some() || read => Some(false),
            AccountAccess::ReadOnly if read => Some(false),
            _ => None,
        }
    }
}

/// The request an ACL is checked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AclTarget<'a> {
    pub(crate) method: &'a http::Method,
    pub(crate) account: &'a str,
    pub(crate) container: Option<&'a str>,
    /// Whether the request names an object.
    pub(crate) object: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_acl_referrers_and_groups() {
        let acl = ContainerAcl::parse(".r:*, .rlistings,test2:tester2, other");
        assert!(acl.has_group(".rlistings"));
        assert!(acl.has_group("test2:tester2"));
        assert!(acl.has_group("other"));
        assert!(!acl.has_group("test2"));
        assert!(acl.referrer_allowed(None));
        assert!(acl.referrer_allowed(Some("http://anything.example/")));

        let acl = ContainerAcl::parse(".r:.example.com,.r:-bad.example.com");
        assert!(acl.referrer_allowed(Some("http://www.example.com/page")));
        assert!(!acl.referrer_allowed(Some("https://bad.example.com:8443/x")));
        assert!(!acl.referrer_allowed(Some("http://example.org/")));
        assert!(!acl.referrer_allowed(None));
        assert_eq!(ContainerAcl::parse(""), ContainerAcl::default());
    }

    #[test]
    fn account_acl_validation_and_canonical_form() {
        assert_eq!(
            clean_account_acl(r#"{"read-only":["a:b"],"admin":[],"read-write":["c"]}"#).unwrap(),
            r#"{"read-only":["a:b"],"read-write":["c"]}"#
        );
        assert_eq!(clean_account_acl("").unwrap(), "");
        assert_eq!(clean_account_acl("{}").unwrap(), "");
        assert!(clean_account_acl("not json").is_err());
        assert!(clean_account_acl("[1]").is_err());
        assert!(clean_account_acl(r#"{"bogus":["x"]}"#)
            .unwrap_err()
            .contains("bogus"));
        assert!(clean_account_acl(r#"{"admin":"x"}"#).is_err());
        assert!(clean_account_acl(r#"{"admin":[1]}"#).is_err());
    }

    #[test]
    fn account_access_takes_the_highest_level() {
        let stored =
            r#"{"admin":["test:admin"],"read-only":["test2","test:admin"],"read-write":["rw"]}"#;
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            account_access(stored, &g(&["test:admin", "test"])),
            Some(AccountAccess::Admin)
        );
        assert_eq!(
            account_access(stored, &g(&["test2:x", "test2"])),
            Some(AccountAccess::ReadOnly)
        );
        assert_eq!(
            account_access(stored, &g(&["rw"])),
            Some(AccountAccess::ReadWrite)
        );
        assert_eq!(account_access(stored, &g(&["nobody"])), None);
        assert_eq!(account_access("garbage", &g(&["rw"])), None);
    }
}
