//! Verifying AWS Signature Version 4: the `Authorization` header form and
//! presigned URLs (`X-Amz-Algorithm` in the query). Rebuilds the canonical
//! request from what arrived, derives the signing key from the secret and
//! compares signatures in constant time.

use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

use super::error::S3Error;

/// The payload hash of a body the client did not hash.
pub(crate) const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The most a request's time may be off ours.
const MAX_SKEW_SECS: i64 = 15 * 60;
/// The longest a presigned URL may be valid (a week).
const MAX_EXPIRES_SECS: i64 = 7 * 24 * 3600;

/// What a request's signature claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigAuth {
    pub(crate) access: String,
    /// `YYYYMMDDTHHMMSSZ`.
    pub(crate) amz_date: String,
    /// `date/region/service/aws4_request`.
    pub(crate) scope: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
    /// Seconds a presigned URL stays valid; `None` for header auth.
    pub(crate) expires: Option<i64>,
}

/// Whether a request is signed the S3 way.
pub(crate) fn is_signed(headers: &http::HeaderMap, query: Option<&str>) -> bool {
    let header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(ALGORITHM));
    header || query.is_some_and(|q| q.split('&').any(|p| p.starts_with("X-Amz-Algorithm=")))
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The raw query's pairs, percent-decoded (`+` stays a plus).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Reads the signature's claims from the header or the query.
pub(crate) fn parse(
    headers: &http::HeaderMap,
    query: &[(String, String)],
) -> Result<SigAuth, S3Error> {
    let bad = || {
        S3Error::new(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed.",
        )
    };
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (credential, signed, signature, amz_date, expires) = if let Some(alg) = q("X-Amz-Algorithm")
    {
        if alg != ALGORITHM {
            return Err(S3Error::invalid_argument("Unsupported X-Amz-Algorithm."));
        }
        let need = |n: &str| {
            q(n).map(str::to_string).ok_or_else(|| {
                S3Error::new(
                    400,
                    "AuthorizationQueryParametersError",
                    format!("{n} is missing."),
                )
            })
        };
        let expires: i64 = need("X-Amz-Expires")?
            .parse()
            .ok()
            .filter(|e| (0..=MAX_EXPIRES_SECS).contains(e))
            .ok_or_else(|| {
                S3Error::new(
                    400,
                    "AuthorizationQueryParametersError",
                    "X-Amz-Expires is invalid.",
                )
            })?;
        (
            need("X-Amz-Credential")?,
            need("X-Amz-SignedHeaders")?,
            need("X-Amz-Signature")?,
            need("X-Amz-Date")?,
            Some(expires),
        )
    } else {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(S3Error::access_denied)?;
        let rest = value.strip_prefix(ALGORITHM).ok_or_else(bad)?;
        let mut fields = (None, None, None);
        for item in rest.split(',') {
            match item.trim().split_once('=') {
                Some(("Credential", v)) => fields.0 = Some(v.to_string()),
                Some(("SignedHeaders", v)) => fields.1 = Some(v.to_string()),
                Some(("Signature", v)) => fields.2 = Some(v.to_string()),
                _ => {}
            }
        }
        let (Some(c), Some(h), Some(s)) = fields else {
            return Err(bad());
        };
        let date = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| {
                S3Error::new(
                    403,
                    "AccessDenied",
                    "AWS authentication requires a valid Date or x-amz-date header",
                )
            })?;
        (c, h, s, date, None)
    };
    let (access, scope) = credential.split_once('/').ok_or_else(bad)?;
    let scope_parts: Vec<&str> = scope.split('/').collect();
    if scope_parts.len() != 4 || scope_parts[3] != "aws4_request" || scope_parts[2] != "s3" {
        return Err(bad());
    }
    if !amz_date.starts_with(scope_parts[0]) || parse_amz_date(&amz_date).is_none() {
        return Err(bad());
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_ascii_lowercase).collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(bad());
    }
    Ok(SigAuth {
        access: access.to_string(),
        amz_date,
        scope: scope.to_string(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
        expires,
    })
}

/// Unix seconds of `YYYYMMDDTHHMMSSZ`.
pub(crate) fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Checks the request time against `now` (Unix seconds).
pub(crate) fn check_time(auth: &SigAuth, now: i64) -> Result<(), S3Error> {
    let t = parse_amz_date(&auth.amz_date).unwrap_or(0);
    match auth.expires {
        Some(expires) => {
            if now > t + expires {
                return Err(S3Error::new(403, "AccessDenied", "Request has expired"));
            }
            if t - now > MAX_SKEW_SECS {
                return Err(S3Error::new(
                    403,
                    "AccessDenied",
                    "Request is not valid yet",
                ));
            }
        }
        None if (now - t).abs() > MAX_SKEW_SECS => {
            return Err(S3Error::new(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            ));
        }
        None => {}
    }
    Ok(())
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length.
        Err(_) => Vec::new(),
    }
}

/// SigV4's URI encoding; `/` stays when `keep_slash`.
pub(crate) fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the canonical request is built from.
pub(crate) struct Received<'a> {
    pub(crate) method: &'a str,
    /// The path as sent (still percent-encoded).
    pub(crate) raw_path: &'a str,
    pub(crate) query: &'a [(String, String)],
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) payload_hash: &'a str,
}

/// The canonical request (S3 flavour: the path is not normalised).
pub(crate) fn canonical_request(auth: &SigAuth, r: &Received<'_>) -> String {
    let path = uri_encode(&decode(r.raw_path), true);
    let mut query: Vec<(String, String)> = r
        .query
        .iter()
        .filter(|(k, _)| !(auth.expires.is_some() && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<String> = r
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!(
        "{}\n{path}\n{}\n{canonical_headers}\n{}\n{}",
        r.method,
        query.join("&"),
        auth.signed_headers.join(";"),
        r.payload_hash
    )
}

/// The signature of `canonical` under `secret`.
pub(crate) fn signature(auth: &SigAuth, secret: &str, canonical: &str) -> String {
    let mut scope = auth.scope.split('/');
    let date = scope.next().unwrap_or_default();
    let region = scope.next().unwrap_or_default();
    let service = scope.next().unwrap_or_default();
    let to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        auth.amz_date,
        auth.scope,
        sha256_hex(canonical.as_bytes())
    );
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    let k = hmac(&k, b"aws4_request");
    hex::encode(hmac(&k, to_sign.as_bytes()))
}

/// Checks the request's signature against `secret`.
pub(crate) fn verify(auth: &SigAuth, r: &Received<'_>, secret: &str) -> Result<(), S3Error> {
    let expected = signature(auth, secret, &canonical_request(auth, r));
    let (a, b) = (expected.as_bytes(), auth.signature.as_bytes());
    let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
    if same {
        Ok(())
    } else {
        Err(S3Error::signature())
    }
}
