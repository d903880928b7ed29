"""More of Swift's durability promise under faults (see test_swift_faults.py
for the cluster): a container replica that is down during PUTs, a fifth
node added while clients read, and an object server killed in the middle of
a large PUT."""

import hashlib
import http.client
import os
import shutil
import random
import threading
import time

import pytest

from netns_cluster import NetnsCluster, netns_available
from test_swift_faults import CONTAINER, STORAGE_EXTRA, _need, node_listing, put_all, replicate_everywhere

# Daemons on, but only the ring reloader runs by itself (every second);
# replication is still driven with --once.
RING_RELOAD_ONLY = (
    "\n[daemons]\nenabled = true\n"
    "container_replicator_secs = 0\naccount_replicator_secs = 0\n"
    "container_auditor_secs = 0\naccount_auditor_secs = 0\n"
    "object_replicator_secs = 0\nobject_auditor_secs = 0\n"
    "ring_check_secs = 1\n"
)


@pytest.fixture
def make_cluster(tmp_path):
    ok, why = netns_available()
    _need(ok, why)
    _need(shutil.which("memcached") is not None, "memcached is not installed (the proxies share one)")
    mc = "own"
    made = []

    def make(**kw):
        kw.setdefault("storage_extra", STORAGE_EXTRA)
        c = NetnsCluster(tmp_path / f"c{len(made)}", proxies=2, memcached=mc, **kw)
        made.append(c)
        c.setup()
        c.start()
        return c

    try:
        yield make
        for c in made:
            codes = c.stop()
            assert all(code == 0 for code in codes.values()), f"unclean exits: {codes}"
    except Exception:
        for c in made:
            print(c.logs_tail())
        raise
    finally:
        for c in made:
            c.teardown()


def _create_container(c, token, account):
    st, _, _ = c.proxy_request(1, "PUT", f"/v1/{account}/{CONTAINER}", {"X-Auth-Token": token})
    assert st in (201, 202), st


def _async_pendings(c, i):
    return list((c.devices(i) / "d1" / "async_pending").rglob("*"))


def test_container_replica_down_leaves_async_pendings_the_updater_completes(make_cluster):
    c = make_cluster()
    token, account = c.token(1)
    _create_container(c, token, account)
    part, cprims, _ = c.locate("container", account, CONTAINER)
    victim = cprims[0]
    c.kill_node(victim)

    bodies = {f"p{n:03d}": os.urandom(100 + n) for n in range(300)}
    put_all(c, token, account, bodies)
    pending = sum(len([p for p in _async_pendings(c, i) if p.is_file()]) for i in range(1, 5) if i != victim)
    assert pending > 0, "no async pending was left for the dead container replica"

    c.start_node(victim)
    for i in range(1, c.n_nodes + 1):
        c.run_once(i, "object-updater")
    for i in range(1, c.n_nodes + 1):
        left = [p for p in _async_pendings(c, i) if p.is_file()]
        assert not left, f"node {i} still has async pendings: {left[:3]}"
    for i in cprims:
        assert node_listing(c, i, part, account) == sorted(bodies), f"listing on node {i} is incomplete"


def test_fifth_node_added_while_reading_nothing_fails_and_data_moves(make_cluster):
    c = make_cluster(nodes=5, ring_nodes=4, storage_extra=RING_RELOAD_ONLY, proxy_extra="ring_check_secs = 1\n")
    token, account = c.token(1)
    _create_container(c, token, account)
    bodies = {f"r{n:03d}": os.urandom(512 + n) for n in range(400)}
    put_all(c, token, account, bodies)
    c.start_node(5)

    stop, failures, reads = threading.Event(), [], [0]
    names = list(bodies)

    def reader(p):
        while not stop.is_set():
            name = random.choice(names)
            try:
                st, _, data = c.proxy_request(p, "GET", f"/v1/{account}/{CONTAINER}/{name}", {"X-Auth-Token": token})
                if st != 200 or data != bodies[name]:
                    failures.append((name, st))
            except Exception as e:  # noqa: BLE001 - every failure counts
                failures.append((name, repr(e)))
            reads[0] += 1

    threads = [threading.Thread(target=reader, args=(p,)) for p in (1, 2)]
    for t in threads:
        t.start()
    try:
        c.add_to_rings(5)
        time.sleep(3)  # every server reloads its rings within a second or two
        replicate_everywhere(c)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert reads[0] > 50, reads
    assert not failures, f"{len(failures)} of {reads[0]} reads failed: {failures[:5]}"

    moved_to_new = 0
    for name, body in bodies.items():
        part, primaries, _ = c.locate("object", account, CONTAINER, name)
        moved_to_new += 5 in primaries
        for i in range(1, 6):
            st, _, data = c.node_request(i, "GET", f"/d1/{part}/{account}/{CONTAINER}/{name}")
            if i in primaries:
                assert st == 200 and data == body, f"{name} missing on new primary {i}: {st}"
            else:
                assert st == 404, f"{name} still on non-primary {i}: {st}"
    assert moved_to_new > 0, "the new node got no object partition"
    part, cprims, _ = c.locate("container", account, CONTAINER)
    for i in cprims:
        assert node_listing(c, i, part, account) == sorted(bodies), f"listing on node {i}"


def test_object_server_killed_mid_put_never_shows_a_half_written_object(make_cluster):
    c = make_cluster()
    token, account = c.token(1)
    _create_container(c, token, account)
    name = "big"
    part, primaries, _ = c.locate("object", account, CONTAINER, name)
    victim = primaries[1]
    size, block = 500 << 20, os.urandom(1 << 20)
    md5 = hashlib.md5()
    for n in range(size >> 20):
        md5.update(block[n % 97 :] + block[: n % 97])
    expected = md5.hexdigest()
    result = {}

    def put():
        conn = http.client.HTTPConnection("127.0.0.1", c.proxy_ports[0], timeout=600)
        try:
            conn.putrequest("PUT", f"/v1/{account}/{CONTAINER}/{name}")
            conn.putheader("X-Auth-Token", token)
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            for n in range(size >> 20):
                conn.send(block[n % 97 :] + block[: n % 97])
            resp = conn.getresponse()
            result["status"] = resp.status
            resp.read()
        except OSError as e:
            result["error"] = repr(e)
        finally:
            conn.close()

    t = threading.Thread(target=put)
    t.start()
    tmp = c.devices(victim) / "d1" / "tmp"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        written = sum(f.stat().st_size for f in tmp.glob("*") if f.is_file()) if tmp.exists() else 0
        if written > 100 << 20:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the victim never received 100 MB")
    c.kill_node(victim)
    t.join(timeout=600)
    assert not t.is_alive()
    c.start_node(victim)

    # The victim has no object at all: not whole, not half.
    st, _, _ = c.node_request(victim, "HEAD", f"/d1/{part}/{account}/{CONTAINER}/{name}")
    assert st == 404, st
    assert not [p for p in (c.devices(victim) / "d1" / "objects").rglob("*.data")], "a .data file on the victim"
    # Elsewhere: either the whole object or nothing.
    for i in range(1, c.n_nodes + 1):
        if i == victim:
            continue
        conn = http.client.HTTPConnection(c.ip(i), 6200, timeout=600)
        conn.request("GET", f"/d1/{part}/{account}/{CONTAINER}/{name}")
        resp = conn.getresponse()
        h, got = hashlib.md5(), 0
        while chunk := resp.read(1 << 20):
            h.update(chunk)
            got += len(chunk)
        conn.close()
        assert resp.status == 404 or (resp.status == 200 and got == size and h.hexdigest() == expected), (
            f"node {i}: {resp.status}, {got} bytes"
        )
    if result.get("status") == 201:
        st, hdrs, _ = c.proxy_request(2, "HEAD", f"/v1/{account}/{CONTAINER}/{name}", {"X-Auth-Token": token})
        assert st == 200 and hdrs["etag"].strip('"') == expected
