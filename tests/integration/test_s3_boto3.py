"""boto3 against `ferrostack up`'s Swift proxy speaking S3 (like Swift's
s3api): keys from `openstack ec2 credentials create`, path-style, SigV4
with signed payloads (plain http), multipart uploads, ranges, presigned
URLs and S3's error codes."""

import hashlib
import urllib.request
from urllib.parse import urlsplit

import pytest

boto3 = pytest.importorskip("boto3")
from botocore.client import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from boto3.s3.transfer import TransferConfig  # noqa: E402

MIB = 1 << 20


def proxy_endpoint(cloud):
    entries = {e["Type"]: e for e in cloud.openstack("catalog", "list")}
    url = entries["object-store"]["Endpoints"][0]["url"]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/").split("/")[-1]


def client(cloud, access, secret):
    endpoint, _ = proxy_endpoint(cloud)
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 1},
        ),
    )


@pytest.fixture(scope="module")
def s3(cloud):
    created = cloud.openstack("ec2", "credentials", "create")
    c = client(cloud, created["access"], created["secret"])
    c._ferro_access = created["access"]
    return c


def code(e):
    return e.value.response["Error"]["Code"]


def test_buckets_objects_ranges_and_errors(cloud, s3):
    s3.create_bucket(Bucket="boto-one")
    assert "boto-one" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="boto-one")
    assert code(e) == "BucketAlreadyOwnedByYou"

    body = b"hello, s3 through swift"
    put = s3.put_object(Bucket="boto-one", Key="dir/a b.txt", Body=body,
                        ContentType="text/plain", Metadata={"color": "blue"})
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket="boto-one", Key="dir/a b.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"}
    part = s3.get_object(Bucket="boto-one", Key="dir/a b.txt", Range="bytes=7-8")
    assert part["Body"].read() == b"s3"
    assert part["ContentRange"] == f"bytes 7-8/{len(body)}"
    head = s3.head_object(Bucket="boto-one", Key="dir/a b.txt")
    assert head["ContentLength"] == len(body)

    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="boto-one", Key="dir/a b.txt", Body=b"x", IfNoneMatch="*")
    assert code(e) == "PreconditionFailed"

    s3.put_object(Bucket="boto-one", Key="top", Body=b"")
    v2 = s3.list_objects_v2(Bucket="boto-one", Delimiter="/")
    assert [o["Key"] for o in v2["Contents"]] == ["top"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["dir/"]
    v1 = s3.list_objects(Bucket="boto-one", Prefix="dir/")
    assert [o["Key"] for o in v1["Contents"]] == ["dir/a b.txt"]
    assert v1["Contents"][0]["Size"] == len(body)
    paged = s3.list_objects_v2(Bucket="boto-one", MaxKeys=1)
    assert paged["IsTruncated"] and paged["KeyCount"] == 1
    rest = s3.list_objects_v2(Bucket="boto-one", ContinuationToken=paged["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == ["top"]

    url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto-one", "Key": "dir/a b.txt"},
                                    ExpiresIn=300)
    with urllib.request.urlopen(url) as r:
        assert r.read() == body

    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="boto-one", Key="missing")
    assert code(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="boto-nope", Key="x")
    assert code(e) == "NoSuchBucket"
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="boto-one")
    assert code(e) == "BucketNotEmpty"
    for key in ("dir/a b.txt", "top", "dir/a b.txt"):
        s3.delete_object(Bucket="boto-one", Key=key)
    s3.delete_bucket(Bucket="boto-one")
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="boto-one")
    assert e.value.response["Error"]["Code"] in ("404", "NoSuchBucket")


def test_multipart_upload_and_abort(cloud, s3, tmp_path):
    s3.create_bucket(Bucket="boto-multi")
    data = bytes(range(256)) * (12 * MIB // 256)
    src = tmp_path / "big"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(src), "boto-multi", "big", Config=cfg)
    head = s3.head_object(Bucket="boto-multi", Key="big")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"'), head["ETag"]
    dst = tmp_path / "back"
    s3.download_file("boto-multi", "big", str(dst))
    assert dst.read_bytes() == data

    up = s3.create_multipart_upload(Bucket="boto-multi", Key="aborted")
    s3.upload_part(Bucket="boto-multi", Key="aborted", PartNumber=1,
                   UploadId=up["UploadId"], Body=b"x" * 100)
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="boto-multi")["Uploads"]] \
        == [up["UploadId"]]
    s3.abort_multipart_upload(Bucket="boto-multi", Key="aborted", UploadId=up["UploadId"])
    assert not s3.list_multipart_uploads(Bucket="boto-multi").get("Uploads")
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="boto-multi", Key="aborted", PartNumber=2,
                       UploadId=up["UploadId"], Body=b"y")
    assert code(e) == "NoSuchUpload"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="boto-multi")["Contents"]]
    assert keys == ["big"]


def test_wrong_secret_and_unknown_key_are_refused(cloud, s3):
    bad = client(cloud, s3._ferro_access, "not-the-secret")
    with pytest.raises(ClientError) as e:
        bad.list_buckets()
    assert code(e) == "SignatureDoesNotMatch"
    unknown = client(cloud, "0" * 32, "whatever")
    with pytest.raises(ClientError) as e:
        unknown.list_buckets()
    assert code(e) == "InvalidAccessKeyId"


def test_s3_and_swift_see_the_same_account(cloud, s3):
    s3.create_bucket(Bucket="boto-shared")
    s3.put_object(Bucket="boto-shared", Key="k", Body=b"shared")
    # The openstack CLI reaches Swift with a Keystone token of the same
    # project the EC2 credential was made on.
    listed = cloud.openstack("object", "list", "boto-shared")
    assert [o["Name"] for o in listed] == ["k"]
    cloud.openstack("container", "create", "made-by-swift")
    assert "made-by-swift" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    cloud.run("openstack", "container", "delete", "made-by-swift")
    s3.delete_object(Bucket="boto-shared", Key="k")
    s3.delete_bucket(Bucket="boto-shared")
