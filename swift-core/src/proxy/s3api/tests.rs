//! SigV4 verification against AWS's examples, and S3 requests through
//! the proxy over the fake cluster.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;

use super::sigv4::{self, SigAuth};
use super::*;
use crate::proxy::tests::Harness;
use crate::proxy::Clock;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

/// The S3 docs' "GET Object" example, verified rather than signed.
#[test]
fn verifies_the_s3_get_object_example() {
    let auth_value =
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
    let h = headers(&[
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY_SHA256),
        ("x-amz-date", "20130524T000000Z"),
        ("authorization", auth_value),
    ]);
    let auth = sigv4::parse(&h, &[]).unwrap();
    assert_eq!(auth.access, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(auth.scope, "20130524/us-east-1/s3/aws4_request");
    let received = |h| sigv4::Received {
        method: "GET",
        raw_path: "/test.txt",
        query: &[],
        headers: h,
        payload_hash: EMPTY_SHA256,
    };
    assert_eq!(sigv4::verify(&auth, &received(&h), SECRET), Ok(()));
    let err = sigv4::verify(&auth, &received(&h), "wrong").unwrap_err();
    assert_eq!(err.code, "SignatureDoesNotMatch");
    let mut tampered = h.clone();
    tampered.insert("range", http::HeaderValue::from_static("bytes=0-10"));
    assert_eq!(
        sigv4::verify(&auth, &received(&tampered), SECRET)
            .unwrap_err()
            .code,
        "SignatureDoesNotMatch"
    );
    let mut other_path = received(&h);
    other_path.raw_path = "/test.txx";
    assert!(sigv4::verify(&auth, &other_path, SECRET).is_err());
}

/// The S3 docs' presigned URL example (GET /test.txt, a day valid).
#[test]
fn verifies_the_s3_presigned_example() {
    let query = sigv4::query_pairs(Some(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    ));
    let h = headers(&[("host", "examplebucket.s3.amazonaws.com")]);
    let auth = sigv4::parse(&h, &query).unwrap();
    assert_eq!(auth.expires, Some(86_400));
    let r = sigv4::Received {
        method: "GET",
        raw_path: "/test.txt",
        query: &query,
        headers: &h,
        payload_hash: sigv4::UNSIGNED_PAYLOAD,
    };
    assert_eq!(sigv4::verify(&auth, &r, SECRET), Ok(()));
    let t = sigv4::parse_amz_date("20130524T000000Z").unwrap();
    assert_eq!(t, 1_369_353_600);
    assert!(sigv4::check_time(&auth, t + 86_400).is_ok());
    assert_eq!(
        sigv4::check_time(&auth, t + 86_401).unwrap_err().code,
        "AccessDenied"
    );
}

#[test]
fn rejects_malformed_authorization_and_skew() {
    let h = headers(&[
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request",
        ),
        ("x-amz-date", "20130524T000000Z"),
    ]);
    assert_eq!(
        sigv4::parse(&h, &[]).unwrap_err().code,
        "AuthorizationHeaderMalformed"
    );
    let auth = SigAuth {
        access: "AK".into(),
        amz_date: "20130524T000000Z".into(),
        scope: "20130524/us-east-1/s3/aws4_request".into(),
        signed_headers: vec!["host".into()],
        signature: String::new(),
        expires: None,
    };
    let t = 1_369_353_600;
    assert!(sigv4::check_time(&auth, t + 900).is_ok());
    assert_eq!(
        sigv4::check_time(&auth, t + 901).unwrap_err().code,
        "RequestTimeTooSkewed"
    );
    assert_eq!(
        sigv4::check_time(&auth, t - 901).unwrap_err().code,
        "RequestTimeTooSkewed"
    );
    assert_eq!(
        sigv4::parse_amz_date("20000229T010203Z"),
        Some(951_782_400 + 3_723)
    );
    assert_eq!(sigv4::parse_amz_date("2000-02-29"), None);
}

#[test]
fn secrets_are_redacted() {
    let c = S3Credential {
        secret: S3Secret::new("hunter2"),
        project_id: "p".into(),
    };
    assert!(!format!("{c:?}").contains("hunter2"));
}

const ACCESS: &str = "AKTEST";
const KEY: &str = "s3secret";

/// A harness whose proxy serves S3 for `AKTEST` on account `AUTH_test`.
fn harness() -> Harness {
    let mut h = Harness::new();
    let creds = StaticS3Credentials::new().with(
        ACCESS,
        S3Credential {
            secret: S3Secret::new(KEY),
            project_id: "test".into(),
        },
    );
    let cache = Arc::new(crate::proxy::MemoryCache::new(h.clock.clone()));
    h.proxy = crate::proxy::Proxy::with_parts(
        crate::proxy::tests::config(),
        h.rings.clone(),
        h.cluster.clone(),
        cache,
        h.clock.clone(),
    )
    .unwrap()
    .with_s3(Arc::new(creds))
    .unwrap();
    h
}

/// Sends a signed S3 request; `hash` is the payload hash to claim.
async fn s3(
    h: &Harness,
    method: &str,
    path_and_query: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    secret: &str,
) -> crate::proxy::tests::Resp {
    let now = h.clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    s3_at(h, method, path_and_query, extra, body, secret, now, None).await
}

#[allow(clippy::too_many_arguments)]
async fn s3_at(
    h: &Harness,
    method: &str,
    path_and_query: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    secret: &str,
    unix: i64,
    claimed_hash: Option<&str>,
) -> crate::proxy::tests::Resp {
    let date = amz_date(unix);
    let hash = claimed_hash.map_or_else(|| sigv4::sha256_hex(body), str::to_string);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let query = sigv4::query_pairs(Some(query));
    let mut pairs: Vec<(&str, &str)> = vec![
        ("host", "proxy.test:8080"),
        ("x-amz-date", &date),
        ("x-amz-content-sha256", &hash),
    ];
    pairs.extend_from_slice(extra);
    let hm = headers(&pairs);
    let mut signed: Vec<String> = pairs.iter().map(|(k, _)| k.to_string()).collect();
    signed.sort();
    signed.dedup();
    let auth = SigAuth {
        access: ACCESS.into(),
        amz_date: date.clone(),
        scope: format!("{}/us-east-1/s3/aws4_request", &date[..8]),
        signed_headers: signed.clone(),
        signature: String::new(),
        expires: None,
    };
    let r = sigv4::Received {
        method,
        raw_path: path,
        query: &query,
        headers: &hm,
        payload_hash: &hash,
    };
    let sig = sigv4::signature(&auth, secret, &sigv4::canonical_request(&auth, &r));
    let value = format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS}/{}, SignedHeaders={}, Signature={sig}",
        auth.scope,
        signed.join(";")
    );
    let mut all: Vec<(&str, &str)> = pairs[1..].to_vec();
    all.push(("authorization", &value));
    let len = body.len().to_string();
    if method == "PUT" {
        all.push(("content-length", &len));
    }
    h.send(
        method,
        path_and_query,
        &all,
        crate::stream::full_body(Bytes::copy_from_slice(body)),
    )
    .await
}

fn amz_date(unix: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(unix as u64);
    let s = httpdate::fmt_http_date(t);
    // "Sun, 06 Nov 1994 08:49:37 GMT" -> 19941106T084937Z
    let p: Vec<&str> = s.split([' ', ':']).collect();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == p[2])
    .unwrap()
        + 1;
    format!("{}{month:02}{}T{}{}{}Z", p[3], p[1], p[4], p[5], p[6])
}

#[tokio::test]
async fn objects_through_s3() {
    let h = harness();
    let r = s3(&h, "PUT", "/bucket1", &[], b"", KEY).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s3(&h, "PUT", "/bucket1", &[], b"", KEY).await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("<Code>BucketAlreadyOwnedByYou</Code>"));
    let r = s3(
        &h,
        "PUT",
        "/bucket1/a%20key/x",
        &[("if-none-match", "*")],
        b"hello",
        KEY,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("etag"),
        Some("\"5d41402abc4b2a76b9719d911017c592\"")
    );
    // (If-None-Match and Range are the object servers' business, which
    // the fake ignores: glance-core's S3 store tests cover them.)
    let r = s3(&h, "GET", "/bucket1/a%20key/x", &[], b"", KEY).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"hello");
    assert_eq!(
        r.header("etag"),
        Some("\"5d41402abc4b2a76b9719d911017c592\"")
    );
    let r = s3(&h, "HEAD", "/bucket1/a%20key/x", &[], b"", KEY).await;
    assert_eq!((r.status, r.header("content-length")), (200, Some("5")));
    let r = s3(&h, "DELETE", "/bucket1", &[], b"", KEY).await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("<Code>BucketNotEmpty</Code>"));
    for _ in 0..2 {
        let r = s3(&h, "DELETE", "/bucket1/a%20key/x", &[], b"", KEY).await;
        assert_eq!(r.status, 204);
    }
    let r = s3(&h, "GET", "/bucket1/a%20key/x", &[], b"", KEY).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("<Code>NoSuchKey</Code>"));
    let r = s3(&h, "GET", "/nobucket/x", &[], b"", KEY).await;
    assert!(
        r.text().contains("<Code>NoSuchBucket</Code>"),
        "{}",
        r.text()
    );
    let r = s3(&h, "HEAD", "/bucket1", &[], b"", KEY).await;
    assert_eq!(r.status, 200);
    let r = s3(&h, "DELETE", "/bucket1", &[], b"", KEY).await;
    assert_eq!(r.status, 204);
    let r = s3(&h, "HEAD", "/bucket1", &[], b"", KEY).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn authentication_failures_are_s3_errors() {
    let h = harness();
    let r = s3(&h, "GET", "/", &[], b"", "wrong").await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>SignatureDoesNotMatch</Code>"));
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let now = h.clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let r = s3_at(&h, "GET", "/", &[], b"", KEY, now - 3600, None).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>RequestTimeTooSkewed</Code>"));
    let r = h
        .req(
            "GET",
            "/",
            &[
                ("authorization", "AWS4-HMAC-SHA256 Credential=NOPE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"),
                ("x-amz-date", &amz_date(now)),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 400, "the date and scope disagree: {}", r.text());
    let date = amz_date(now);
    let value = format!(
        "AWS4-HMAC-SHA256 Credential=NOPE/{}/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        &date[..8]
    );
    let r = h
        .req(
            "GET",
            "/",
            &[
                ("authorization", &value),
                ("x-amz-date", &date),
                ("x-amz-content-sha256", EMPTY_SHA256),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>InvalidAccessKeyId</Code>"));
    // A body that does not match its signed hash is refused, not stored.
    let r = s3(&h, "PUT", "/bucket2", &[], b"", KEY).await;
    assert_eq!(r.status, 200);
    let claimed = sigv4::sha256_hex(b"good");
    let r = s3_at(
        &h,
        "PUT",
        "/bucket2/k",
        &[],
        b"evil",
        KEY,
        now,
        Some(&claimed),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("<Code>XAmzContentSHA256Mismatch</Code>"));
    let r = s3(&h, "HEAD", "/bucket2/k", &[], b"", KEY).await;
    assert_eq!(r.status, 404);
    let r = s3_at(
        &h,
        "PUT",
        "/bucket2/k",
        &[],
        b"good",
        KEY,
        now,
        Some(&claimed),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = s3(&h, "GET", "/", &[], b"", KEY).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<Name>bucket2</Name>"), "{}", r.text());
}
