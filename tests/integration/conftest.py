"""Fixtures: one cluster of separate processes for the whole session."""

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Cluster, ExternalCluster, swift_cli  # noqa: E402

_CLUSTERS = []
_CLOUDS = []


def _terminate(signum, frame):
    # Unwind like Ctrl-C so the fixtures stop every server process.
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _terminate)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    external = os.environ.get("FERROSTACK_TEST_AUTH_URL")
    if external:
        yield ExternalCluster(external)
        return
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    _CLUSTERS.append(c)
    c.setup()
    c.start()
    yield c
    codes = c.stop()
    # SIGTERM must stop every server cleanly (graceful shutdown, exit 0).
    assert all(code == 0 for code in codes.values()), f"unclean exits: {codes}"


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    """One `ferrostack up` (identity, glance, swift) for the session."""
    from cloud import Cloud

    c = Cloud(tmp_path_factory.mktemp("cloud"))
    c.start()
    _CLOUDS.append(c)
    yield c
    code = c.stop()
    assert code == 0, "ferrostack up did not stop cleanly" + c.tail()


@pytest.fixture(scope="session")
def swift(cluster):
    """Runs the real `swift` CLI as user test:tester; returns the
    CompletedProcess (check=False)."""

    def run(*args, check=True, account="test", user="tester", key="testing", cwd=None, timeout=600):
        r = subprocess.run(
            [swift_cli(), *args],
            env=cluster.cli_env(account, user, key),
            capture_output=True, text=True, cwd=cwd, timeout=timeout,
        )
        if check and r.returncode != 0:
            raise AssertionError(
                f"swift {' '.join(args)} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
            )
        return r

    return run


@pytest.fixture(scope="session")
def auth(cluster):
    """(storage_url, token) of test:tester via the swiftclient library."""
    from swiftclient import client

    return client.get_auth(cluster.auth_url, "test:tester", "testing")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_random(path, size):
    """A file of `size` random bytes; returns its sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 4 << 20))
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus != 0:
        for c in _CLUSTERS:
            terminalreporter.write_line(c.logs_tail())
        for c in _CLOUDS:
            terminalreporter.write_line(c.tail())
