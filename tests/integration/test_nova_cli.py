"""The real `openstack` CLI against `ferrostack up`'s compute APIs (Nova
v2.1 with the Cinder v3 and Neutron v2.0 subsets, fake hypervisors on two
hosts): each command's resulting state is checked, not only its exit code."""

import ipaddress
import json
import time

import pytest

DEMO = {"OS_USERNAME": "demo", "OS_PASSWORD": "demo-secret", "OS_PROJECT_NAME": "demo"}


def wait_for(what, fn, timeout=60, interval=0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def server(cloud, name, env=None):
    return cloud.openstack("server", "show", name, env=env)


def wait_status(cloud, name, status, env=None, timeout=60):
    return wait_for(
        f"{name} {status}",
        lambda: (s := server(cloud, name, env)) and s["status"] == status and s,
        timeout,
    )


def fixed_ips(srv):
    addrs = srv["addresses"]
    if isinstance(addrs, str):  # older OSC renders "net=ip, ip"
        return [a.strip() for part in addrs.split(";") for a in part.split("=", 1)[1].split(",")]
    return [ip for ips in addrs.values() for ip in ips]


@pytest.fixture(scope="module")
def image(cloud, tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "tiny.img"
    path.write_bytes(b"\0" * 65536)
    img = cloud.openstack(
        "image", "create", "--file", str(path), "--disk-format", "raw",
        "--container-format", "bare", "--public", "tiny-image",
    )
    assert img["status"] == "active", img
    return img["id"]


@pytest.fixture(scope="module")
def vm(cloud, image):
    """One ACTIVE admin server for the action tests."""
    srv = cloud.openstack(
        "server", "create", "--image", "tiny-image", "--flavor", "m1.tiny", "--wait", "vm-main",
        timeout=120,
    )
    assert srv["status"] == "ACTIVE", srv
    return srv["id"]


def test_flavor_create_and_list(cloud):
    f = cloud.openstack("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "2", "t.custom")
    assert (f["name"], f["ram"], f["vcpus"], f["disk"]) == ("t.custom", 256, 2, 1)
    listed = {x["Name"]: x for x in cloud.openstack("flavor", "list")}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge", "t.custom"} <= set(listed)
    assert listed["t.custom"]["RAM"] == 256 and listed["m1.tiny"]["RAM"] == 512
    r = cloud.run("openstack", "flavor", "create", "--ram", "1", "--vcpus", "1", "x",
                  check=False, env=DEMO)
    assert r.returncode != 0 and "403" in r.stderr, r.stderr


def test_keypair_create(cloud, tmp_path):
    key = tmp_path / "k1.pem"
    kp = cloud.openstack("keypair", "create", "--private-key", str(key), "k-main")
    assert kp["name"] == "k-main" and kp["fingerprint"].count(":") >= 15 or kp["fingerprint"].startswith("SHA")
    assert "PRIVATE KEY" in key.read_text()
    names = [k["Name"] for k in cloud.openstack("keypair", "list")]
    assert "k-main" in names


def test_server_create_list_show(cloud, vm, image):
    srv = server(cloud, "vm-main")
    assert srv["id"] == vm and srv["status"] == "ACTIVE"
    assert srv["OS-EXT-STS:vm_state"] == "active" and srv["OS-EXT-STS:power_state"] in (1, "Running")
    ips = fixed_ips(srv)
    assert ips and all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.0.0/24") for ip in ips), srv
    assert srv["OS-EXT-SRV-ATTR:host"] in ("compute-1", "compute-2"), srv
    assert image in json.dumps(srv["image"]), srv["image"]
    listed = {s["Name"]: s for s in cloud.openstack("server", "list")}
    assert listed["vm-main"]["Status"] == "ACTIVE" and listed["vm-main"]["ID"] == vm


def test_console_log_lines(cloud, vm):
    out = cloud.run("openstack", "console", "log", "show", "--lines", "5", vm).stdout
    lines = out.rstrip("\n").split("\n")
    assert 1 <= len(lines) <= 5, out
    full = cloud.run("openstack", "console", "log", "show", vm).stdout
    assert len(full.rstrip("\n").split("\n")) >= len(lines)
    assert full.rstrip("\n").endswith(out.rstrip("\n"))


def test_reboot_stop_start(cloud, vm):
    cloud.run("openstack", "server", "reboot", vm)
    wait_status(cloud, vm, "ACTIVE")
    cloud.run("openstack", "server", "reboot", "--hard", vm)
    wait_status(cloud, vm, "ACTIVE")
    cloud.run("openstack", "server", "stop", "vm-main")
    srv = wait_status(cloud, vm, "SHUTOFF")
    assert srv["OS-EXT-STS:power_state"] in (4, "Shutdown")
    r = cloud.run("openstack", "server", "stop", vm, check=False)
    assert r.returncode != 0 and "409" in r.stderr, r.stderr
    cloud.run("openstack", "server", "start", "vm-main")
    wait_status(cloud, vm, "ACTIVE")


def test_volume_attach_and_detach(cloud, vm):
    vol = cloud.openstack("volume", "create", "--size", "1", "vol-main")
    wait_for("volume available",
             lambda: cloud.openstack("volume", "show", vol["id"])["status"] == "available")
    cloud.run("openstack", "server", "add", "volume", "vm-main", "vol-main")
    shown = wait_for(
        "volume in-use",
        lambda: (v := cloud.openstack("volume", "show", "vol-main"))["status"] == "in-use" and v,
    )
    att = shown["attachments"]
    assert vm in json.dumps(att), att
    srv = server(cloud, vm)
    assert vol["id"] in json.dumps(srv["volumes_attached"]), srv
    cloud.run("openstack", "server", "remove", "volume", "vm-main", "vol-main")
    wait_for("volume available again",
             lambda: cloud.openstack("volume", "show", "vol-main")["status"] == "available")
    assert vol["id"] not in json.dumps(server(cloud, vm)["volumes_attached"])


def test_floating_ip_create_and_associate(cloud, vm):
    fip = cloud.openstack("floating", "ip", "create", "public")
    addr = fip["floating_ip_address"]
    assert ipaddress.ip_address(addr) in ipaddress.ip_network("172.24.4.0/24"), fip
    assert fip["port_id"] is None
    cloud.run("openstack", "server", "add", "floating", "ip", "vm-main", addr)
    srv = wait_for("floating address shown", lambda: (s := server(cloud, vm)) and addr in fixed_ips(s) and s)
    fixed = [ip for ip in fixed_ips(srv) if ip != addr]
    shown = cloud.openstack("floating", "ip", "show", fip["id"])
    assert shown["port_id"] and shown["fixed_ip_address"] in fixed, shown
    cloud.run("openstack", "server", "remove", "floating", "ip", "vm-main", addr)
    assert cloud.openstack("floating", "ip", "show", fip["id"])["port_id"] is None
    cloud.run("openstack", "floating", "ip", "delete", fip["id"])
    assert fip["id"] not in [f["ID"] for f in cloud.openstack("floating", "ip", "list")]


def test_live_migration_to_the_other_host(cloud, vm):
    before = server(cloud, vm)["OS-EXT-SRV-ATTR:host"]
    other = "compute-2" if before == "compute-1" else "compute-1"
    cloud.run("openstack", "server", "migrate", "--live-migration", "--host", other, vm)
    wait_for(f"{vm} on {other}",
             lambda: (s := server(cloud, vm))["OS-EXT-SRV-ATTR:host"] == other and s["status"] == "ACTIVE")


def test_availability_zones_and_hypervisors(cloud, vm):
    zones = cloud.openstack("availability", "zone", "list", "--compute", "--long")
    nova = [z for z in zones if z["Zone Name"] == "nova"]
    assert nova and all(z["Zone Status"] == "available" for z in nova), zones
    assert {z.get("Host Name") for z in nova} >= {"compute-1", "compute-2"}, zones
    all_zones = cloud.openstack("availability", "zone", "list")
    assert "nova" in {z["Zone Name"] for z in all_zones}
    hvs = {h["Hypervisor Hostname"]: h for h in cloud.openstack("hypervisor", "list")}
    assert set(hvs) == {"compute-1", "compute-2"}, hvs
    assert all(h["State"] == "up" for h in hvs.values())


def test_quota_exceeded_on_second_boot(cloud, image):
    cloud.run("openstack", "quota", "set", "--instances", "1", "demo")
    try:
        first = cloud.openstack("server", "create", "--image", "tiny-image", "--flavor", "m1.tiny",
                                "--wait", "demo-q1", env=DEMO, timeout=120)
        assert first["status"] == "ACTIVE"
        r = cloud.run("openstack", "server", "create", "--image", "tiny-image", "--flavor",
                      "m1.tiny", "demo-q2", check=False, env=DEMO)
        assert r.returncode != 0, r.stdout
        assert "Quota exceeded" in r.stderr and "403" in r.stderr, r.stderr
        names = [s["Name"] for s in cloud.openstack("server", "list", env=DEMO)]
        assert names == ["demo-q1"], names
        cloud.run("openstack", "server", "delete", "--wait", "demo-q1", env=DEMO)
    finally:
        cloud.run("openstack", "quota", "set", "--instances", "10", "demo")


def test_projects_are_isolated(cloud, vm):
    vol = cloud.openstack("volume", "create", "--size", "1", "admin-vol")
    fip = cloud.openstack("floating", "ip", "create", "public")
    assert vm not in [s["ID"] for s in cloud.openstack("server", "list", env=DEMO)]
    assert vol["id"] not in [v["ID"] for v in cloud.openstack("volume", "list", env=DEMO)]
    assert fip["id"] not in [f["ID"] for f in cloud.openstack("floating", "ip", "list", env=DEMO)]
    for args in (
        ("server", "show", vm),
        ("server", "reboot", vm),
        ("server", "delete", vm),
        ("volume", "show", vol["id"]),
        ("volume", "delete", vol["id"]),
        ("floating", "ip", "delete", fip["id"]),
    ):
        r = cloud.run("openstack", *args, check=False, env=DEMO)
        assert r.returncode != 0, (args, r.stdout)
    assert server(cloud, vm)["status"] == "ACTIVE"
    assert cloud.openstack("volume", "show", vol["id"])["id"] == vol["id"]
    assert cloud.openstack("floating", "ip", "show", fip["id"])["id"] == fip["id"]
    cloud.run("openstack", "volume", "delete", vol["id"])
    cloud.run("openstack", "floating", "ip", "delete", fip["id"])


def test_server_delete_wait(cloud, image):
    srv = cloud.openstack("server", "create", "--image", "tiny-image", "--flavor", "m1.tiny",
                          "--wait", "vm-gone", timeout=120)
    assert srv["status"] == "ACTIVE"
    cloud.run("openstack", "server", "delete", "--wait", "vm-gone")
    assert "vm-gone" not in [s["Name"] for s in cloud.openstack("server", "list")]
    r = cloud.run("openstack", "server", "show", srv["id"], check=False)
    assert r.returncode != 0 and "No Server found" in r.stderr or "404" in r.stderr, r.stderr
