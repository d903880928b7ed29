//! Conditional GET/HEAD (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`), evaluated by the proxy on the chosen replica's
//! answer, so a 304 or 412 carries the object's `ETag`, `Last-Modified`
//! and `Accept-Ranges` as Swift's do.

use std::time::SystemTime;

use crate::headers::Headers;

/// The request headers this module answers for.
pub(crate) const CONDITIONAL_HEADERS: [&str; 4] = [
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
];

/// Moves the conditional headers out of a backend request.
pub(crate) fn take_conditions(backend: &mut Headers) -> Headers {
    let mut out = Headers::new();
    for name in CONDITIONAL_HEADERS {
        if let Some(v) = backend.remove(name) {
            out.set(name, v);
        }
    }
    out
}

/// A `Range` header without the whitespace Swift tolerates and with the
/// unit in lower case (`BYTES = 0 - 999` is `bytes=0-999`); `None` when it
/// is not a byte range (left to the object server, which ignores it).
pub(crate) fn normalize_range(v: &str) -> Option<String> {
    let compact: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    let (unit, ranges) = compact.split_once('=')?;
    unit.eq_ignore_ascii_case("bytes")
        .then(|| format!("bytes={ranges}"))
        .filter(|n| *n != v)
}

/// Whether `etag` is in a comma-separated list of (quoted or bare) tags;
/// `*` matches any.
fn etag_listed(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == "*" || t == etag)
}

fn date(v: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(v.trim()).ok()
}

/// The status that replaces a successful GET/HEAD whose `resp` headers
/// fail the request's `conds`: 412 or 304; `None` to serve it.
pub(crate) fn failed_status(conds: &Headers, resp: &Headers) -> Option<u16> {
    let etag = resp.get("etag").unwrap_or("").trim_matches('"');
    if let Some(list) = conds.get("if-match") {
        if !etag_listed(list, etag) {
            return Some(412);
        }
    }
    if let Some(list) = conds.get("if-none-match") {
        if etag_listed(list, etag) {
            return Some(304);
        }
    }
    let last_modified = resp.get("last-modified").and_then(date);
    if let (Some(lm), Some(since)) = (last_modified, conds.get("if-modified-since").and_then(date))
    {
        if conds.get("if-none-match").is_none() && lm <= since {
            return Some(304);
        }
    }
    if let (Some(lm), Some(since)) = (
        last_modified,
        conds.get("if-unmodified-since").and_then(date),
    ) {
        if lm > since {
            return Some(412);
        }
    }
    None
}

/// The headers of a 304/412 built from the object's: everything but the
/// body's framing.
pub(crate) fn failed_headers(resp: &Headers) -> Headers {
    resp.iter()
        .filter(|(n, _)| !matches!(*n, "content-length" | "content-range"))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp() -> Headers {
        Headers::new()
            .with("etag", "abc")
            .with("last-modified", "Wed, 25 Nov 2026 01:00:00 GMT")
            .with("content-length", "5")
    }

    fn conds(name: &str, v: &str) -> Headers {
        Headers::new().with(name, v)
    }

    #[test]
    fn etag_conditions() {
        assert_eq!(failed_status(&conds("if-match", "abc"), &resp()), None);
        assert_eq!(
            failed_status(&conds("if-match", "\"x\", \"abc\""), &resp()),
            None
        );
        assert_eq!(failed_status(&conds("if-match", "*"), &resp()), None);
        assert_eq!(
            failed_status(&conds("if-match", "bogus"), &resp()),
            Some(412)
        );
        assert_eq!(
            failed_status(&conds("if-none-match", "\"abc\""), &resp()),
            Some(304)
        );
        assert_eq!(
            failed_status(&conds("if-none-match", "*"), &resp()),
            Some(304)
        );
        assert_eq!(
            failed_status(&conds("if-none-match", "bogus"), &resp()),
            None
        );
    }

    #[test]
    fn date_conditions_in_all_three_formats() {
        let later = "Thu, 26 Nov 2026 01:00:00 GMT";
        assert_eq!(
            failed_status(&conds("if-modified-since", later), &resp()),
            Some(304)
        );
        let same = "Wed, 25 Nov 2026 01:00:00 GMT";
        assert_eq!(
            failed_status(&conds("if-modified-since", same), &resp()),
            Some(304)
        );
        let earlier = "Tuesday, 24-Nov-26 01:00:00 GMT";
        assert_eq!(
            failed_status(&conds("if-modified-since", earlier), &resp()),
            None
        );
        assert_eq!(
            failed_status(&conds("if-unmodified-since", earlier), &resp()),
            Some(412)
        );
        let asctime = "Thu Nov 26 01:00:00 2026";
        assert_eq!(
            failed_status(&conds("if-unmodified-since", asctime), &resp()),
            None
        );
        assert_eq!(
            failed_status(&conds("if-modified-since", "garbage"), &resp()),
            None
        );
    }

    #[test]
    fn ranges_lose_their_whitespace() {
        for r in [
            "BYTES=0-999",
            "bytes = 0-999",
            "BYTES = 0 - 999",
            "bytes=0-999 ",
        ] {
            assert_eq!(normalize_range(r).as_deref(), Some("bytes=0-999"), "{r}");
        }
        assert_eq!(normalize_range("bytes=0-999"), None);
        assert_eq!(normalize_range("lines=0-9"), None);
    }

    #[test]
    fn conditions_leave_the_backend_request() {
        let mut h = Headers::new()
            .with("if-match", "a")
            .with("range", "bytes=0-1");
        let c = take_conditions(&mut h);
        assert_eq!(c.get("if-match"), Some("a"));
        assert!(!h.contains("if-match") && h.contains("range"));
        let f = failed_headers(&resp());
        assert_eq!(f.get("etag"), Some("abc"));
        assert!(f.get("content-length").is_none());
    }
}
