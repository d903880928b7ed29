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
