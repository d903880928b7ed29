"""Starts ferrostack's Swift servers as separate processes for the tests.

A `Cluster` is 3 `swift-storage` processes (one device `d1` each, zones
1..3) and one `swift-proxy`, with rings made by the `swift-ring` CLI and
TOML configs generated here. Storage nodes can be stopped and restarted.
"""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"

# tempauth users of the test cluster: (account, user, key, groups)
USERS = [
    ("test", "tester", "testing", [".admin"]),
    ("test2", "tester2", "testing2", [".admin"]),
]


def bin_dir():
    """Where the built binaries are: $FERROSTACK_BIN_DIR, else the cargo
    target dir's debug profile."""
    if os.environ.get("FERROSTACK_BIN_DIR"):
        return Path(os.environ["FERROSTACK_BIN_DIR"])
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "debug"
    return Path(__file__).resolve().parents[2] / "target" / "debug"


def binary(name):
    p = bin_dir() / name
    if not p.exists():
        raise RuntimeError(f"{p} not found: build with `cargo build --workspace --bins`")
    return str(p)


def swift_cli():
    """The `swift` console script of the running interpreter's venv."""
    p = Path(sys.executable).parent / "swift"
    if p.exists():
        return str(p)
    raise RuntimeError("the swift CLI (python-swiftclient) is not installed next to " + sys.executable)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=30.0, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}" + tail(log))
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout}s" + tail(log))


def tail(log, n=30):
    if not log or not Path(log).exists():
        return ""
    lines = Path(log).read_text(errors="replace").splitlines()[-n:]
    return f"\n--- last lines of {log} ---\n" + "\n".join(lines)


def toml_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def find_ring(ring_dir, name):
    for cand in (f"{name}.ring.gz", f"{name}.ring"):
        p = Path(ring_dir) / cand
        if p.exists():
            return p
    raise RuntimeError(f"swift-ring wrote no {name} ring in {ring_dir}: {sorted(os.listdir(ring_dir))}")


def make_ring(ring_dir, name, ports, part_power=10, replicas=3):
    """Builds one ring with the `swift-ring` CLI (`swift-ring <command> <builder> ...`):
    one device `d1` per node, node i in zone i."""
    builder = str(Path(ring_dir) / f"{name}.builder")
    ring = binary("swift-ring")

    def run(*args, ok=(0,)):
        r = subprocess.run([ring, args[0], builder, *args[1:]], capture_output=True, text=True, timeout=60)
        if r.returncode not in ok:
            raise RuntimeError(f"swift-ring {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    run("create", str(part_power), str(replicas), "1")
    for i, port in enumerate(ports, start=1):
        run("add", f"r1z{i}-{HOST}:{port}/d1", "100")
    run("rebalance", ok=(0, 1))  # 1: done with warnings, as swift-ring-builder
    return find_ring(ring_dir, name)


def stop_process(proc, sig=signal.SIGTERM, timeout=30.0):
    """Signals the process and waits; returns its exit code."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"pid {proc.pid} ignored signal {sig} for {timeout}s")


class Cluster:
    """3 storage nodes + 1 proxy, each its own process."""

    def __init__(self, root):
        self.root = Path(root)
        self.ring_dir = self.root / "rings"
        self.log_dir = self.root / "logs"
        self.storage_ports = [free_port() for _ in range(3)]
        self.proxy_port = free_port()
        self.prefix = secrets.token_hex(16)
        self.suffix = secrets.token_hex(16)
        self.nodes = {}  # index (1..3) -> Popen
        self.proxy = None

    # ---------------------------------------------------------------- setup
    def setup(self):
        self.ring_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in ("account", "container", "object"):
            make_ring(self.ring_dir, name, self.storage_ports)
        hash_toml = f"[hash]\nprefix = {toml_str(self.prefix)}\nsuffix = {toml_str(self.suffix)}\n"
        for i, port in enumerate(self.storage_ports, start=1):
            devices = self.root / "nodes" / str(i)
            (devices / "d1").mkdir(parents=True, exist_ok=True)
            self.config_path(f"storage{i}").write_text(
                f"bind = {toml_str(f'{HOST}:{port}')}\n"
                f"devices = {toml_str(devices)}\n"
                f"swift_dir = {toml_str(self.ring_dir)}\n"
                "mount_check = true\nfsync = true\n"
                "updater_interval_secs = 2\nasync_pending_interval_secs = 2\n" + hash_toml
            )
        users = "".join(
            "\n[[proxy.tempauth.users]]\n"
            f"account = {toml_str(a)}\nuser = {toml_str(u)}\nkey = {toml_str(k)}\n"
            f"groups = [{', '.join(toml_str(g) for g in gs)}]\n"
            for a, u, k, gs in USERS
        )
        self.config_path("proxy").write_text(
            f"bind = {toml_str(f'{HOST}:{self.proxy_port}')}\n"
            f"swift_dir = {toml_str(self.ring_dir)}\n"
            + hash_toml
            + "\n[proxy]\naccount_autocreate = true\n"
            + users
        )

    def config_path(self, name):
        return self.root / f"{name}.toml"

    def log_path(self, name):
        return self.log_dir / f"{name}.log"

    def _spawn(self, binary_name, name):
        log = open(self.log_path(name), "ab")
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        return subprocess.Popen(
            [binary(binary_name), "--config", str(self.config_path(name))],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )

    # --------------------------------------------------------------- control
    def start(self):
        for i in range(1, 4):
            self.start_node(i)
        self.proxy = self._spawn("swift-proxy", "proxy")
        wait_port(self.proxy_port, self.proxy, log=self.log_path("proxy"))
        self.wait_healthy()

    def start_node(self, i):
        proc = self._spawn("swift-storage", f"storage{i}")
        self.nodes[i] = proc
        wait_port(self.storage_ports[i - 1], proc, log=self.log_path(f"storage{i}"))

    def stop_node(self, i, sig=signal.SIGKILL):
        return stop_process(self.nodes[i], sig)

    def stop(self):
        codes = {}
        if self.proxy is not None:
            codes["proxy"] = stop_process(self.proxy)
        for i, proc in self.nodes.items():
            codes[f"storage{i}"] = stop_process(proc)
        return codes

    def wait_healthy(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                status, _, body = request("GET", self.proxy_port, "/healthcheck")
                if status == 200:
                    return
                last = f"{status} {body[:200]!r}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.2)
        raise RuntimeError(f"proxy not healthy: {last}" + tail(self.log_path("proxy")))

    # ----------------------------------------------------------------- views
    @property
    def auth_url(self):
        return f"http://{HOST}:{self.proxy_port}/auth/v1.0"

    def cli_env(self, account="test", user="tester", key="testing"):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "OS_"))}
        env.update(ST_AUTH=self.auth_url, ST_USER=f"{account}:{user}", ST_KEY=key)
        return env

    def logs_tail(self):
        return "".join(tail(p) for p in sorted(self.log_dir.glob("*.log")))


class ExternalCluster:
    """An already running Swift endpoint (FERROSTACK_TEST_AUTH_URL), e.g. the
    reference Swift, to check that the tests themselves assert Swift's real
    behaviour. It cannot stop nodes; tests that need that skip."""

    def __init__(self, auth_url):
        from urllib.parse import urlparse

        self.auth_url = auth_url
        self.proxy_port = urlparse(auth_url).port

    def cli_env(self, account="test", user="tester", key="testing"):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "OS_"))}
        env.update(ST_AUTH=self.auth_url, ST_USER=f"{account}:{user}", ST_KEY=key)
        return env

    def stop(self):
        return {}

    def logs_tail(self):
        return ""


def request(method, port, path, headers=None, body=None, timeout=30.0):
    """One raw HTTP request (path sent exactly as given); returns
    (status, headers dict with lowercase names, body bytes)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()
