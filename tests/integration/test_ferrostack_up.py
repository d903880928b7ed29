"""`ferrostack up`: one process, openrc, the real CLI with it sourced,
clean stop, and a restart that keeps the data."""

import os
import re
import signal
import stat
import subprocess
import time

import pytest

from conftest import sha256_file, write_random
from harness import binary, stop_process, swift_cli, tail

CONFIG = """
[swift]
proxy_bind = "127.0.0.1:0"
storage_binds = ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"]
updater_interval_secs = 2
async_pending_interval_secs = 2
[identity]
bind = "127.0.0.1:0"
[glance]
bind = "127.0.0.1:0"
[nova]
compute_bind = "127.0.0.1:0"
volume_bind = "127.0.0.1:0"
network_bind = "127.0.0.1:0"
"""


def start(data_dir, config, log):
    # The previous run's openrc names its ports; wait for the new one.
    (data_dir / "openrc").unlink(missing_ok=True)
    proc = subprocess.Popen(
        [binary("ferrostack"), "up", "--data-dir", str(data_dir), "--config", str(config)],
        stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    openrc = data_dir / "openrc"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ferrostack up exited with {proc.returncode}" + tail(log))
        if openrc.exists():
            return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("no openrc after 60s" + tail(log))


def sourced(data_dir, command):
    """Runs `command` in bash after `source DIR/openrc`, with the venv's swift first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "OS_"))}
    env["PATH"] = os.path.dirname(swift_cli()) + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        ["bash", "-c", f"source {data_dir / 'openrc'} && {command}"],
        env=env, capture_output=True, text=True, timeout=300,
    )


def test_up_openrc_stat_stop_restart_keeps_data(tmp_path):
    data_dir = tmp_path / "data"
    config = tmp_path / "up.toml"
    config.write_text(CONFIG)
    log = tmp_path / "up.log"
    src = tmp_path / "payload.bin"
    digest = write_random(src, 3_000_000)

    proc = start(data_dir, config, log)
    try:
        openrc = (data_dir / "openrc").read_text()
        assert re.search(r"export ST_AUTH='http://127\.0\.0\.1:\d+/auth/v1\.0'", openrc), openrc
        assert "export ST_USER='admin:admin'" in openrc
        key = re.search(r"export ST_KEY='([0-9a-f]+)'", openrc).group(1)
        assert stat.S_IMODE((data_dir / "openrc").stat().st_mode) == 0o600

        r = sourced(data_dir, "swift stat")
        assert r.returncode == 0, r.stderr + tail(log)
        assert "Account: AUTH_admin" in r.stdout

        r = sourced(data_dir, f"swift upload keep {src} --object-name payload.bin")
        assert r.returncode == 0, r.stderr + tail(log)
    finally:
        code = stop_process(proc, signal.SIGTERM)
    assert code == 0, "ferrostack up did not stop cleanly" + tail(log)

    proc = start(data_dir, config, log)
    try:
        openrc = (data_dir / "openrc").read_text()
        assert f"export ST_KEY='{key}'" in openrc  # same generated key
        out = tmp_path / "back.bin"
        r = sourced(data_dir, f"swift download keep payload.bin -o {out}")
        assert r.returncode == 0, r.stderr + tail(log)
        assert sha256_file(out) == digest
        r = sourced(data_dir, "swift list keep")
        assert r.stdout.split() == ["payload.bin"]
    finally:
        code = stop_process(proc, signal.SIGINT)
    assert code == 0, "ferrostack up did not stop cleanly on SIGINT" + tail(log)


@pytest.mark.parametrize("bad", ['[swift]\nproxy_bind = "10.0.0.1:8080"\n', "[swift]\nbogus = 1\n"])
def test_up_refuses_bad_config(tmp_path, bad):
    config = tmp_path / "bad.toml"
    config.write_text(bad)
    r = subprocess.run(
        [binary("ferrostack"), "up", "--data-dir", str(tmp_path / "d"), "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode != 0
    assert "config" in r.stderr.lower() or "loopback" in r.stderr.lower(), r.stderr
