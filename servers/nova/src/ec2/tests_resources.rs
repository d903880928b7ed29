//! Router tests of key pairs, security groups and volumes over an
//! in-process ComputeApi.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::tests::{all, app, call_as, err, first, ok};

#[tokio::test]
async fn key_pairs() {
    let app = app().await;
    let text = ok(&app, "Action=CreateKeyPair&KeyName=k1").await;
    assert_eq!(first(&text, "keyName"), "k1");
    assert!(first(&text, "keyMaterial").contains("PRIVATE KEY"));
    err(
        &app,
        "Action=CreateKeyPair&KeyName=k1",
        400,
        "InvalidKeyPair.Duplicate",
    )
    .await;
    err(&app, "Action=CreateKeyPair", 400, "MissingParameter").await;
    // ImportKeyPair: boto3 sends the key base64-encoded.
    use base64::Engine as _;
    let public =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGSq7oR6p3pwRM9l0vFG0fUu4c3k8xPdGn3mGp6ZD1LH me@host";
    let b64 = base64::engine::general_purpose::STANDARD.encode(public);
    let body = format!(
        "Action=ImportKeyPair&KeyName=k2&PublicKeyMaterial={}",
        b64.replace('+', "%2B")
            .replace('=', "%3D")
            .replace('/', "%2F")
    );
    let text = ok(&app, &body).await;
    assert_eq!(first(&text, "keyName"), "k2");
    let text = ok(&app, "Action=DescribeKeyPairs").await;
    assert_eq!(all(&text, "keyName"), ["k1", "k2"]);
    let text = ok(&app, "Action=DescribeKeyPairs&KeyName.1=k2").await;
    assert_eq!(all(&text, "keyName"), ["k2"]);
    err(
        &app,
        "Action=DescribeKeyPairs&KeyName.1=nope",
        400,
        "InvalidKeyPair.NotFound",
    )
    .await;
    ok(&app, "Action=DeleteKeyPair&KeyName=k1").await;
    let text = ok(&app, "Action=DescribeKeyPairs").await;
    assert_eq!(all(&text, "keyName"), ["k2"]);
    // Another project (and user) sees none of them.
    let (_, text) = call_as(&app, "OTHER", "Action=DescribeKeyPairs").await;
    assert!(all(&text, "keyName").is_empty(), "{text}");
}

#[tokio::test]
async fn security_groups_and_volumes() {
    let app = app().await;
    let text = ok(
        &app,
        "Action=CreateSecurityGroup&GroupName=web&GroupDescription=Web+servers",
    )
    .await;
    let sg = first(&text, "groupId");
    assert!(sg.starts_with("sg-"));
    err(
        &app,
        "Action=CreateSecurityGroup&GroupName=web&GroupDescription=x",
        400,
        "InvalidGroup.Duplicate",
    )
    .await;
    err(
        &app,
        "Action=CreateSecurityGroup&GroupName=web2",
        400,
        "MissingParameter",
    )
    .await;
    let rule = format!(
        "Action=AuthorizeSecurityGroupIngress&GroupId={sg}&IpPermissions.1.IpProtocol=tcp\
         &IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8"
    );
    ok(&app, &rule).await;
    err(&app, &rule, 400, "InvalidPermission.Duplicate").await;
    ok(&app, "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=icmp&FromPort=-1&ToPort=-1&CidrIp=0.0.0.0%2F0").await;
    err(&app, "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=tcp&FromPort=0&ToPort=70000&CidrIp=0.0.0.0%2F0", 400, "InvalidParameterValue").await;
    err(
        &app,
        "Action=AuthorizeSecurityGroupIngress&GroupName=web&IpProtocol=gre",
        400,
        "InvalidParameterValue",
    )
    .await;
    let text = ok(
        &app,
        &format!("Action=DescribeSecurityGroups&GroupId.1={sg}"),
    )
    .await;
    assert_eq!(all(&text, "groupName"), ["web"]);
    assert_eq!(all(&text, "ipProtocol"), ["tcp", "icmp"]);
    assert_eq!(all(&text, "cidrIp"), ["10.0.0.0/8", "0.0.0.0/0"]);
    let text = ok(&app, "Action=DescribeSecurityGroups").await;
    assert_eq!(all(&text, "groupName"), ["default", "web"]);
    ok(
        &app,
        &rule.replace(
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupIngress",
        ),
    )
    .await;
    err(
        &app,
        &rule.replace(
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupIngress",
        ),
        400,
        "InvalidPermission.NotFound",
    )
    .await;
    err(
        &app,
        "Action=DeleteSecurityGroup&GroupName=default",
        400,
        "CannotDelete",
    )
    .await;
    ok(&app, &format!("Action=DeleteSecurityGroup&GroupId={sg}")).await;
    err(
        &app,
        &format!("Action=DeleteSecurityGroup&GroupId={sg}"),
        400,
        "InvalidGroup.NotFound",
    )
    .await;

    let text = ok(&app, "Action=CreateVolume&Size=1&AvailabilityZone=nova").await;
    let vol = first(&text, "volumeId");
    assert!(vol.starts_with("vol-"));
    assert_eq!(first(&text, "status"), "creating");
    let text = ok(&app, &format!("Action=DescribeVolumes&VolumeId.1={vol}")).await;
    assert_eq!(first(&text, "size"), "1");
    err(
        &app,
        "Action=CreateVolume&Size=0",
        400,
        "InvalidParameterValue",
    )
    .await;
    err(
        &app,
        "Action=DescribeVolumes&VolumeId.1=vol-0000abcd",
        400,
        "InvalidVolume.NotFound",
    )
    .await;
    err(
        &app,
        "Action=DetachVolume&VolumeId=".to_owned().as_str(),
        400,
        "MissingParameter",
    )
    .await;
    err(
        &app,
        "Action=ReleaseAddress&PublicIp=203.0.113.9",
        400,
        "InvalidAddress.NotFound",
    )
    .await;
}
