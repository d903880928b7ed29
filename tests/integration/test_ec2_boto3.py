"""boto3 against `ferrostack up`'s EC2 API (port 8773 in the catalog as
`ec2`): keys from `openstack ec2 credentials create` (demo user), an
instance's whole life, volumes, addresses, key pairs, security groups,
and refused signatures; the instance is the same one `openstack server
show` sees."""

import os
import time
from urllib.parse import urlsplit

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.client import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

DEMO = {"OS_USERNAME": "demo", "OS_PASSWORD": "demo-secret", "OS_PROJECT_NAME": "demo"}
FAST = {"Delay": 1, "MaxAttempts": 120}


def ec2_endpoint(cloud):
    entries = {e["Type"]: e for e in cloud.openstack("catalog", "list", env=DEMO)}
    url = entries["ec2"]["Endpoints"][0]["url"]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def client(cloud, access, secret):
    return boto3.client(
        "ec2",
        endpoint_url=ec2_endpoint(cloud),
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="RegionOne",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def creds(cloud):
    created = cloud.openstack("ec2", "credentials", "create", env=DEMO)
    return created["access"], created["secret"]


@pytest.fixture(scope="module")
def ec2(cloud, creds):
    return client(cloud, *creds)


@pytest.fixture(scope="module")
def ami(cloud, ec2, tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "tiny.img"
    path.write_bytes(os.urandom(64 * 1024))
    img = cloud.openstack(
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(path), "ec2-tiny", env=DEMO,
    )
    images = ec2.describe_images()["Images"]
    ours = [i for i in images if i["Name"] == "ec2-tiny"]
    assert len(ours) == 1, images
    assert ours[0]["ImageId"].startswith("ami-")
    assert ours[0]["State"] == "available"
    # Stable: the same id again.
    again = ec2.describe_images(ImageIds=[ours[0]["ImageId"]])["Images"]
    assert [i["Name"] for i in again] == ["ec2-tiny"]
    return ours[0]["ImageId"], img["id"]


def code(e):
    return e.value.response["Error"]["Code"]


def wait_for(what, probe, timeout=120):
    deadline = time.time() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def instance(ec2, iid):
    r = ec2.describe_instances(InstanceIds=[iid])["Reservations"]
    return r[0]["Instances"][0]


def server_by_ec2(cloud, ec2, iid):
    """The `openstack server show` view of an EC2 instance (found by its
    private IP among the demo project's servers)."""
    servers = cloud.openstack("server", "list", "--long", env=DEMO)
    ip = instance(ec2, iid).get("PrivateIpAddress")
    for s in servers:
        if ip and ip in str(s.get("Networks", "")):
            return cloud.openstack("server", "show", s["ID"], env=DEMO)
    matching = [s for s in servers if s["Name"].startswith("ec2-instance")]
    assert len(matching) == 1, servers
    return cloud.openstack("server", "show", matching[0]["ID"], env=DEMO)


def test_refused_signatures(cloud, creds):
    access, _ = creds
    bad = client(cloud, access, "not-the-secret")
    with pytest.raises(ClientError) as e:
        bad.describe_regions()
    assert code(e) == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unknown = client(cloud, "no-such-access-key", "x")
    with pytest.raises(ClientError) as e:
        unknown.describe_regions()
    assert code(e) == "AuthFailure"

    tampered = client(cloud, *creds)

    def tamper(request, **kwargs):
        body = request.body
        if isinstance(body, str):
            request.body = body.replace("2016-11-15", "2016-11-16")
        else:
            request.body = body.replace(b"2016-11-15", b"2016-11-16")

    tampered.meta.events.register("before-send.ec2.DescribeRegions", tamper)
    with pytest.raises(ClientError) as e:
        tampered.describe_regions()
    assert code(e) == "SignatureDoesNotMatch"


def test_regions_zones_and_errors(ec2):
    regions = ec2.describe_regions()["Regions"]
    assert [r["RegionName"] for r in regions] == ["RegionOne"]
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert "nova" in [z["ZoneName"] for z in zones]
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(InstanceIds=["i-0000dead"])
    assert code(e) == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(InstanceIds=["bogus"])
    assert code(e) == "InvalidInstanceID.Malformed"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId="ami-0000dead", MinCount=1, MaxCount=1)
    assert code(e) == "InvalidAMIID.NotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_key_pairs(ec2):
    made = ec2.create_key_pair(KeyName="boto-k1")
    assert "PRIVATE KEY" in made["KeyMaterial"]
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName="boto-k1")
    assert code(e) == "InvalidKeyPair.Duplicate"
    pub = (
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGSq7oR6p3pwRM9l0vFG0fUu4c3k8xPdGn3mGp6ZD1LH me@host"
    )
    imported = ec2.import_key_pair(KeyName="boto-k2", PublicKeyMaterial=pub)
    assert imported["KeyFingerprint"]
    names = [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    assert {"boto-k1", "boto-k2"} <= set(names)
    ec2.delete_key_pair(KeyName="boto-k2")
    with pytest.raises(ClientError) as e:
        ec2.describe_key_pairs(KeyNames=["boto-k2"])
    assert code(e) == "InvalidKeyPair.NotFound"


def test_security_groups(ec2):
    gid = ec2.create_security_group(GroupName="boto-web", Description="web")["GroupId"]
    assert gid.startswith("sg-")
    perm = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[perm])
    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[perm])
    assert code(e) == "InvalidPermission.Duplicate"
    g = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert g["GroupName"] == "boto-web"
    assert g["IpPermissions"][0]["FromPort"] == 22
    assert g["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[perm])
    g = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]
    assert g["IpPermissions"] == []
    names = [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert "default" in names
    with pytest.raises(ClientError) as e:
        ec2.delete_security_group(GroupName="default")
    assert code(e) == "CannotDelete"
    ec2.delete_security_group(GroupId=gid)
    with pytest.raises(ClientError) as e:
        ec2.describe_security_groups(GroupIds=[gid])
    assert code(e) == "InvalidGroup.NotFound"


def test_instance_life_volume_and_address(cloud, ec2, ami):
    ami_id, _ = ami
    ec2.create_key_pair(KeyName="boto-life")
    ec2.create_security_group(GroupName="boto-life", Description="life")
    run = ec2.run_instances(
        ImageId=ami_id, InstanceType="m1.tiny", MinCount=1, MaxCount=1,
        KeyName="boto-life", SecurityGroups=["boto-life"], UserData="echo hi",
        Placement={"AvailabilityZone": "nova"},
    )
    inst = run["Instances"][0]
    iid = inst["InstanceId"]
    assert iid.startswith("i-") and run["ReservationId"].startswith("r-")
    assert inst["InstanceType"] == "m1.tiny" and inst["KeyName"] == "boto-life"
    assert [g["GroupName"] for g in inst["SecurityGroups"]] == ["boto-life"]
    with pytest.raises(ClientError) as e:
        ec2.delete_security_group(GroupName="boto-life")
    assert code(e) == "DependencyViolation"

    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    running = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]},
                 {"Name": "instance-type", "Values": ["m1.tiny"]}]
    )["Reservations"]
    assert iid in [i["InstanceId"] for r in running for i in r["Instances"]]
    stopped = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}]
    )["Reservations"]
    assert iid not in [i["InstanceId"] for r in stopped for i in r["Instances"]]

    # The same server through the compute API.
    server = server_by_ec2(cloud, ec2, iid)
    assert server["status"] == "ACTIVE"
    assert server["key_name"] == "boto-life"

    out = ec2.get_console_output(InstanceId=iid)
    assert out["InstanceId"] == iid
    assert isinstance(out.get("Output", ""), str)

    ec2.reboot_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)

    # A volume: create, attach, see the attachment, detach, delete.
    vol = ec2.create_volume(Size=1, AvailabilityZone="nova")["VolumeId"]
    assert vol.startswith("vol-")
    ec2.get_waiter("volume_available").wait(VolumeIds=[vol], WaiterConfig=FAST)
    att = ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/vdb")
    assert att["InstanceId"] == iid
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[vol], WaiterConfig=FAST)
    v = ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]
    assert v["Attachments"][0]["InstanceId"] == iid
    assert v["Attachments"][0]["Device"] == "/dev/vdb"
    with pytest.raises(ClientError) as e:
        ec2.delete_volume(VolumeId=vol)
    assert code(e) in ("VolumeInUse", "IncorrectState")
    ec2.detach_volume(VolumeId=vol)
    ec2.get_waiter("volume_available").wait(VolumeIds=[vol], WaiterConfig=FAST)
    ec2.delete_volume(VolumeId=vol)
    wait_for("volume deletion", lambda: vol not in [
        v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]
    ])

    # An address: allocate, associate, describe, disassociate, release.
    ip = ec2.allocate_address()["PublicIp"]
    ec2.associate_address(InstanceId=iid, PublicIp=ip)
    addr = ec2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert addr["InstanceId"] == iid
    ec2.disassociate_address(PublicIp=ip)
    addr = ec2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert "InstanceId" not in addr
    ec2.release_address(PublicIp=ip)
    with pytest.raises(ClientError) as e:
        ec2.describe_addresses(PublicIps=[ip])
    assert code(e) == "InvalidAddress.NotFound"

    # Stop and start.
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert server_by_ec2(cloud, ec2, iid)["status"] == "SHUTOFF"
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)

    # Terminate: gone (or terminated) soon after.
    changes = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"]
    assert changes[0]["PreviousState"]["Name"] == "running"

    def gone():
        try:
            return instance(ec2, iid)["State"]["Name"] == "terminated"
        except ClientError as e:
            return e.response["Error"]["Code"] == "InvalidInstanceID.NotFound"

    wait_for("termination", gone)
    ec2.delete_security_group(GroupName="boto-life")
