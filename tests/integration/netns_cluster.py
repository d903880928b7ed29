"""A Swift cluster for fault-injection tests: storage nodes as separate
processes, each in its own network namespace with its own address, and
several proxies (in the test's namespace) sharing one memcached.

Layout: one Linux bridge `fsbr<tag>` in the test's namespace holds
`10.<a>.<b>.1/24`; node i lives in netns `fs<tag>n<i>` behind a veth pair and
binds `10.<a>.<b>.<10+i>:6200` (the address the rings name). Everything is
removed again by `teardown()`; nothing outside the namespaces and the bridge
this class creates is touched.
"""

import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from harness import (
    HOST,
    USERS,
    binary,
    find_ring,
    free_port,
    request,
    stop_process,
    tail,
    toml_str,
    wait_port,
)

NODE_PORT = 6200


def netns_available():
    """(ok, reason): whether this process may create namespaces and bridges."""
    if os.geteuid() != 0:
        return False, "needs root (ip netns)"
    if shutil.which("ip") is None:
        return False, "iproute2 (`ip`) is not installed"
    probe = f"fsprobe{secrets.token_hex(3)}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"ip netns add failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True, ""


class Memcached:
    """A private memcached on loopback."""

    def __init__(self, port):
        self.port = port
        self.proc = None

    def start(self):
        user = ["-u", "memcache"] if subprocess.run(["id", "memcache"], capture_output=True).returncode == 0 else []
        if os.geteuid() == 0 and not user:
            user = ["-u", "root"]
        self.proc = subprocess.Popen(
            ["memcached", "-l", HOST, "-p", str(self.port), "-U", "0", "-m", "64", *user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def sh(*args, ns=None, check=True):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


class NetnsCluster:
    """`nodes` storage nodes in their own namespaces, `proxies` proxies on
    loopback sharing the memcached at `memcached` (`host:port`)."""

    def __init__(
        self, root, nodes=4, proxies=2, memcached=None, part_power=8, storage_extra="", ring_nodes=None, proxy_extra=""
    ):
        self.root = Path(root)
        self.ring_dir = self.root / "rings"
        self.log_dir = self.root / "logs"
        self.tag = secrets.token_hex(3)
        self.bridge = f"fsbr{self.tag}"
        self.net = f"10.{random.randint(100, 250)}.{random.randint(0, 250)}"
        self.n_nodes = nodes
        self.proxy_ports = [free_port() for _ in range(proxies)]
        self.memcached = memcached
        self.part_power = part_power
        self.storage_extra = storage_extra
        self.proxy_extra = proxy_extra
        # Nodes 1..ring_nodes are in the first rings; the others are spare
        # (namespace and config ready, added later with `add_to_rings`).
        self.ring_nodes = ring_nodes or nodes
        self.prefix = secrets.token_hex(16)
        self.suffix = secrets.token_hex(16)
        self.nodes = {}  # i -> Popen
        self.proxies = {}  # i -> Popen
        self._made_ns = []
        self._made_links = []
        self._placement = {}  # (ring kind, partition) -> (primaries, handoffs)
        # memcached="own": a memcached of this cluster only, shared by its
        # proxies (a shared one would hand a new cluster the account and
        # container info cached for an earlier cluster's same-named accounts).
        self._own_memcached = None
        if memcached == "own":
            self._own_memcached = Memcached(free_port())
            self.memcached = f"{HOST}:{self._own_memcached.port}"

    # ----------------------------------------------------------- addresses
    def ns(self, i):
        return f"fs{self.tag}n{i}"

    def ip(self, i):
        return f"{self.net}.{10 + i}"

    def devices(self, i):
        return self.root / "nodes" / str(i)

    # --------------------------------------------------------------- setup
    def setup(self):
        self.ring_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._network()
        for name in ("account", "container", "object"):
            self._ring(name)
        hash_toml = f"[hash]\nprefix = {toml_str(self.prefix)}\nsuffix = {toml_str(self.suffix)}\n"
        for i in range(1, self.n_nodes + 1):
            (self.devices(i) / "d1").mkdir(parents=True, exist_ok=True)
            self._config(f"storage{i}").write_text(
                f"bind = {toml_str(f'{self.ip(i)}:{NODE_PORT}')}\n"
                f"devices = {toml_str(self.devices(i))}\n"
                f"swift_dir = {toml_str(self.ring_dir)}\n"
                "mount_check = true\nfsync = true\n"
                + self.storage_extra
                + hash_toml
            )
        users = "".join(
            "\n[[proxy.tempauth.users]]\n"
            f"account = {toml_str(a)}\nuser = {toml_str(u)}\nkey = {toml_str(k)}\n"
            f"groups = [{', '.join(toml_str(g) for g in gs)}]\n"
            for a, u, k, gs in USERS
        )
        memcache = f"memcache_servers = [{toml_str(self.memcached)}]\n" if self.memcached else ""
        for p, port in enumerate(self.proxy_ports, start=1):
            self._config(f"proxy{p}").write_text(
                f"bind = {toml_str(f'{HOST}:{port}')}\n"
                f"swift_dir = {toml_str(self.ring_dir)}\n"
                + memcache
                + self.proxy_extra
                + hash_toml
                + "\n[proxy]\naccount_autocreate = true\n"
                + users
            )

    def _network(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self._made_links.append(self.bridge)
        sh("ip", "addr", "add", f"{self.net}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i in range(1, self.n_nodes + 1):
            ns, host_end = self.ns(i), f"fv{self.tag}{i}"
            sh("ip", "netns", "add", ns)
            self._made_ns.append(ns)
            sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self._made_links.append(host_end)
            sh("ip", "link", "set", host_end, "master", self.bridge)
            sh("ip", "link", "set", host_end, "up")
            sh("ip", "addr", "add", f"{self.ip(i)}/24", "dev", "eth0", ns=ns)
            sh("ip", "link", "set", "eth0", "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)

    def _ring(self, name):
        builder = str(self.ring_dir / f"{name}.builder")
        ring = binary("swift-ring")

        def run(*args, ok=(0,)):
            r = subprocess.run([ring, args[0], builder, *args[1:]], capture_output=True, text=True, timeout=60)
            if r.returncode not in ok:
                raise RuntimeError(f"swift-ring {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")

        run("create", str(self.part_power), "3", "1")
        for i in range(1, self.ring_nodes + 1):
            run("add", f"r1z{i}-{self.ip(i)}:{NODE_PORT}/d1", "100")
        run("rebalance", ok=(0, 1))
        return find_ring(self.ring_dir, name)

    def add_to_rings(self, i):
        """Adds node i to every ring and rebalances (min_part_hours waived),
        writing new ring files that running servers pick up."""
        ring = binary("swift-ring")
        for name in ("account", "container", "object"):
            builder = str(self.ring_dir / f"{name}.builder")
            for args in (
                ["add", builder, f"r1z{i}-{self.ip(i)}:{NODE_PORT}/d1", "100"],
                ["pretend-min-part-hours-passed", builder],
                ["rebalance", builder],
            ):
                r = subprocess.run([ring, *args], capture_output=True, text=True, timeout=120)
                if r.returncode not in (0, 1):
                    raise RuntimeError(f"swift-ring {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        self._placement = {}

    def _config(self, name):
        return self.root / f"{name}.toml"

    def log_path(self, name):
        return self.log_dir / f"{name}.log"

    # ------------------------------------------------------------- control
    def _spawn(self, argv, name, ns=None):
        log = open(self.log_path(name), "ab")
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        cmd = (["ip", "netns", "exec", ns] if ns else []) + argv
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def start(self):
        if self._own_memcached is not None:
            self._own_memcached.start()
        for i in range(1, self.ring_nodes + 1):
            self.start_node(i)
        for p, port in enumerate(self.proxy_ports, start=1):
            proc = self._spawn([binary("swift-proxy"), "--config", str(self._config(f"proxy{p}"))], f"proxy{p}")
            self.proxies[p] = proc
            wait_port(port, proc, log=self.log_path(f"proxy{p}"))

    def start_node(self, i):
        argv = [binary("swift-storage"), "--config", str(self._config(f"storage{i}"))]
        proc = self._spawn(argv, f"storage{i}", ns=self.ns(i))
        self.nodes[i] = proc
        self._wait_node(i, proc)

    def _wait_node(self, i, proc, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"storage{i} exited {proc.returncode}" + tail(self.log_path(f"storage{i}")))
            try:
                with socket.create_connection((self.ip(i), NODE_PORT), timeout=0.5):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"storage{i} not healthy" + tail(self.log_path(f"storage{i}")))

    def kill_node(self, i):
        return stop_process(self.nodes.pop(i), signal.SIGKILL)

    def run_once(self, i, daemon="all", timeout=600):
        """One pass of `daemon` on node i, in its namespace; returns the JSON
        reports the storage binary prints."""
        argv = [binary("swift-storage"), "--config", str(self._config(f"storage{i}")), "--once", daemon]
        r = subprocess.run(["ip", "netns", "exec", self.ns(i)] + argv, capture_output=True, text=True, timeout=timeout)
        with open(self.log_path(f"once{i}"), "a") as f:
            f.write(r.stderr)
        if r.returncode != 0:
            raise RuntimeError(f"--once {daemon} on node {i} exited {r.returncode}:\n{r.stdout}\n{r.stderr[-3000:]}")
        return json.loads(r.stdout) if r.stdout.strip() else {}

    def stop(self):
        codes = {}
        for p, proc in self.proxies.items():
            codes[f"proxy{p}"] = stop_process(proc)
        for i, proc in self.nodes.items():
            codes[f"storage{i}"] = stop_process(proc)
        self.proxies, self.nodes = {}, {}
        return codes

    def teardown(self):
        for proc in list(self.proxies.values()) + list(self.nodes.values()):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if self._own_memcached is not None:
            self._own_memcached.stop()
        for ns in self._made_ns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for link in self._made_links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)

    # --------------------------------------------------------------- views
    def node_of_ip(self, ip):
        return int(ip.rsplit(".", 1)[1]) - 10

    def locate(self, kind, account, container=None, obj=None):
        """(partition, [primary node numbers], [handoff node numbers]).

        The partition is computed here (Swift's hash_path) and checked once
        per partition against `swift-ring nodes`, which gives the devices."""
        path = "/".join(x for x in (account, container, obj) if x is not None)
        digest = hashlib.md5(f"{self.prefix}/{path}{self.suffix}".encode()).digest()
        part = int.from_bytes(digest[:4], "big") >> (32 - self.part_power)
        key = (kind, part)
        if key not in self._placement:
            args = [binary("swift-ring"), "nodes", str(find_ring(self.ring_dir, kind)), account]
            args += [x for x in (container, obj) if x is not None]
            args += ["--hash-prefix", self.prefix, "--hash-suffix", self.suffix]
            r = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
            v = json.loads(r.stdout)
            assert v["partition"] == part, f"partition of {path}: ring says {v['partition']}, computed {part}"
            self._placement[key] = (
                [self.node_of_ip(d["ip"]) for d in v["primaries"]],
                [self.node_of_ip(d["ip"]) for d in v["handoffs"]],
            )
        primaries, handoffs = self._placement[key]
        return part, primaries, handoffs

    def node_request(self, i, method, path, headers=None, body=None, timeout=30.0):
        """A request straight to storage node i (over the bridge)."""
        import http.client

        conn = http.client.HTTPConnection(self.ip(i), NODE_PORT, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            hdrs = dict(headers or {})
            if body is not None:
                hdrs.setdefault("Content-Length", str(len(body)))
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def proxy_request(self, p, method, path, headers=None, body=None):
        return request(method, self.proxy_ports[p - 1], path, headers, body)

    def token(self, p=1, account="test", user="tester", key="testing"):
        status, h, _ = self.proxy_request(
            p, "GET", "/auth/v1.0", {"X-Auth-User": f"{account}:{user}", "X-Auth-Key": key}
        )
        assert status in (200, 204), status
        return h["x-auth-token"], h["x-storage-url"].split("/v1/", 1)[1]

    def data_files(self, i):
        return sorted((self.devices(i) / "d1" / "objects").rglob("*.data"))

    def logs_tail(self):
        return "".join(tail(p) for p in sorted(self.log_dir.glob("*.log")))
