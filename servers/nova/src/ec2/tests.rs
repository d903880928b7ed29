//! Router tests: signed requests against an in-process ComputeApi (no
//! compute services, so instances stay `pending`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use nova_core::api::ApiConfig;
use nova_core::image::FakeImages;
use nova_core::model::default_flavors;
use nova_core::ComputeApi;
use tower::ServiceExt as _;

use super::auth::{canonical_request, parse_v4, v4_signature, Signed};
use super::parse::{form_pairs, Params};
use super::*;

const SECRET: &str = "s3cr3t";

pub(super) async fn app() -> Router {
    let db = nova_core::db::open("memory:").await.unwrap();
    for f in default_flavors() {
        db.create_flavor(&f).await.unwrap();
    }
    let (images, _) = FakeImages::with_cirros();
    let api = ComputeApi::new(
        db,
        Arc::new(nova_core::InProcessBus::default()),
        Arc::new(images),
        ApiConfig::default(),
    );
    app_over(api)
}

/// The EC2 router over `api`, with keys `AK` (project demo) and `OTHER`.
pub(super) fn app_over(api: ComputeApi) -> Router {
    let principal = |project: &str| Ec2Principal {
        secret: Ec2Secret::new(SECRET),
        user_id: format!("u-{project}"),
        project_id: project.to_owned(),
        roles: vec!["member".into()],
    };
    let creds = StaticEc2Credentials::new()
        .with("AK", principal("demo"))
        .with("OTHER", principal("other"));
    router(Ec2State::new(api, Arc::new(creds), "RegionOne"))
}

fn amz_now() -> String {
    let now = time::iso(SystemTime::now());
    // 2025-01-01T12:00:00.000Z -> 20250101T120000Z
    format!("{}Z", now[..19].replace(['-', ':'], ""))
}

/// A POST signed like botocore does, with `access` and `secret`.
fn signed(access: &str, secret: &str, body: &str) -> Request<Body> {
    let date = amz_now();
    let mut headers = HeaderMap::new();
    headers.insert("host", "localhost:8773".parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    headers.insert("x-amz-date", date.parse().unwrap());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={access}/{}/RegionOne/ec2/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, Signature=0",
        &date[..8]
    );
    headers.insert("authorization", auth.parse().unwrap());
    let params = Params::new(form_pairs(body));
    let r = Signed {
        method: "POST",
        path: "/",
        query: None,
        headers: &headers,
        body: body.as_bytes(),
        params: &params,
    };
    let v4 = parse_v4(&r).unwrap().unwrap();
    let sig = v4_signature(&v4, secret, &canonical_request(&v4, &r));
    let auth = auth.replace("Signature=0", &format!("Signature={sig}"));
    headers.insert("authorization", auth.parse().unwrap());
    let mut req = Request::post("/")
        .body(Body::from(body.to_owned()))
        .unwrap();
    *req.headers_mut() = headers;
    req
}

pub(super) async fn call_as(app: &Router, access: &str, body: &str) -> (StatusCode, String) {
    let resp = app
        .clone()
        .oneshot(signed(access, SECRET, body))
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

pub(super) async fn call(app: &Router, body: &str) -> (StatusCode, String) {
    call_as(app, "AK", body).await
}

pub(super) async fn ok(app: &Router, body: &str) -> String {
    let (status, text) = call(app, body).await;
    assert_eq!(status, StatusCode::OK, "{body}: {text}");
    text
}

pub(super) async fn err(app: &Router, body: &str, status: u16, code: &str) {
    let (s, text) = call(app, body).await;
    assert_eq!(s.as_u16(), status, "{body}: {text}");
    assert!(
        text.contains(&format!("<Code>{code}</Code>")),
        "{body}: {text}"
    );
    assert!(text.contains("<RequestID>"), "{text}");
}

/// The text of every `<tag>` element.
pub(super) fn all(text: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    text.split(&open)
        .skip(1)
        .filter_map(|s| s.split(&close).next().map(str::to_owned))
        .collect()
}

pub(super) fn first(text: &str, tag: &str) -> String {
    all(text, tag)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no <{tag}> in {text}"))
}

#[tokio::test]
async fn signatures_and_actions_are_checked() {
    let app = app().await;
    let text = ok(&app, "Action=DescribeRegions&Version=2016-11-15").await;
    assert!(text
        .contains("<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"));
    assert_eq!(first(&text, "regionName"), "RegionOne");

    let body = "Action=DescribeRegions&Version=2016-11-15";
    let resp = app
        .clone()
        .oneshot(signed("AK", "wrong", body))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app
        .clone()
        .oneshot(signed("NOBODY", SECRET, body))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A body changed after signing.
    let mut req = signed("AK", SECRET, body);
    *req.body_mut() = Body::from("Action=DescribeRegions&Version=2016-11-16");
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app
        .clone()
        .oneshot(Request::post("/").body(Body::from(body)).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    err(&app, "Action=Frobnicate", 400, "InvalidAction").await;
    err(&app, "Version=2016-11-15", 400, "MissingParameter").await;
    err(
        &app,
        "Action=DescribeInstances&InstanceId.1=i-zz",
        400,
        "InvalidInstanceID.Malformed",
    )
    .await;
    err(
        &app,
        "Action=DescribeInstances&InstanceId.1=i-0000abcd",
        400,
        "InvalidInstanceID.NotFound",
    )
    .await;
    err(
        &app,
        "Action=DescribeInstances&Filter.1.Name=bogus&Filter.1.Value.1=x",
        400,
        "InvalidParameterValue",
    )
    .await;
    let zones = ok(&app, "Action=DescribeAvailabilityZones").await;
    assert_eq!(first(&zones, "zoneName"), "nova");
}

#[tokio::test]
async fn instances_run_describe_and_page() {
    let app = app().await;
    // An ami- id never described is unknown until the images get their ids.
    err(
        &app,
        "Action=RunInstances&ImageId=ami-0000abcd&MinCount=1&MaxCount=1",
        400,
        "InvalidAMIID.NotFound",
    )
    .await;
    let images = ok(&app, "Action=DescribeImages").await;
    let ami = first(&images, "imageId");
    assert!(ami.starts_with("ami-"), "{images}");
    assert_eq!(first(&images, "imageState"), "available");
    ok(&app, "Action=CreateKeyPair&KeyName=k1").await;
    err(
        &app,
        "Action=RunInstances&ImageId=ami-0000abcd&MinCount=1&MaxCount=1",
        400,
        "InvalidAMIID.NotFound",
    )
    .await;
    err(
        &app,
        &format!("Action=RunInstances&ImageId={ami}&MinCount=1&MaxCount=1&KeyName=nope"),
        400,
        "InvalidKeyPair.NotFound",
    )
    .await;
    err(
        &app,
        &format!("Action=RunInstances&ImageId={ami}&MinCount=2&MaxCount=1"),
        400,
        "InvalidParameterValue",
    )
    .await;
    err(
        &app,
        &format!("Action=RunInstances&ImageId={ami}&MaxCount=1"),
        400,
        "MissingParameter",
    )
    .await;
    err(
        &app,
        &format!("Action=RunInstances&ImageId={ami}&MinCount=1&MaxCount=1&SecurityGroup.1=nope"),
        400,
        "InvalidGroup.NotFound",
    )
    .await;

    let run = format!(
        "Action=RunInstances&ImageId={ami}&InstanceType=m1.tiny&MinCount=2&MaxCount=2&KeyName=k1\
         &SecurityGroup.1=default&UserData=ZWNobyBoaQ%3D%3D&ClientToken=tok-1"
    );
    let text = ok(&app, &run).await;
    let ids = all(&text, "instanceId");
    assert_eq!(ids.len(), 2, "{text}");
    assert!(ids.iter().all(|i| i.starts_with("i-")));
    let reservation = first(&text, "reservationId");
    assert!(reservation.starts_with("r-"));
    assert_eq!(first(&text, "instanceType"), "m1.tiny");
    assert_eq!(first(&text, "name"), "pending");
    assert_eq!(first(&text, "groupName"), "default");
    assert_eq!(first(&text, "imageId"), ami);
    // The same ClientToken gives the same instances.
    let again = ok(&app, &run).await;
    assert_eq!(all(&again, "instanceId"), ids);

    let text = ok(
        &app,
        &format!("Action=DescribeInstances&InstanceId.1={}", ids[1]),
    )
    .await;
    assert_eq!(all(&text, "instanceId"), [ids[1].clone()]);
    assert_eq!(first(&text, "reservationId"), reservation);
    let q = "Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=pending&Filter.1.Value.2=running";
    assert_eq!(all(&ok(&app, q).await, "instanceId").len(), 2);
    let q = "Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=stopped";
    assert!(all(&ok(&app, q).await, "instanceId").is_empty());

    // Paging: 6 instances in pages of 5.
    let more = format!("Action=RunInstances&ImageId={ami}&MinCount=4&MaxCount=4");
    ok(&app, &more).await;
    let page1 = ok(&app, "Action=DescribeInstances&MaxResults=5").await;
    assert_eq!(all(&page1, "instanceId").len(), 5);
    let token = first(&page1, "nextToken");
    let page2 = ok(
        &app,
        &format!("Action=DescribeInstances&MaxResults=5&NextToken={token}"),
    )
    .await;
    assert_eq!(all(&page2, "instanceId").len(), 1);
    assert!(all(&page2, "nextToken").is_empty());
    err(
        &app,
        "Action=DescribeInstances&MaxResults=5&NextToken=99",
        400,
        "InvalidParameterValue",
    )
    .await;
    err(
        &app,
        "Action=DescribeInstances&MaxResults=2",
        400,
        "InvalidParameterValue",
    )
    .await;

    // Another project sees none, and cannot act on them.
    let (_, text) = call_as(&app, "OTHER", "Action=DescribeInstances").await;
    assert!(all(&text, "instanceId").is_empty(), "{text}");
    let (s, text) = call_as(
        &app,
        "OTHER",
        &format!("Action=TerminateInstances&InstanceId.1={}", ids[0]),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("InvalidInstanceID.NotFound"), "{text}");
    // A pending instance cannot be stopped; it can be terminated.
    err(
        &app,
        &format!("Action=StopInstances&InstanceId.1={}", ids[0]),
        400,
        "IncorrectInstanceState",
    )
    .await;
    let text = ok(
        &app,
        &format!("Action=TerminateInstances&InstanceId.1={}", ids[0]),
    )
    .await;
    assert_eq!(first(&text, "instanceId"), ids[0]);
}
