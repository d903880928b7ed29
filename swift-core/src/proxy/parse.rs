//! Reading a client request: its headers and query string.

use percent_encoding::percent_decode_str;

use crate::headers::Headers;

/// The request's headers as [`Headers`] (lossy UTF-8).
pub(super) fn to_headers(h: &http::HeaderMap) -> Headers {
    h.iter()
        .map(|(n, v)| {
            let v = match std::str::from_utf8(v.as_bytes()) {
                Ok(s) => s.to_string(),
                Err(_) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
            };
            (n.as_str().to_string(), v)
        })
        .collect()
}

/// Turns `X-Remove-{Account,Container}-Meta-*` into the empty metadata
/// value that deletes the item, unless the request also sets it.
pub(super) fn apply_removals(h: &mut Headers) {
    let removals: Vec<String> = h
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("x-remove-"))
        .filter(|rest| rest.starts_with("account-meta-") || rest.starts_with("container-meta-"))
        .map(|rest| format!("x-{rest}"))
        .collect();
    for name in removals {
        h.remove(&format!("x-remove-{}", &name[2..]));
        if !h.contains(&name) {
            h.set(name, "");
        }
    }
}

/// The query's decoded pairs (`+` is a space).
pub(super) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        out.push((dec(k), dec(v)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_become_empty_values() {
        let mut h = Headers::new()
            .with("x-remove-container-meta-a", "yes")
            .with("x-remove-account-meta-b", "x")
            .with("x-remove-container-meta-c", "1")
            .with("x-container-meta-c", "kept")
            .with("x-remove-object-meta-d", "1");
        apply_removals(&mut h);
        assert_eq!(h.get("x-container-meta-a"), Some(""));
        assert_eq!(h.get("x-account-meta-b"), Some(""));
        assert_eq!(h.get("x-container-meta-c"), Some("kept"));
        assert!(!h.contains("x-remove-container-meta-a"));
        // Objects have no removal headers: POST replaces all metadata.
        assert!(h.contains("x-remove-object-meta-d"));
    }
}
