//! Request signatures: AWS Signature Version 4 (the `Authorization`
//! header, or presigned query parameters) and Version 2 (`Signature`
//! parameter), checked against the key's secret with a 15-minute clock
//! skew limit. EC2 sends no `X-Amz-Content-SHA256`: the body is hashed here.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::credentials::{Ec2Credentials, Ec2Principal};
use super::error::{Ec2Error, Ec2Result};
use super::parse::{form_pairs, Params};
use super::time::{parse_amz_date, parse_iso};

/// The largest accepted clock difference, in seconds.
pub(crate) const MAX_SKEW_SECS: i64 = 15 * 60;

/// What a signature is computed over.
#[derive(Debug)]
pub(crate) struct Signed<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    /// Query and form parameters merged.
    pub(crate) params: &'a Params,
}

/// The parts of a SigV4 `Authorization` header (or presigned query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigV4 {
    pub(crate) access: String,
    pub(crate) scope: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
    pub(crate) amz_date: String,
    presigned: bool,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Parses a SigV4 header or presigned query; `None` when the request uses
/// neither; `AuthFailure` when malformed.
pub(crate) fn parse_v4(r: &Signed<'_>) -> Ec2Result<Option<SigV4>> {
    let bad =
        |what: &str| Ec2Error::auth(format!("Malformed AWS4-HMAC-SHA256 authorization: {what}"));
    if let Some(auth) = header(r.headers, "authorization") {
        let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
            return Err(Ec2Error::auth("Unsupported authorization type"));
        };
        let (mut cred, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=').ok_or_else(|| bad(part))?;
            match k {
                "Credential" => cred = Some(v),
                "SignedHeaders" => signed = Some(v),
                "Signature" => sig = Some(v),
                _ => {}
            }
        }
        let date = header(r.headers, "x-amz-date").ok_or_else(|| bad("no X-Amz-Date"))?;
        return v4_from(
            cred.ok_or_else(|| bad("no Credential"))?,
            signed.ok_or_else(|| bad("no SignedHeaders"))?,
            sig.ok_or_else(|| bad("no Signature"))?,
            date,
            false,
        )
        .map(Some);
    }
    let q = Params::new(form_pairs(r.query.unwrap_or("")));
    if q.get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
        return Ok(None);
    }
    v4_from(
        q.get("X-Amz-Credential")
            .ok_or_else(|| bad("no X-Amz-Credential"))?,
        q.get("X-Amz-SignedHeaders")
            .ok_or_else(|| bad("no X-Amz-SignedHeaders"))?,
        q.get("X-Amz-Signature")
            .ok_or_else(|| bad("no X-Amz-Signature"))?,
        q.get("X-Amz-Date").ok_or_else(|| bad("no X-Amz-Date"))?,
        true,
    )
    .map(Some)
}

fn v4_from(cred: &str, signed: &str, sig: &str, date: &str, presigned: bool) -> Ec2Result<SigV4> {
    let (access, scope) = cred
        .split_once('/')
        .ok_or_else(|| Ec2Error::auth("Malformed credential scope"))?;
    if scope.split('/').count() != 4 || !scope.ends_with("/aws4_request") {
        return Err(Ec2Error::auth("Malformed credential scope"));
    }
    Ok(SigV4 {
        access: access.to_owned(),
        scope: scope.to_owned(),
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: sig.to_ascii_lowercase(),
        amz_date: date.to_owned(),
        presigned,
    })
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub(crate) fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn canonical_query(pairs: Vec<(String, String)>, skip: &str) -> String {
    let mut enc: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| k != skip)
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The SigV4 canonical request.
pub(crate) fn canonical_request(v4: &SigV4, r: &Signed<'_>) -> String {
    let path = if r.path.is_empty() { "/" } else { r.path };
    let query = canonical_query(form_pairs(r.query.unwrap_or("")), "X-Amz-Signature");
    let mut headers = String::new();
    for name in &v4.signed_headers {
        let values: Vec<String> = r
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                let s = String::from_utf8_lossy(v.as_bytes());
                s.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = if v4.presigned && r.body.is_empty() {
        sha256_hex(b"")
    } else {
        sha256_hex(r.body)
    };
    format!(
        "{}\n{}\n{query}\n{headers}\n{}\n{payload}",
        r.method,
        uri_encode(path, true),
        v4.signed_headers.join(";")
    )
}

/// The hex SigV4 signature of `canonical` with `secret`.
pub(crate) fn v4_signature(v4: &SigV4, secret: &str, canonical: &str) -> String {
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        v4.amz_date,
        v4.scope,
        sha256_hex(canonical.as_bytes())
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in v4.scope.split('/') {
        key = hmac256(&key, part.as_bytes());
    }
    hex::encode(hmac256(&key, string_to_sign.as_bytes()))
}

/// Constant-time equality of two strings.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn check_skew(at: Option<i64>, now: i64) -> Ec2Result<()> {
    match at {
        Some(t) if (t - now).abs() <= MAX_SKEW_SECS => Ok(()),
        Some(_) => Err(Ec2Error::auth(
            "Request has expired or is too far in the future (more than 15 minutes of clock skew)",
        )),
        None => Err(Ec2Error::auth("Malformed request date")),
    }
}

/// The SigV2 string to sign.
pub(crate) fn v2_string_to_sign(r: &Signed<'_>) -> String {
    let host = header(r.headers, "host").unwrap_or("").to_ascii_lowercase();
    let path = if r.path.is_empty() { "/" } else { r.path };
    let pairs = r
        .params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    format!(
        "{}\n{host}\n{path}\n{}",
        r.method,
        canonical_query(pairs, "Signature")
    )
}

fn v2_signature(method: &str, secret: &str, data: &str) -> Ec2Result<String> {
    use base64::Engine as _;
    let mac = match method {
        "HmacSHA256" => hmac256(secret.as_bytes(), data.as_bytes()),
        "HmacSHA1" => {
            let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
                .map_err(|_| Ec2Error::auth("bad key"))?;
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        other => {
            return Err(Ec2Error::auth(format!(
                "Unsupported SignatureMethod {other}"
            )))
        }
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(mac))
}

/// Checks the request's signature at time `now` (epoch seconds) and
/// returns who signed it, with the access key used.
pub(crate) async fn authenticate(
    r: &Signed<'_>,
    creds: &dyn Ec2Credentials,
    now: i64,
) -> Ec2Result<(String, Ec2Principal)> {
    let unknown = || Ec2Error::auth("AWS was not able to validate the provided access credentials");
    if let Some(v4) = parse_v4(r)? {
        check_skew(parse_amz_date(&v4.amz_date), now)?;
        let p = creds.lookup(&v4.access).await?.ok_or_else(unknown)?;
        let expected = v4_signature(&v4, p.secret.expose(), &canonical_request(&v4, r));
        return if same(&expected, &v4.signature) {
            Ok((v4.access, p))
        } else {
            Err(Ec2Error::signature())
        };
    }
    let params = r.params;
    let (Some(access), Some(sig)) = (params.get("AWSAccessKeyId"), params.get("Signature")) else {
        return Err(Ec2Error::auth("The request is not signed"));
    };
    if params.get("SignatureVersion") != Some("2") {
        return Err(Ec2Error::auth(
            "Only signature versions 2 and 4 are supported",
        ));
    }
    match (params.get("Timestamp"), params.get("Expires")) {
        (Some(t), _) => check_skew(parse_iso(t), now)?,
        (None, Some(e)) => match parse_iso(e) {
            Some(e) if e >= now => {}
            _ => return Err(Ec2Error::auth("Request has expired")),
        },
        (None, None) => return Err(Ec2Error::missing("Timestamp")),
    }
    let p = creds.lookup(access).await?.ok_or_else(unknown)?;
    let method = params.get("SignatureMethod").unwrap_or("HmacSHA256");
    let expected = v2_signature(method, p.secret.expose(), &v2_string_to_sign(r))?;
    if same(&expected, sig) {
        Ok((access.to_owned(), p))
    } else {
        Err(Ec2Error::signature())
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
