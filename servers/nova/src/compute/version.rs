//! Version discovery and microversions: `GET /`, `GET /v2.1`, and the
//! middleware that reads `OpenStack-API-Version: compute X.Y` (or the
//! legacy `X-OpenStack-Nova-API-Version`) into a [`Microversion`]
//! extension and stamps every versioned response with the version headers.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::fault::Fault;
use crate::state::ApiState;

/// The oldest microversion served (2.1).
pub const MIN_MINOR: u16 = 1;
/// The newest microversion served (2.30).
pub const MAX_MINOR: u16 = 30;

/// The microversion of a request: `2.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u16);

impl Microversion {
    /// Whether the request is at `2.minor` or later.
    pub fn at_least(self, minor: u16) -> bool {
        self.0 >= minor
    }
}

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "2.{}", self.0)
    }
}

/// The version a request asks for: `Ok(None)` when it names none.
fn requested(headers: &HeaderMap) -> Result<Option<String>, Fault> {
    for v in headers.get_all("openstack-api-version") {
        let v = v
            .to_str()
            .map_err(|_| Fault::bad_request("Invalid OpenStack-API-Version header"))?;
        for item in v.split(',') {
            let mut it = item.split_whitespace();
            if let (Some(service), Some(ver)) = (it.next(), it.next()) {
                if service.eq_ignore_ascii_case("compute") {
                    return Ok(Some(ver.to_owned()));
                }
            }
        }
    }
    if let Some(v) = headers.get("x-openstack-nova-api-version") {
        let v = v
            .to_str()
            .map_err(|_| Fault::bad_request("Invalid X-OpenStack-Nova-API-Version header"))?;
        return Ok(Some(v.trim().to_owned()));
    }
    Ok(None)
}

/// Parses `X.Y` / `latest` and checks the served range.
pub(crate) fn negotiate(headers: &HeaderMap) -> Result<Microversion, Fault> {
    let Some(v) = requested(headers)? else {
        return Ok(Microversion(MIN_MINOR));
    };
    if v.eq_ignore_ascii_case("latest") {
        return Ok(Microversion(MAX_MINOR));
    }
    let bad = || {
        Fault::bad_request(format!(
            "API Version String {v} is of invalid format. Must be of format MajorNum.MinorNum."
        ))
    };
    let (major, minor) = v.split_once('.').ok_or_else(bad)?;
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())?
    };
    let (major, minor) = (num(major).ok_or_else(bad)?, num(minor).ok_or_else(bad)?);
    let in_range = major == 2 && (u32::from(MIN_MINOR)..=u32::from(MAX_MINOR)).contains(&minor);
    match u16::try_from(minor) {
        Ok(m) if in_range => Ok(Microversion(m)),
        _ => Err(Fault::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {v} is not supported by the API. Minimum is 2.{MIN_MINOR} and maximum is 2.{MAX_MINOR}."
            ),
        )),
    }
}

fn stamp(resp: &mut Response, v: Microversion) {
    let h = resp.headers_mut();
    if let Ok(val) = HeaderValue::from_str(&format!("compute {v}")) {
        h.insert("openstack-api-version", val);
    }
    if let Ok(val) = HeaderValue::from_str(&v.to_string()) {
        h.insert("x-openstack-nova-api-version", val);
    }
    h.insert(
        http::header::VARY,
        HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
}

/// Middleware for `/v2.1…`: 400/406 faults for bad versions, else the
/// [`Microversion`] extension; version headers on every response.
pub(crate) async fn microversion(mut req: Request, next: Next) -> Response {
    match negotiate(req.headers()) {
        Ok(v) => {
            req.extensions_mut().insert(v);
            let mut resp = next.run(req).await;
            stamp(&mut resp, v);
            resp
        }
        Err(f) => {
            let mut resp = f.into_response();
            stamp(&mut resp, Microversion(MIN_MINOR));
            resp
        }
    }
}

fn v21(base: &str) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": format!("2.{MAX_MINOR}"),
        "min_version": format!("2.{MIN_MINOR}"),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}/v2.1/")}],
    })
}

/// `GET /`: every version.
pub(crate) async fn versions(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let base = state.base_url(&headers);
    let v2 = json!({
        "id": "v2.0",
        "status": "DEPRECATED",
        "version": "",
        "min_version": "",
        "updated": "2025-07-04T12:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/v2/")}],
    });
    Json(json!({"versions": [v2, v21(&base)]})).into_response()
}

/// `GET /v2.1`: this version, with its media types.
pub(crate) async fn version(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let base = state.base_url(&headers);
    let mut v = v21(&base);
    v["links"] = json!([
        {"rel": "self", "href": format!("{base}/v2.1/")},
        {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
    ]);
    v["media-types"] = json!([{
        "base": "application/json",
        "type": "application/vnd.openstack.compute+json;version=2.1",
    }]);
    Json(json!({ "version": v })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn both_headers_latest_and_defaults() {
        assert_eq!(negotiate(&h(&[])).unwrap(), Microversion(1));
        let v = negotiate(&h(&[("openstack-api-version", "compute 2.10")])).unwrap();
        assert_eq!(v, Microversion(10));
        let v = negotiate(&h(&[("openstack-api-version", "volume 3.5, compute 2.3")])).unwrap();
        assert_eq!(v, Microversion(3));
        let v = negotiate(&h(&[("x-openstack-nova-api-version", "2.25")])).unwrap();
        assert_eq!(v, Microversion(25));
        let v = negotiate(&h(&[("openstack-api-version", "compute latest")])).unwrap();
        assert_eq!(v, Microversion(MAX_MINOR));
        // Only another service's version: the default.
        let v = negotiate(&h(&[("openstack-api-version", "volume 3.5")])).unwrap();
        assert_eq!(v, Microversion(1));
    }

    #[test]
    fn out_of_range_is_406_and_garbage_400() {
        for bad in ["2.31", "2.999", "3.0", "2.0", "1.1"] {
            let f = negotiate(&h(&[("x-openstack-nova-api-version", bad)])).unwrap_err();
            assert_eq!(f.status(), StatusCode::NOT_ACCEPTABLE, "{bad}");
            assert_eq!(f.name(), "computeFault");
        }
        for bad in ["2", "two.one", "2.x", "", "2.1.1", "99999999999.1"] {
            let f = negotiate(&h(&[("x-openstack-nova-api-version", bad)])).unwrap_err();
            assert_eq!(f.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
