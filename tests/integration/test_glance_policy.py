"""Glance's access rules through the real `openstack` CLI: projects are
isolated, only admins publicize, protected images survive delete."""

from test_glance_clients import DEMO


def test_private_image_is_invisible_to_another_project(cloud, tmp_path):
    src = tmp_path / "private.raw"
    src.write_bytes(b"private bytes" * 1000)
    img = cloud.openstack("image", "create", "--private", "--file", str(src),
                          "--disk-format", "raw", "--container-format", "bare", "pol-private")
    assert img["visibility"] == "private"
    try:
        assert img["id"] not in [i["ID"] for i in cloud.openstack("image", "list", env=DEMO)]
        r = cloud.run("openstack", "image", "show", img["id"], env=DEMO, check=False)
        assert r.returncode != 0 and "No Image found" in r.stderr, r.stderr
        out = tmp_path / "stolen.raw"
        r = cloud.run("openstack", "image", "save", "--file", str(out), img["id"],
                      env=DEMO, check=False)
        assert r.returncode != 0
        assert not out.exists() or out.read_bytes() != src.read_bytes()
        r = cloud.run("openstack", "image", "delete", img["id"], env=DEMO, check=False)
        assert r.returncode != 0
        # The owner still has it, intact.
        back = tmp_path / "back.raw"
        cloud.run("openstack", "image", "save", "--file", str(back), img["id"])
        assert back.read_bytes() == src.read_bytes()
    finally:
        cloud.run("openstack", "image", "delete", img["id"])


def test_non_admin_cannot_publicize(cloud):
    img = cloud.openstack("image", "create", "--disk-format", "raw", "--container-format",
                          "bare", "pol-demo-own", env=DEMO)
    try:
        r = cloud.run("openstack", "image", "set", "--public", img["id"], env=DEMO, check=False)
        assert r.returncode != 0 and "403" in r.stderr, r.stderr
        assert cloud.openstack("image", "show", img["id"], env=DEMO)["visibility"] != "public"
        r = cloud.run("openstack", "image", "create", "--public", "--disk-format", "raw",
                      "--container-format", "bare", "pol-demo-public", env=DEMO, check=False)
        assert r.returncode != 0 and "403" in r.stderr, r.stderr
        # An admin may.
        cloud.run("openstack", "image", "set", "--public", img["id"])
        assert cloud.openstack("image", "show", img["id"])["visibility"] == "public"
    finally:
        cloud.run("openstack", "image", "delete", img["id"])


def test_protected_image_cannot_be_deleted(cloud):
    img = cloud.openstack("image", "create", "--protected", "--disk-format", "raw",
                          "--container-format", "bare", "pol-protected")
    assert img["protected"] is True
    r = cloud.run("openstack", "image", "delete", img["id"], check=False)
    assert r.returncode != 0
    assert cloud.openstack("image", "show", img["id"])["id"] == img["id"]
    cloud.run("openstack", "image", "set", "--unprotected", img["id"])
    cloud.run("openstack", "image", "delete", img["id"])
    r = cloud.run("openstack", "image", "show", img["id"], check=False)
    assert r.returncode != 0
