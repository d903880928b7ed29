//! Image data handlers: `PUT/GET /v2/images/{id}/file`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::TryStreamExt;
use glance_core::image::access::Caller;
use glance_core::service::UploadOptions;
use glance_core::store::{ByteRange, GetOptions};
use glance_core::{ByteStream, Error};
use http::{header, HeaderMap, StatusCode};

use crate::error::ApiError;
use crate::images::parse_id;
use crate::router::AppState;

fn header_size(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a size in bytes")))
        })
        .transpose()
}

/// The upload options of a data request: the declared size
/// (`x-openstack-image-size`, else `Content-Length`; both must agree) and
/// the target store (`X-Image-Meta-Store`).
pub(crate) fn upload_options(headers: &HeaderMap) -> Result<UploadOptions, ApiError> {
    let declared = header_size(headers, "x-openstack-image-size")?;
    let length = header_size(headers, header::CONTENT_LENGTH.as_str())?;
    if let (Some(d), Some(l)) = (declared, length) {
        if d != l {
            return Err(ApiError::bad_request(format!(
                "Size exceeds: expected {d} bytes, got {l} bytes"
            )));
        }
    }
    let mut opts = UploadOptions::default();
    opts.expected_size = declared.or(length);
    opts.store = headers
        .get("x-image-meta-store")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(opts)
}

/// The request body as image data; a broken connection is an error of
/// the stream, so the store discards what it got.
pub(crate) fn body_stream(body: Body) -> ByteStream {
    Box::pin(
        body.into_data_stream()
            .map_err(|e| Error::invalid(format!("upload interrupted: {e}"))),
    )
}

/// `PUT /v2/images/{id}/file`: streams the body into the store; the image
/// becomes active with its hashes, or goes back to queued on failure.
pub(crate) async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    if !ctype.starts_with("application/octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {ctype:?} is not supported; use application/octet-stream"),
        ));
    }
    let opts = upload_options(&headers)?;
    state
        .service
        .upload(&caller, &id, body_stream(body), opts)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `HEAD /v2/images/{id}/file`: 405, as Glance answers.
pub(crate) async fn head_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method HEAD is not allowed for this resource.",
    )
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against `size`.
fn parse_range(value: &str, size: u64) -> Result<ByteRange, Error> {
    let unsatisfiable = Error::RangeNotSatisfiable { size };
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or(Error::RangeNotSatisfiable { size })?;
    let (a, b) = spec
        .split_once('-')
        .ok_or(Error::RangeNotSatisfiable { size })?;
    let num = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| Error::RangeNotSatisfiable { size })
    };
    if a.trim().is_empty() {
        let n = num(b)?;
        if n == 0 {
            return Err(unsatisfiable);
        }
        return Ok(ByteRange {
            start: size.saturating_sub(n),
            end: None,
        });
    }
    let start = num(a)?;
    let end = if b.trim().is_empty() {
        None
    } else {
        Some(num(b)?.saturating_add(1))
    };
    Ok(ByteRange { start, end })
}

/// `GET /v2/images/{id}/file`: 200 with the data, 206 for a `Range`,
/// 204 when the image has no data.
pub(crate) async fn download(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let image = state.service.get(&caller, &id).await?;
    let (Some(size), false) = (image.size, image.locations.is_empty()) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size).and_then(|r| r.resolve(size).map(|res| (r, res))))
        .transpose();
    let range = match range {
        Ok(r) => r,
        Err(e) => {
            let mut resp = ApiError::from(e).into_response();
            if let Ok(v) = format!("bytes */{size}").parse() {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(resp);
        }
    };
    let opts = range.map(|(r, _)| GetOptions::range(r)).unwrap_or_default();
    let stream = state.service.download(&caller, &id, opts).await?;
    let mut builder = Response::builder().header(header::CONTENT_TYPE, "application/octet-stream");
    if let Some(md5) = &image.checksum {
        builder = builder.header("content-md5", md5.as_str());
    }
    builder = match range {
        Some((_, (offset, len))) => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_LENGTH, len)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {offset}-{}/{size}", offset + len - 1),
            ),
        None => builder
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, size),
    };
    builder
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::from(Error::backend("http", e)))
}
