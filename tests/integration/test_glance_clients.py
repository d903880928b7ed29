"""The real python-glanceclient (`glance`) and `openstack image ...` against
`ferrostack up`'s Glance, authenticated by its identity service."""

import time

DEMO = {"OS_USERNAME": "demo", "OS_PASSWORD": "demo-secret", "OS_PROJECT_NAME": "demo"}


def table(text):
    """A `glance` CLI property table (`| Property | Value |`) as a dict."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and cells[0] not in ("Property", ""):
            out[cells[0]] = cells[1]
    return out


def glance(cloud, tmp_path, *args, **kw):
    # A private HOME: glanceclient caches the image schema under ~/.glanceclient.
    env = {"HOME": str(tmp_path)}
    env.update(kw.pop("env", {}) or {})
    return cloud.run("glance", *args, env=env, **kw)


def wait_active(cloud, image_id, env=None, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        img = cloud.openstack("image", "show", image_id, env=env)
        if img["status"] == "active":
            return img
        assert img["status"] in ("queued", "uploading", "importing"), img
        time.sleep(0.2)
    raise AssertionError(f"image {image_id} not active after {timeout}s")


def test_glanceclient_create_list_update_download_member_delete(cloud, tmp_path):
    src = tmp_path / "g.raw"
    src.write_bytes(bytes(range(256)) * 4096 + b"tail")
    out = glance(
        cloud, tmp_path, "image-create", "--name", "gc-image", "--disk-format", "raw",
        "--container-format", "bare", "--file", str(src),
    ).stdout
    img = table(out)
    assert img["status"] == "active", out
    assert img["size"] == str(src.stat().st_size)
    image_id = img["id"]

    listed = glance(cloud, tmp_path, "image-list").stdout
    assert image_id in listed and "gc-image" in listed

    glance(cloud, tmp_path, "image-update", "--name", "gc-renamed", "--property", "os_distro=cirros",
           image_id)
    shown = cloud.openstack("image", "show", image_id)
    assert shown["name"] == "gc-renamed"
    assert shown["properties"]["os_distro"] == "cirros"

    back = tmp_path / "g.back"
    glance(cloud, tmp_path, "image-download", "--file", str(back), image_id)
    assert back.read_bytes() == src.read_bytes()

    demo_project = cloud.openstack("token", "issue", env=DEMO)["project_id"]
    out = glance(cloud, tmp_path, "member-create", image_id, demo_project).stdout
    assert demo_project in out and "pending" in out, out

    glance(cloud, tmp_path, "image-delete", image_id)
    r = cloud.run("openstack", "image", "show", image_id, check=False)
    assert r.returncode != 0


def test_openstack_image_lifecycle_import_and_sharing(cloud, tmp_path):
    src = tmp_path / "o.raw"
    src.write_bytes(b"\x00\x01ferrostack" * 50_000)
    img = cloud.openstack(
        "image", "create", "--file", str(src), "--disk-format", "raw",
        "--container-format", "bare", "osc-file",
    )
    assert img["status"] == "active"
    imported = cloud.openstack(
        "image", "create", "--import", "--file", str(src), "--disk-format", "raw",
        "--container-format", "bare", "osc-import",
    )
    imported = wait_active(cloud, imported["id"])
    assert imported["checksum"] == img["checksum"]

    names = [i["Name"] for i in cloud.openstack("image", "list")]
    assert {"osc-file", "osc-import"} <= set(names), names

    shown = cloud.openstack("image", "show", "osc-file")  # by name: 404 then ?name=
    assert shown["id"] == img["id"]
    cloud.run("openstack", "image", "set", "--property", "hw_disk_bus=virtio", "osc-file")
    shown = cloud.openstack("image", "show", "osc-file")
    assert shown["properties"]["hw_disk_bus"] == "virtio"

    back = tmp_path / "o.back"
    cloud.run("openstack", "image", "save", "--file", str(back), "osc-file")
    assert back.read_bytes() == src.read_bytes()

    # Sharing: the demo project cannot see the image until it is a member,
    # lists it only once it accepted.
    demo_project = cloud.openstack("token", "issue", env=DEMO)["project_id"]
    r = cloud.run("openstack", "image", "show", img["id"], env=DEMO, check=False)
    assert r.returncode != 0
    cloud.openstack("image", "add", "project", img["id"], demo_project)
    assert img["id"] not in [i["ID"] for i in cloud.openstack("image", "list", env=DEMO)]
    cloud.run("openstack", "image", "set", "--accept", img["id"], env=DEMO)
    assert img["id"] in [i["ID"] for i in cloud.openstack("image", "list", env=DEMO)]
    demo_back = tmp_path / "demo.back"
    cloud.run("openstack", "image", "save", "--file", str(demo_back), img["id"], env=DEMO)
    assert demo_back.read_bytes() == src.read_bytes()
    # The member may not delete it; the owner may.
    r = cloud.run("openstack", "image", "delete", img["id"], env=DEMO, check=False)
    assert r.returncode != 0
    for name in ("osc-file", "osc-import"):
        cloud.run("openstack", "image", "delete", name)
    names = [i["Name"] for i in cloud.openstack("image", "list")]
    assert not {"osc-file", "osc-import"} & set(names)
