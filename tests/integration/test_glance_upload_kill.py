"""An image upload whose client is killed halfway leaves the image `queued`
and no data in the store; a later upload then succeeds."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path


def image_endpoint(cloud):
    return next(
        ep["url"] for e in cloud.openstack("catalog", "list") if e["Type"] == "image"
        for ep in e["Endpoints"] if ep["interface"] == "public"
    )


def api(method, url, token, body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=body, headers={
        "X-Auth-Token": token, **(headers or {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        data = r.read()
        return r.status, (json.loads(data) if data.strip() else None)


def store_files(cloud):
    root = Path(cloud.data_dir) / "glance" / "images"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# Sends the headers and half of the declared body, says so, then waits to be killed.
HALF_UPLOADER = textwrap.dedent("""
    import socket, sys
    host, port, path, token, size = sys.argv[1:6]
    size = int(size)
    s = socket.create_connection((host, int(port)))
    s.sendall((f"PUT {path} HTTP/1.1\\r\\nHost: {host}:{port}\\r\\nX-Auth-Token: {token}\\r\\n"
               f"Content-Type: application/octet-stream\\r\\nContent-Length: {size}\\r\\n\\r\\n").encode())
    chunk = b"x" * 65536
    sent = 0
    while sent < size // 2:
        s.sendall(chunk)
        sent += len(chunk)
    print("half", flush=True)
    sys.stdin.read()
""")


def test_killed_upload_leaves_image_queued_and_no_data(cloud, tmp_path):
    token = cloud.openstack("token", "issue")["id"]
    base = image_endpoint(cloud)
    before = store_files(cloud)
    status, img = api("POST", base + "/v2/images", token,
                      json.dumps({"name": "killed-upload", "disk_format": "raw",
                                  "container_format": "bare"}).encode(),
                      {"Content-Type": "application/json"})
    assert status == 201 and img["status"] == "queued"
    host_port = base.split("://", 1)[1].rstrip("/")
    host, port = host_port.split(":")
    size = 64 << 20
    proc = subprocess.Popen(
        [sys.executable, "-c", HALF_UPLOADER, host, port, f"/v2/images/{img['id']}/file", token,
         str(size)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "half"
    # Mid-upload the image is saving.
    assert api("GET", f"{base}/v2/images/{img['id']}", token)[1]["status"] == "saving"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    deadline = time.monotonic() + 20
    while True:
        shown = api("GET", f"{base}/v2/images/{img['id']}", token)[1]
        if shown["status"] == "queued" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shown["status"] == "queued", shown
    assert shown.get("checksum") is None and shown.get("size") is None, shown
    assert store_files(cloud) == before, "partial data left in the store"

    # The image is still usable: a complete upload makes it active.
    payload = os.urandom(1 << 20)
    status, _ = api("PUT", f"{base}/v2/images/{img['id']}/file", token, payload,
                    {"Content-Type": "application/octet-stream"})
    assert status == 204
    out = tmp_path / "back.raw"
    cloud.run("openstack", "image", "save", img["id"], "--file", str(out))
    assert out.read_bytes() == payload
    cloud.run("openstack", "image", "delete", img["id"])


def test_swift_store_holds_image_data(cloud, tmp_path):
    """`ferrostack up` has two stores: `fs` (default) and `swift`, this
    cloud's own Swift through the admin's Keystone token."""
    token = cloud.openstack("token", "issue")["id"]
    base = image_endpoint(cloud)
    status, info = api("GET", base + "/v2/info/stores", token)
    assert {s["id"] for s in info["stores"]} == {"fs", "swift"}
    assert [s["id"] for s in info["stores"] if s.get("default") == "true"] == ["fs"]

    src = tmp_path / "in-swift.raw"
    payload = os.urandom(3 << 20)
    src.write_bytes(payload)
    r = cloud.run("glance", "image-create", "--name", "in-swift", "--disk-format", "raw",
                  "--container-format", "bare", "--store", "swift", "--file", str(src))
    image_id = re.search(r"\|\s*id\s*\|\s*([0-9a-f-]{36})", r.stdout).group(1)
    objects = [o["Name"] for o in cloud.openstack("object", "list", "glance")]
    assert any(image_id in o for o in objects), objects
    out = tmp_path / "back.raw"
    cloud.run("openstack", "image", "save", image_id, "--file", str(out))
    assert out.read_bytes() == payload
    cloud.run("openstack", "image", "delete", image_id)
    objects = [o["Name"] for o in cloud.openstack("object", "list", "glance")]
    assert not any(image_id in o for o in objects), objects
