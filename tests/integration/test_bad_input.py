"""Bad input gets Swift's exact 4xx, never a 5xx."""

import hashlib
import uuid
from urllib.parse import quote, urlparse

import pytest
from swiftclient import client

from harness import request


@pytest.fixture(scope="module")
def ctx(cluster, auth):
    url, token = auth
    path = urlparse(url).path  # /v1/AUTH_test
    status, _, body = request("PUT", cluster.proxy_port, f"{path}/bad", {"X-Auth-Token": token}, b"")
    assert status in (201, 202), body
    return cluster.proxy_port, path, token


def call(ctx, method, suffix, headers=None, body=None, token=True):
    port, path, tok = ctx
    h = dict(headers or {})
    if token:
        h.setdefault("X-Auth-Token", tok)
    if body is None and method in ("PUT", "POST"):
        body = b""
    status, hdrs, data = request(method, port, path + suffix, h, body)
    assert status < 500, f"{method} {suffix[:80]} -> {status} {data[:200]!r}"
    return status, hdrs, data


def test_object_name_too_long_is_400(ctx):
    assert call(ctx, "PUT", "/bad/" + "o" * 1025, body=b"x")[0] == 400
    assert call(ctx, "PUT", "/bad/" + "o" * 1024, body=b"x")[0] == 201


def test_container_name_too_long_is_400(ctx):
    assert call(ctx, "PUT", "/" + "c" * 257)[0] == 400


def test_invalid_utf8_in_path_is_412(ctx):
    assert call(ctx, "PUT", "/bad/%FF%FE", body=b"x")[0] == 412
    assert call(ctx, "GET", "/bad/%C3%28")[0] == 412
    assert call(ctx, "PUT", "/bad%FF")[0] == 412


def test_nul_byte_in_path_is_412(ctx):
    assert call(ctx, "PUT", "/bad/a%00b", body=b"x")[0] == 412
    assert call(ctx, "PUT", "/bad%00c")[0] == 412


def test_oversize_metadata_is_400(ctx):
    # value longer than 256 bytes
    assert call(ctx, "PUT", "/bad/meta1", {"X-Object-Meta-Big": "v" * 257}, b"x")[0] == 400
    # name longer than 128 bytes
    assert call(ctx, "PUT", "/bad/meta2", {"X-Object-Meta-" + "n" * 129: "v"}, b"x")[0] == 400
    # more than 90 items
    many = {f"X-Object-Meta-K{i}": "v" for i in range(91)}
    assert call(ctx, "PUT", "/bad/meta3", many, b"x")[0] == 400
    # more than 4096 bytes in all
    big = {f"X-Container-Meta-K{i:02d}": "v" * 250 for i in range(17)}
    assert call(ctx, "POST", "/bad", big)[0] == 400
    # within limits is fine
    assert call(ctx, "PUT", "/bad/meta4", {"X-Object-Meta-Ok": "v" * 256}, b"x")[0] == 201


def test_wrong_etag_is_422(ctx):
    body = b"hello etag"
    name = f"/bad/etag-{uuid.uuid4().hex}"
    wrong = hashlib.md5(b"something else").hexdigest()
    assert call(ctx, "PUT", name, {"ETag": wrong}, body)[0] == 422
    assert call(ctx, "GET", name)[0] == 404  # nothing stored
    right = hashlib.md5(body).hexdigest()
    status, hdrs, _ = call(ctx, "PUT", name, {"ETag": right}, body)
    assert status == 201 and hdrs["etag"].strip('"') == right


def test_missing_token_is_401(ctx):
    assert call(ctx, "GET", "", token=False)[0] == 401
    assert call(ctx, "PUT", "/bad/x", body=b"x", token=False)[0] == 401


def test_invalid_token_is_401(ctx):
    assert call(ctx, "GET", "", {"X-Auth-Token": "AUTH_tk" + "0" * 32})[0] == 401
    assert call(ctx, "GET", "/bad", {"X-Auth-Token": "garbage"})[0] == 401


def test_bad_credentials_are_401(cluster):
    status, _, _ = request(
        "GET", cluster.proxy_port, "/auth/v1.0", {"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"}
    )
    assert status == 401


def test_other_accounts_token_is_403(ctx, cluster):
    _, token2 = client.get_auth(cluster.auth_url, "test2:tester2", "testing2")
    assert call(ctx, "GET", "", {"X-Auth-Token": token2})[0] == 403
    assert call(ctx, "PUT", "/bad/x", {"X-Auth-Token": token2}, b"x")[0] == 403


def test_unicode_names_round_trip(ctx):
    name = quote("ünïcødé/名前 with spaces")
    assert call(ctx, "PUT", "/bad/" + name, body=b"u")[0] == 201
    status, _, data = call(ctx, "GET", "/bad/" + name)
    assert status == 200 and data == b"u"
