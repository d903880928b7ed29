"""`ferrostack up` as a fixture: one all-in-one cloud on free loopback ports,
its openrc parsed, and helpers that run the real OpenStack clients with it."""

import json
import os
import re
import signal
import subprocess
import time

from harness import binary, stop_process, swift_cli, tail

CONFIG = """
[swift]
proxy_bind = "127.0.0.1:0"
storage_binds = ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"]
updater_interval_secs = 2
async_pending_interval_secs = 2
[identity]
bind = "127.0.0.1:0"
[[identity.users]]
name = "demo"
password = "demo-secret"
project = "demo"
roles = ["member"]
[glance]
bind = "127.0.0.1:0"
[nova]
compute_bind = "127.0.0.1:0"
volume_bind = "127.0.0.1:0"
network_bind = "127.0.0.1:0"
ec2_bind = "127.0.0.1:0"
hosts = 2
"""


def venv_bin(name):
    """A console script of the venv the tests run in (openstack, glance, swift)."""
    path = os.path.join(os.path.dirname(swift_cli()), name)
    if not os.path.exists(path):
        raise AssertionError(f"{name} is not installed next to {swift_cli()}")
    return path


def parse_openrc(text):
    env = {}
    for m in re.finditer(r"^export (\w+)='((?:[^']|'\\'')*)'$", text, re.M):
        env[m.group(1)] = m.group(2).replace("'\\''", "'")
    return env


class Cloud:
    def __init__(self, root):
        self.root = root
        self.data_dir = root / "data"
        self.log = root / "up.log"
        self.config = root / "up.toml"
        self.config.write_text(CONFIG)
        self.proc = None
        self.openrc = {}

    def start(self, timeout=60):
        (self.data_dir / "openrc").unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [binary("ferrostack"), "up", "--data-dir", str(self.data_dir),
             "--config", str(self.config)],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        openrc = self.data_dir / "openrc"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"ferrostack up exited with {self.proc.returncode}" + self.tail())
            if openrc.exists():
                self.openrc = parse_openrc(openrc.read_text())
                return
            time.sleep(0.1)
        self.proc.kill()
        raise AssertionError("no openrc after 60s" + self.tail())

    def stop(self):
        code = stop_process(self.proc, signal.SIGTERM)
        self.proc = None
        return code

    def tail(self):
        return tail(self.log)

    def env(self, **overrides):
        """The process environment with only this cloud's OS_*/ST_* variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "OS_"))}
        env.update(self.openrc)
        env.update({k: v for k, v in overrides.items() if v is not None})
        return env

    def run(self, tool, *args, check=True, env=None, timeout=300, **kw):
        """Runs a venv console script (`openstack`, `glance`, `swift`) with
        the cloud's credentials; `env` overrides variables."""
        r = subprocess.run(
            [venv_bin(tool), *args], env=self.env(**(env or {})),
            capture_output=True, text=True, timeout=timeout, **kw,
        )
        if check and r.returncode != 0:
            raise AssertionError(
                f"{tool} {' '.join(args)} exited {r.returncode}\n"
                f"stdout: {r.stdout}\nstderr: {r.stderr}" + self.tail()
            )
        return r

    def openstack(self, *args, env=None, **kw):
        """`openstack ... -f json`, parsed (None for commands without output)."""
        r = self.run("openstack", *args, "-f", "json", env=env, **kw)
        return json.loads(r.stdout) if r.stdout.strip() else None
