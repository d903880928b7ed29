//! Conditional requests (RFC 7232) with Swift's ETag matching: tags compare
//! with or without quotes, and `*` matches any existing object.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::headers::Headers;

/// The result of evaluating a request's preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the request.
    Proceed,
    /// Answer 304 Not Modified.
    NotModified,
    /// Answer 412 Precondition Failed.
    Failed,
}

/// Whether an `If-Match` / `If-None-Match` value matches `etag`.
pub fn etag_matches(header: &str, etag: &str) -> bool {
    let etag = unquote(etag);
    header
        .split(',')
        .map(|t| unquote(t.trim()))
        .any(|t| t == "*" || t == etag)
}

fn unquote(s: &str) -> &str {
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

fn http_secs(value: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// Evaluates the preconditions of a GET or HEAD (`read`) or another method
/// on an existing object with `etag` and `last_modified` (whole seconds
/// since the epoch, as `Last-Modified` shows it). Invalid dates are ignored.
pub fn evaluate(headers: &Headers, etag: &str, last_modified: u64, read: bool) -> Precondition {
    if let Some(im) = headers.get("if-match") {
        if !etag_matches(im, etag) {
            return Precondition::Failed;
        }
    } else if let Some(ius) = headers.get("if-unmodified-since").and_then(http_secs) {
        if last_modified > ius {
            return Precondition::Failed;
        }
    }
    if let Some(inm) = headers.get("if-none-match") {
        if etag_matches(inm, etag) {
            return if read {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if read {
        if let Some(ims) = headers.get("if-modified-since").and_then(http_secs) {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            // A date in the future is invalid (RFC 7232 3.3).
            if ims <= now && last_modified <= ims {
                return Precondition::NotModified;
            }
        }
    }
    Precondition::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "5d41402abc4b2a76b9719d911017c592";
    const LM: u64 = 1_700_000_000;

    fn eval(name: &str, value: &str) -> Precondition {
        evaluate(&Headers::new().with(name, value), ETAG, LM, true)
    }

    #[test]
    fn etags_quoted_or_not() {
        assert!(etag_matches(&format!("\"{ETAG}\""), ETAG));
        assert!(etag_matches(&format!("x, {ETAG}"), &format!("\"{ETAG}\"")));
        assert!(etag_matches("*", ETAG));
        assert!(!etag_matches("\"other\"", ETAG));
    }

    #[test]
    fn match_headers() {
        assert_eq!(eval("if-match", ETAG), Precondition::Proceed);
        assert_eq!(eval("if-match", "nope"), Precondition::Failed);
        assert_eq!(
            eval("if-none-match", &format!("\"{ETAG}\"")),
            Precondition::NotModified
        );
        assert_eq!(eval("if-none-match", "*"), Precondition::NotModified);
        assert_eq!(eval("if-none-match", "nope"), Precondition::Proceed);
        let h = Headers::new().with("if-none-match", "*");
        assert_eq!(evaluate(&h, ETAG, LM, false), Precondition::Failed);
    }

    #[test]
    fn date_headers() {
        let before = "Tue, 14 Nov 2023 22:13:19 GMT"; // LM - 1
        let at = "Tue, 14 Nov 2023 22:13:20 GMT"; // LM
        assert_eq!(eval("if-modified-since", at), Precondition::NotModified);
        assert_eq!(eval("if-modified-since", before), Precondition::Proceed);
        assert_eq!(eval("if-modified-since", "garbage"), Precondition::Proceed);
        assert_eq!(
            eval("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT"),
            Precondition::Proceed
        );
        assert_eq!(eval("if-unmodified-since", at), Precondition::Proceed);
        assert_eq!(eval("if-unmodified-since", before), Precondition::Failed);
        // If-Match wins over If-Unmodified-Since; If-None-Match over If-Modified-Since.
        let h = Headers::new()
            .with("if-match", ETAG)
            .with("if-unmodified-since", before);
        assert_eq!(evaluate(&h, ETAG, LM, true), Precondition::Proceed);
        let h = Headers::new()
            .with("if-none-match", "nope")
            .with("if-modified-since", at);
        assert_eq!(evaluate(&h, ETAG, LM, true), Precondition::Proceed);
    }
}
