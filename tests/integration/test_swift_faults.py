"""Swift's durability promise under faults, on 4 storage nodes (each its own
process in its own network namespace) and 2 proxies sharing memcached:

- a node that was down while objects were written and deleted catches up
  after one replication pass, and no deleted object comes back;
- corrupted object files are never served, the auditor quarantines them and
  replication restores them.
"""

import concurrent.futures as cf
import hashlib
import os
import shutil
import random

import pytest

from netns_cluster import NetnsCluster, netns_available

CONTAINER = "faults"
# Background daemons stay off: the tests run single passes with --once.
STORAGE_EXTRA = "\n[daemons]\nenabled = false\n"


def _need(ok, why):
    if ok:
        return
    if os.environ.get("FERROSTACK_REQUIRE_SERVICES") == "1":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def fcluster(tmp_path):
    ok, why = netns_available()
    _need(ok, why)
    _need(shutil.which("memcached") is not None, "memcached is not installed (the proxies share one)")
    mc = "own"
    c = NetnsCluster(tmp_path, nodes=4, proxies=2, memcached=mc, storage_extra=STORAGE_EXTRA)
    try:
        c.setup()
        c.start()
        yield c
        codes = c.stop()
        assert all(code == 0 for code in codes.values()), f"unclean exits: {codes}"
    except Exception:
        print(c.logs_tail())
        raise
    finally:
        c.teardown()


def counter(reports, daemon, name):
    """A counter of `daemon`'s pass in the JSON that `--once` prints."""
    r = reports.get(daemon, reports)
    return int(r.get("counts", {}).get(name, 0))


def put_all(c, token, account, bodies, workers=8):
    """PUTs every object, alternating proxies; the token was issued by proxy
    1, so proxy 2 only knows it through the shared memcached."""

    def put(item):
        n, (name, body) = item
        st, _, _ = c.proxy_request(
            1 + n % 2, "PUT", f"/v1/{account}/{CONTAINER}/{name}", {"X-Auth-Token": token}, body
        )
        return name, st

    with cf.ThreadPoolExecutor(workers) as pool:
        for name, st in pool.map(put, enumerate(bodies.items())):
            assert st == 201, f"PUT {name}: {st}"


def delete_all(c, token, account, names, workers=8):
    def delete(item):
        n, name = item
        st, _, _ = c.proxy_request(1 + n % 2, "DELETE", f"/v1/{account}/{CONTAINER}/{name}", {"X-Auth-Token": token})
        return name, st

    with cf.ThreadPoolExecutor(workers) as pool:
        for name, st in pool.map(delete, enumerate(names)):
            assert st == 204, f"DELETE {name}: {st}"


REPLICATION = ("object-updater", "container-updater", "object-replicator", "container-replicator", "account-replicator")


def replicate_everywhere(c, rounds=2):
    """Replication passes on every node (the auditors are rate-limited by
    design and have their own test)."""
    for _ in range(rounds):
        for i in range(1, c.n_nodes + 1):
            for daemon in REPLICATION:
                c.run_once(i, daemon)


def node_listing(c, i, part, account):
    names, marker = [], ""
    while True:
        st, _, body = c.node_request(i, "GET", f"/d1/{part}/{account}/{CONTAINER}?format=json&marker={marker}")
        assert st == 200, f"listing on node {i}: {st} {body[:200]!r}"
        page = [o["name"] for o in __import__("json").loads(body)]
        if not page:
            return names
        names += page
        marker = page[-1]


def test_dead_node_catches_up_and_deleted_objects_stay_deleted(fcluster):
    c = fcluster
    token, account = c.token(1)
    st, _, _ = c.proxy_request(2, "PUT", f"/v1/{account}/{CONTAINER}", {"X-Auth-Token": token})
    assert st in (201, 202), st

    victim = 4
    c.kill_node(victim)
    bodies = {f"obj-{n:04d}": os.urandom(64 + n % 700) for n in range(2000)}
    put_all(c, token, account, bodies)
    deleted = sorted(bodies)[::10]
    assert len(deleted) == 200
    delete_all(c, token, account, deleted)
    c.start_node(victim)

    replicate_everywhere(c)

    live = {k: v for k, v in bodies.items() if k not in set(deleted)}
    for name, body in live.items():
        part, primaries, handoffs = c.locate("object", account, CONTAINER, name)
        for i in primaries:
            st, _, data = c.node_request(i, "GET", f"/d1/{part}/{account}/{CONTAINER}/{name}")
            assert st == 200 and data == body, f"{name} on primary {i}: {st}"
        for i in handoffs:
            st, _, _ = c.node_request(i, "HEAD", f"/d1/{part}/{account}/{CONTAINER}/{name}")
            assert st == 404, f"{name} left on handoff {i}: {st}"
    for name in deleted:
        part, primaries, _ = c.locate("object", account, CONTAINER, name)
        for i in primaries:
            st, _, _ = c.node_request(i, "GET", f"/d1/{part}/{account}/{CONTAINER}/{name}")
            assert st == 404, f"deleted {name} came back on node {i}: {st}"
        st, _, _ = c.proxy_request(1, "GET", f"/v1/{account}/{CONTAINER}/{name}", {"X-Auth-Token": token})
        assert st == 404

    part, primaries, _ = c.locate("container", account, CONTAINER)
    for i in primaries:
        assert node_listing(c, i, part, account) == sorted(live), f"listing on node {i} disagrees"


def _hash_dir(c, account, name):
    path = f"{c.prefix}/{account}/{CONTAINER}/{name}{c.suffix}"
    return hashlib.md5(path.encode()).hexdigest()


def test_corrupt_objects_are_never_served_then_quarantined_and_repaired(fcluster):
    c = fcluster
    token, account = c.token(1)
    st, _, _ = c.proxy_request(1, "PUT", f"/v1/{account}/{CONTAINER}", {"X-Auth-Token": token})
    assert st in (201, 202), st
    bodies = {f"o{n:04d}": os.urandom(4096) for n in range(1000)}
    put_all(c, token, account, bodies)

    victim = 2
    files = c.data_files(victim)
    assert len(files) > 300, f"node {victim} holds only {len(files)} objects"
    bad = random.sample(files, max(1, len(files) // 100))
    for f in bad:
        raw = bytearray(f.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        f.write_bytes(bytes(raw))
    by_hash = {_hash_dir(c, account, n): n for n in bodies}
    bad_names = [by_hash[f.parent.name] for f in bad]

    # No GET returns corrupt bytes: not through either proxy, and not from
    # the node itself (it cuts the stream instead).
    for n, name in enumerate(bodies):
        st, _, data = c.proxy_request(1 + n % 2, "GET", f"/v1/{account}/{CONTAINER}/{name}", {"X-Auth-Token": token})
        assert st == 200 and data == bodies[name], f"{name}: {st}"
    for name in bad_names:
        part, _, _ = c.locate("object", account, CONTAINER, name)
        try:
            st, _, data = c.node_request(victim, "GET", f"/d1/{part}/{account}/{CONTAINER}/{name}")
        except Exception:  # a cut stream is the expected outcome
            continue
        assert data == bodies[name] or st != 200, f"node {victim} served corrupt {name}"

    reports = c.run_once(victim, "object-auditor")
    # The GETs above may already have quarantined some: count both.
    quarantined = list((c.devices(victim) / "d1" / "quarantined" / "objects").glob("*"))
    assert len(quarantined) == len(bad), (reports, len(quarantined))
    assert counter(reports, "object-auditor", "quarantined") <= len(bad)

    replicate_everywhere(c, rounds=1)
    for name in bad_names:
        part, primaries, _ = c.locate("object", account, CONTAINER, name)
        assert victim in primaries
        for i in primaries:
            st, _, data = c.node_request(i, "GET", f"/d1/{part}/{account}/{CONTAINER}/{name}")
            assert st == 200 and data == bodies[name], f"{name} on node {i} after repair: {st}"
    again = c.run_once(victim, "object-auditor")
    assert counter(again, "object-auditor", "quarantined") == 0, again
