"""The swiftclient library (swiftclient.client) against the proxy."""

import hashlib
import os

import pytest
from swiftclient import client
from swiftclient.exceptions import ClientException


@pytest.fixture
def conn(cluster):
    c = client.Connection(authurl=cluster.auth_url, user="test:tester", key="testing", retries=0, timeout=120)
    yield c
    c.close()


def test_auth_returns_storage_url_and_token(cluster):
    url, token = client.get_auth(cluster.auth_url, "test:tester", "testing")
    assert url.endswith("/v1/AUTH_test")
    assert token
    # The X-Storage-User / X-Storage-Pass spelling works too.
    headers = client.head_account(url, token)
    assert "x-account-object-count" in headers


def test_put_get_head_post_delete_object(conn):
    conn.put_container("lib")
    data = os.urandom(300_000)
    etag = conn.put_object("lib", "dir/obj", data, headers={"X-Object-Meta-Kind": "test"})
    assert etag == hashlib.md5(data).hexdigest()

    headers, body = conn.get_object("lib", "dir/obj")
    assert body == data
    assert headers["etag"] == etag
    assert headers["x-object-meta-kind"] == "test"
    assert int(headers["content-length"]) == len(data)
    assert headers.get("x-trans-id")

    headers, body = conn.get_object("lib", "dir/obj", headers={"Range": "bytes=10-19"})
    assert body == data[10:20]

    conn.post_object("lib", "dir/obj", headers={"X-Object-Meta-Color": "green"})
    headers = conn.head_object("lib", "dir/obj")
    assert headers["x-object-meta-color"] == "green"
    assert "x-object-meta-kind" not in headers  # POST replaces user metadata

    conn.delete_object("lib", "dir/obj")
    with pytest.raises(ClientException) as e:
        conn.head_object("lib", "dir/obj")
    assert e.value.http_status == 404


def test_listing_prefix_delimiter_and_counts(conn):
    conn.put_container("lib-list")
    for name in ["a/1", "a/2", "b/1", "c"]:
        conn.put_object("lib-list", name, b"x" * 10)
    headers, listing = conn.get_container("lib-list")
    assert [o["name"] for o in listing] == ["a/1", "a/2", "b/1", "c"]
    assert int(headers["x-container-object-count"]) == 4
    assert int(headers["x-container-bytes-used"]) == 40
    _, listing = conn.get_container("lib-list", prefix="a/")
    assert [o["name"] for o in listing] == ["a/1", "a/2"]
    _, listing = conn.get_container("lib-list", delimiter="/")
    assert [o.get("name") or o.get("subdir") for o in listing] == ["a/", "b/", "c"]
    _, listing = conn.get_container("lib-list", marker="a/2", limit=1)
    assert [o["name"] for o in listing] == ["b/1"]


def test_delete_non_empty_container_is_409(conn):
    conn.put_container("lib-full")
    conn.put_object("lib-full", "o", b"data")
    with pytest.raises(ClientException) as e:
        conn.delete_container("lib-full")
    assert e.value.http_status == 409
    conn.delete_object("lib-full", "o")
    conn.delete_container("lib-full")
    with pytest.raises(ClientException) as e:
        conn.head_container("lib-full")
    assert e.value.http_status == 404


def test_chunked_upload(conn):
    conn.put_container("lib-chunked")
    chunks = [os.urandom(65536) for _ in range(20)]
    data = b"".join(chunks)
    etag = conn.put_object("lib-chunked", "o", iter(chunks), chunk_size=65536)
    assert etag == hashlib.md5(data).hexdigest()
    _, body = conn.get_object("lib-chunked", "o")
    assert body == data
