//! Request helpers shared by the container and account servers: listing
//! parameters, timestamps, metadata headers, error statuses.

use super::listing::ListingParams;
use super::Metadata;
use crate::error::Error;
use crate::headers::Headers;
use crate::node::{NodeConfig, NodeMethod, NodeRequest, NodeResponse};
use crate::timestamp::Timestamp;

/// A request without its body: `Sync`, so handlers can hold it across
/// awaits (database servers never read a body).
#[derive(Debug)]
pub(crate) struct Req {
    pub(crate) method: NodeMethod,
    pub(crate) device: String,
    pub(crate) partition: u32,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Headers,
}

impl Req {
    pub(crate) fn new(r: NodeRequest) -> Self {
        Self {
            method: r.method,
            device: r.device,
            partition: r.partition,
            path: r.path,
            query: r.query,
            headers: r.headers,
        }
    }

    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Account, container and object of the path.
    pub(crate) fn parts(&self) -> (String, Option<String>, Option<String>) {
        let mut it = self.path.splitn(3, '/');
        let a = it.next().unwrap_or("").to_string();
        (
            a,
            it.next().map(str::to_string),
            it.next().map(str::to_string),
        )
    }
}

/// A plain-text response with a short body.
pub(crate) fn text(status: u16, body: &str) -> NodeResponse {
    let mut r = NodeResponse::with_body(status, body.to_string());
    r.headers.set("Content-Type", "text/plain; charset=utf-8");
    r.headers.set("Content-Length", body.len().to_string());
    r
}

/// Maps a broker error to a status.
pub(crate) fn error_response(e: &Error) -> NodeResponse {
    match e {
        Error::NotFound { .. } => NodeResponse::status(404),
        Error::InvalidInput { reason } => text(400, reason),
        Error::Conflict { .. } => NodeResponse::status(409),
        Error::InsufficientStorage { .. } => NodeResponse::status(507),
        Error::Unavailable { .. } => NodeResponse::status(503),
        _ => {
            tracing::error!(error = %e, "database request failed");
            NodeResponse::status(500)
        }
    }
}

/// Whether the device directory exists (507 otherwise, as Swift's
/// `check_drive` answers).
pub(crate) async fn device_ok(config: &NodeConfig, device: &str) -> bool {
    if device.is_empty() || device.contains('/') || device == "." || device == ".." {
        return false;
    }
    tokio::fs::metadata(config.devices.join(device))
        .await
        .map(|m| m.is_dir())
        .unwrap_or(false)
}

/// The required `X-Timestamp`, or the 400 Swift sends.
pub(crate) fn x_timestamp(req: &Req) -> Result<Timestamp, NodeResponse> {
    header_timestamp(&req.headers, "x-timestamp")
}

/// A timestamp header, or 400.
pub(crate) fn header_timestamp(h: &Headers, name: &str) -> Result<Timestamp, NodeResponse> {
    match h.get(name) {
        None => Err(text(400, &format!("Missing {name} header"))),
        Some(v) => v.parse().map_err(|_| {
            text(
                400,
                &format!("{name} should be a UNIX timestamp float value"),
            )
        }),
    }
}

/// A non-negative integer header, or 400.
pub(crate) fn header_u64(h: &Headers, name: &str) -> Result<u64, NodeResponse> {
    h.get(name)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| text(400, &format!("invalid {name}")))
}

/// `X-Backend-Storage-Policy-Index`, if sent; 400 if not a number.
pub(crate) fn policy_index(h: &Headers) -> Result<Option<u32>, NodeResponse> {
    match h.get("x-backend-storage-policy-index") {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| text(400, "invalid x-backend-storage-policy-index")),
    }
}

/// Metadata headers to store: user and system metadata of `kind`
/// (`container` or `account`) plus `extra` names.
pub(crate) fn metadata_from_headers(
    h: &Headers,
    kind: &str,
    extra: &[&str],
    ts: Timestamp,
) -> Metadata {
    let user = format!("x-{kind}-meta-");
    let sys = format!("x-{kind}-sysmeta-");
    h.iter()
        .filter(|(n, _)| {
            (n.starts_with(&user) && n.len() > user.len())
                || (n.starts_with(&sys) && n.len() > sys.len())
                || extra.contains(n)
        })
        .map(|(n, v)| (n.to_string(), (v.to_string(), ts)))
        .collect()
}

/// Adds non-empty metadata values as response headers.
pub(crate) fn add_metadata_headers(h: &mut Headers, md: &Metadata) {
    for (k, (v, _)) in md {
        if !v.is_empty() {
            h.set(k.clone(), v.clone());
        }
    }
}

fn truthy(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on" | "t" | "y"
    )
}

/// Parses Swift's listing query parameters; errors are the response Swift
/// gives (412 for a too-large limit or bad delimiter, 400 for NUL bytes).
/// A limit that is not a number is ignored, as Swift does.
pub(crate) fn listing_params(req: &Req, max: usize) -> Result<ListingParams, NodeResponse> {
    let get = |name: &str| -> Result<Option<String>, NodeResponse> {
        match req.query_param(name) {
            Some(v) if v.contains('\0') => {
                Err(text(400, &format!("\"{name}\" parameter not valid UTF-8")))
            }
            Some(v) => Ok(Some(v.to_string())),
            None => Ok(None),
        }
    };
    let mut p = ListingParams {
        limit: max,
        ..Default::default()
    };
    if let Some(l) = get("limit")? {
        if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) {
            let n = l.parse::<usize>().unwrap_or(usize::MAX);
            if n > max {
                return Err(text(412, &format!("Maximum limit is {max}")));
            }
            p.limit = n;
        }
    }
    p.marker = get("marker")?.unwrap_or_default();
    p.end_marker = get("end_marker")?.unwrap_or_default();
    p.prefix = get("prefix")?.filter(|s| !s.is_empty());
    p.delimiter = get("delimiter")?.filter(|s| !s.is_empty());
    if let Some(d) = &p.delimiter {
        if d.chars().count() > 1 || d.chars().any(|c| u32::from(c) > 254) {
            return Err(text(412, "Bad delimiter"));
        }
    }
    p.path = get("path")?;
    p.reverse = get("reverse")?.is_some_and(|v| truthy(&v));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &[(&str, &str)]) -> Req {
        let mut r = NodeRequest::new(NodeMethod::Get, "sda", 0, "a/c");
        r.query = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Req::new(r)
    }

    #[test]
    fn listing_params_like_swift() {
        let p = listing_params(&req(&[("limit", "5"), ("reverse", "on")]), 10_000).unwrap();
        assert_eq!(p.limit, 5);
        assert!(p.reverse);
        let p = listing_params(&req(&[("limit", "abc")]), 10_000).unwrap();
        assert_eq!(p.limit, 10_000);
        let e = listing_params(&req(&[("limit", "10001")]), 10_000).unwrap_err();
        assert_eq!(e.status, 412);
        let e = listing_params(&req(&[("marker", "a\0")]), 10_000).unwrap_err();
        assert_eq!(e.status, 400);
        let e = listing_params(&req(&[("delimiter", "ab")]), 10_000).unwrap_err();
        assert_eq!(e.status, 412);
        let p = listing_params(&req(&[("reverse", "no"), ("prefix", "")]), 10).unwrap();
        assert!(!p.reverse && p.prefix.is_none());
    }
}
