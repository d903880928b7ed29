use http::{HeaderMap, HeaderValue};

use super::*;
use crate::ec2::credentials::{Ec2Secret, StaticEc2Credentials};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = b"Action=DescribeRegions&Version=2016-11-15";
/// 2025-01-01T12:00:00Z.
const NOW: i64 = 1_735_732_800;

fn creds() -> StaticEc2Credentials {
    StaticEc2Credentials::new().with(
        "AKIDEXAMPLE",
        Ec2Principal {
            secret: Ec2Secret::new(SECRET),
            user_id: "u".into(),
            project_id: "p".into(),
            roles: vec!["member".into()],
        },
    )
}

/// What botocore 1.x sent for `ec2.describe_regions()` at 2025-01-01T12:00Z
/// (region RegionOne, endpoint http://127.0.0.1:8773/).
fn boto_headers(signature: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("127.0.0.1:8773"));
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    h.insert("x-amz-date", HeaderValue::from_static("20250101T120000Z"));
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/RegionOne/ec2/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
    );
    h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    h
}

const BOTO_SIG: &str = "fd8c3c8a894b67a79e500327357e4615998f97fddf003fd0ea0b418386051a86";

async fn check(headers: &HeaderMap, body: &[u8], now: i64) -> Ec2Result<(String, Ec2Principal)> {
    let params = Params::new(form_pairs(std::str::from_utf8(body).unwrap()));
    let r = Signed {
        method: "POST",
        path: "/",
        query: None,
        headers,
        body,
        params: &params,
    };
    authenticate(&r, &creds(), now).await
}

#[tokio::test]
async fn sigv4_accepts_the_botocore_vector() {
    let (access, p) = check(&boto_headers(BOTO_SIG), BODY, NOW).await.unwrap();
    assert_eq!(
        (access.as_str(), p.project_id.as_str()),
        ("AKIDEXAMPLE", "p")
    );
    // 14 minutes of skew either way is fine.
    check(&boto_headers(BOTO_SIG), BODY, NOW + 14 * 60)
        .await
        .unwrap();
    check(&boto_headers(BOTO_SIG), BODY, NOW - 14 * 60)
        .await
        .unwrap();
}

#[tokio::test]
async fn sigv4_refuses_tampering_wrong_keys_and_skew() {
    let e = check(
        &boto_headers(BOTO_SIG),
        b"Action=DescribeRegions&Version=2016-11-16",
        NOW,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.status.as_u16(), e.code.as_str()),
        (403, "SignatureDoesNotMatch")
    );
    let wrong = BOTO_SIG.replace('f', "e");
    let e = check(&boto_headers(&wrong), BODY, NOW).await.unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch");
    let e = check(&boto_headers(BOTO_SIG), BODY, NOW + 16 * 60)
        .await
        .unwrap_err();
    assert_eq!((e.status.as_u16(), e.code.as_str()), (401, "AuthFailure"));
    let mut h = boto_headers(BOTO_SIG);
    let other = h["authorization"]
        .to_str()
        .unwrap()
        .replace("AKIDEXAMPLE", "NOBODY");
    h.insert("authorization", HeaderValue::from_str(&other).unwrap());
    let e = check(&h, BODY, NOW).await.unwrap_err();
    assert_eq!(e.code, "AuthFailure");
    let mut h = boto_headers(BOTO_SIG);
    h.insert(
        "authorization",
        HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=x"),
    );
    assert_eq!(check(&h, BODY, NOW).await.unwrap_err().code, "AuthFailure");
    let e = check(&HeaderMap::new(), BODY, NOW).await.unwrap_err();
    assert_eq!(e.code, "AuthFailure");
}

fn v2_query(sig: &str, ts: &str) -> String {
    format!(
        "Action=DescribeRegions&Version=2016-11-15&AWSAccessKeyId=AKIDEXAMPLE\
         &SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={ts}&Signature={sig}"
    )
}

async fn check_v2(query: &str, now: i64) -> Ec2Result<(String, Ec2Principal)> {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("ec2.example:8773"));
    let params = Params::new(form_pairs(query));
    let r = Signed {
        method: "GET",
        path: "/services/Cloud/",
        query: Some(query),
        headers: &h,
        body: b"",
        params: &params,
    };
    authenticate(&r, &creds(), now).await
}

#[tokio::test]
async fn sigv2_query_signatures() {
    // Computed independently with Python's hmac module.
    let sig = "viNlTPLud4CToWeToMWMM5bRGuNHCPf7wwTJzuOvBXc%3D";
    check_v2(&v2_query(sig, "2025-01-01T12%3A00%3A00Z"), NOW)
        .await
        .unwrap();
    let e = check_v2(&v2_query(sig, "2025-01-01T12%3A00%3A01Z"), NOW)
        .await
        .unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch");
    let e = check_v2(&v2_query(sig, "2025-01-01T12%3A00%3A00Z"), NOW + 3600)
        .await
        .unwrap_err();
    assert_eq!(e.code, "AuthFailure");
}

#[test]
fn encodes_like_aws() {
    assert_eq!(uri_encode("a b/c~d*", false), "a%20b%2Fc~d%2A");
    assert_eq!(uri_encode("/x y/", true), "/x%20y/");
}
