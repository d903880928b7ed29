"""The real `openstack` CLI against `ferrostack up`'s identity service, and
Keystone tokens accepted by Glance and the Swift proxy."""

import urllib.error
import urllib.request


def test_token_issue_is_scoped_to_admin_project(cloud):
    tok = cloud.openstack("token", "issue")
    assert tok["project_id"] and tok["user_id"] and tok["id"]
    # expires as Keystone writes it: YYYY-MM-DDTHH:MM:SS+0000 in OSC's rendering
    assert tok["expires"][:2] == "20", tok
    projects = cloud.openstack("project", "show", tok["project_id"])
    assert projects["name"] == "admin"


def test_catalog_lists_identity_image_object_store(cloud):
    entries = {e["Type"]: e for e in cloud.openstack("catalog", "list")}
    assert {"identity", "image", "object-store"} <= set(entries), entries
    tok = cloud.openstack("token", "issue")
    urls = [ep["url"] for ep in entries["object-store"]["Endpoints"]]
    assert urls and all(u.endswith(f"/v1/AUTH_{tok['project_id']}") for u in urls), urls
    identity_urls = [ep["url"] for ep in entries["identity"]["Endpoints"]]
    assert cloud.openrc["OS_AUTH_URL"] in identity_urls
    regions = {ep["region"] for e in entries.values() for ep in e["Endpoints"]}
    assert regions == {"RegionOne"}


def test_ec2_credentials_create_list_delete(cloud):
    created = cloud.openstack("ec2", "credentials", "create")
    access = created["access"]
    assert len(access) >= 16 and created["secret"]
    listed = cloud.openstack("ec2", "credentials", "list")
    assert access in [c["Access"] for c in listed]
    shown = cloud.openstack("ec2", "credentials", "show", access)
    assert shown["secret"] == created["secret"]
    cloud.run("openstack", "ec2", "credentials", "delete", access)
    listed = cloud.openstack("ec2", "credentials", "list")
    assert access not in [c["Access"] for c in listed]


def test_wrong_password_is_refused(cloud):
    r = cloud.run("openstack", "token", "issue", check=False, env={"OS_PASSWORD": "wrong"})
    assert r.returncode != 0
    assert "401" in r.stderr or "authenticate" in r.stderr.lower(), r.stderr


def test_swift_accepts_keystone_tokens_per_project(cloud, tmp_path):
    cloud.run("openstack", "container", "create", "ks-c1")
    src = tmp_path / "obj.txt"
    src.write_bytes(b"keystone object\n")
    cloud.run("openstack", "object", "create", "ks-c1", str(src), "--name", "o1")
    names = [o["Name"] for o in cloud.openstack("object", "list", "ks-c1")]
    assert names == ["o1"]
    out = tmp_path / "back.txt"
    cloud.run("openstack", "object", "save", "ks-c1", "o1", "--file", str(out))
    assert out.read_bytes() == src.read_bytes()

    # The proxy refuses a bogus token and the admin's token elsewhere.
    tok = cloud.openstack("token", "issue")
    store = next(
        ep["url"] for e in cloud.openstack("catalog", "list") if e["Type"] == "object-store"
        for ep in e["Endpoints"] if ep["interface"] == "public"
    )
    for token, url, status in [
        ("bogus", store + "/ks-c1", 401),
        (tok["id"], store.rsplit("/", 1)[0] + "/AUTH_someoneelse", 403),
    ]:
        req = urllib.request.Request(url, headers={"X-Auth-Token": token})
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError(f"{url} answered 2xx")
        except urllib.error.HTTPError as e:
            assert e.code == status, (url, e.code)


def test_glance_accepts_keystone_token(cloud, tmp_path):
    src = tmp_path / "disk.raw"
    src.write_bytes(bytes(range(256)) * 64)
    img = cloud.openstack(
        "image", "create", "--file", str(src), "--disk-format", "raw",
        "--container-format", "bare", "smoke-image",
    )
    assert img["status"] == "active"
    out = tmp_path / "back.raw"
    cloud.run("openstack", "image", "save", img["id"], "--file", str(out))
    assert out.read_bytes() == src.read_bytes()
    cloud.run("openstack", "image", "delete", img["id"])
    r = cloud.run("openstack", "image", "list", "--os-password", "wrong", check=False)
    assert r.returncode != 0
