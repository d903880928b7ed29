#!/usr/bin/env bash
# Swift's own functional test suite (test/functional of the swift sdist on
# PyPI, without s3api/) against `ferrostack up --config
# deploy/swift-functests.toml`, on free loopback ports.
#
#   scripts/swift-functests.sh                     the whole suite
#   scripts/swift-functests.sh test/functional/tests.py -k TestFile
#                                                  pytest selectors/options
#
# Environment:
#   FUNCTESTS_MIN_PASS   fail (exit 1) when fewer tests pass (default 0)
#   FUNCTESTS_OUT        output dir: test.conf, junit.xml, pytest.log,
#                        summary.txt, up.log (default: a new dir under /tmp)
#   FUNCTESTS_HOME       where the venv and the sdist live
#                        (default ${FERROSTACK_CACHE:-~/.cache/ferrostack}/swift-functests)
#   FUNCTESTS_VENV       the venv (default $FUNCTESTS_HOME/venv); made if missing
#   FUNCTESTS_SRC        the unpacked sdist (default $FUNCTESTS_HOME/swift-$SWIFT_VERSION)
#   FUNCTESTS_BIN        the ferrostack binary (default $CARGO_TARGET_DIR/debug/ferrostack)
#   FUNCTESTS_TIMEOUT    seconds before pytest is stopped (default 2400)
#   SWIFT_VERSION        the suite's version (default 2.38.3)
# Exit status: 0 when at least FUNCTESTS_MIN_PASS tests passed, 1 otherwise,
# 2 when the cluster or the suite could not be set up.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFT_VERSION="${SWIFT_VERSION:-2.38.3}"
FUNCTESTS_HOME="${FUNCTESTS_HOME:-${FERROSTACK_CACHE:-$HOME/.cache/ferrostack}/swift-functests}"
FUNCTESTS_VENV="${FUNCTESTS_VENV:-$FUNCTESTS_HOME/venv}"
FUNCTESTS_SRC="${FUNCTESTS_SRC:-$FUNCTESTS_HOME/swift-$SWIFT_VERSION}"
FUNCTESTS_MIN_PASS="${FUNCTESTS_MIN_PASS:-0}"
FUNCTESTS_TIMEOUT="${FUNCTESTS_TIMEOUT:-2400}"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${FERROSTACK_CACHE:-$HOME/.cache/ferrostack}/target}"
FUNCTESTS_BIN="${FUNCTESTS_BIN:-$CARGO_TARGET_DIR/debug/ferrostack}"
OUT="${FUNCTESTS_OUT:-$(mktemp -d /tmp/swift-functests.XXXXXX)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

log() { echo "[swift-functests] $*" >&2; }
fail_setup() { echo "[swift-functests] SETUP FAILED: $*" >&2; exit 2; }

[ -x "$FUNCTESTS_BIN" ] || fail_setup "no ferrostack binary at $FUNCTESTS_BIN (cargo build -p ferrostack)"

# ------------------------------------------------------------ the suite
# The suite imports swift.common.* (the swift package) and runs from the
# sdist's source tree (test/ is not in the wheel).
PY="$FUNCTESTS_VENV/bin/python"
if ! "$PY" - "$SWIFT_VERSION" <<'PY' >/dev/null 2>&1
import sys, importlib.metadata as m
assert m.version("swift") == sys.argv[1]
for p in ("python-swiftclient", "pytest"):
    m.version(p)
PY
then
    log "installing swift==$SWIFT_VERSION, python-swiftclient and pytest into $FUNCTESTS_VENV"
    mkdir -p "$(dirname "$FUNCTESTS_VENV")"
    [ -x "$PY" ] || python3 -m venv "$FUNCTESTS_VENV" || fail_setup "python3 -m venv failed"
    "$FUNCTESTS_VENV/bin/pip" install -q "swift==$SWIFT_VERSION" python-swiftclient pytest \
        || fail_setup "pip install failed"
fi
if [ ! -d "$FUNCTESTS_SRC/test/functional" ]; then
    log "fetching the swift $SWIFT_VERSION sdist into $(dirname "$FUNCTESTS_SRC")"
    tmpd="$(mktemp -d)"
    "$FUNCTESTS_VENV/bin/pip" download -q --no-binary :all: --no-deps \
        "swift==$SWIFT_VERSION" -d "$tmpd" || fail_setup "pip download of the sdist failed"
    tar -xzf "$tmpd/swift-$SWIFT_VERSION.tar.gz" -C "$(dirname "$FUNCTESTS_SRC")" \
        || fail_setup "unpacking the sdist failed"
    rm -rf "$tmpd"
    [ -d "$FUNCTESTS_SRC/test/functional" ] || fail_setup "no test/functional in $FUNCTESTS_SRC"
fi

# ------------------------------------------------------------ the cluster
DATA="$OUT/data"
rm -rf "$DATA"
mkdir -p "$DATA"
RUST_LOG="${RUST_LOG:-warn}" "$FUNCTESTS_BIN" up --data-dir "$DATA" \
    --config "$ROOT/deploy/swift-functests.toml" >"$OUT/up.log" 2>&1 &
UP_PID=$!
stop_up() {
    if kill -0 "$UP_PID" 2>/dev/null; then
        kill -INT "$UP_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$UP_PID" 2>/dev/null || return 0; sleep 0.1; done
        kill -KILL "$UP_PID" 2>/dev/null || true
    fi
}
trap stop_up EXIT
for _ in $(seq 1 600); do
    [ -f "$DATA/openrc" ] && break
    kill -0 "$UP_PID" 2>/dev/null || { tail -n 20 "$OUT/up.log" >&2; fail_setup "ferrostack up exited"; }
    sleep 0.1
done
[ -f "$DATA/openrc" ] || { tail -n 20 "$OUT/up.log" >&2; fail_setup "no openrc after 60s"; }
ST_AUTH="$(sed -n "s/^export ST_AUTH='\(.*\)'$/\1/p" "$DATA/openrc")"
[ -n "$ST_AUTH" ] || fail_setup "no ST_AUTH in $DATA/openrc"
log "cluster up: $ST_AUTH (log: $OUT/up.log)"

# ------------------------------------------------------------ test.conf
# The users of deploy/swift-functests.toml, slot by slot.
cat >"$OUT/test.conf" <<EOF
[func_test]
auth_uri = $ST_AUTH
account = test
username = tester
password = testing
account2 = test2
username2 = tester2
password2 = testing2
username3 = tester3
password3 = testing3
account5 = test5
username5 = tester5
password5 = testing5
service_prefix = SERVICE
account6 = admin
username6 = admin
password6 = admin
collate = C
insecure = no
storage_domain = example.net

[unit_test]
fake_syslog = False
EOF
cat >"$OUT/pytest.ini" <<'EOF'
[pytest]
python_files = test*.py
addopts = -p no:cacheprovider -p no:requests_mock -r fEs
EOF

# The in-process harness creates the test accounts before the run; so do
# we (a container PUT and DELETE as users 1 and 2).
"$PY" - "$ST_AUTH" <<'PY' || log "WARNING: priming the test accounts failed"
import sys, urllib.request
auth = sys.argv[1]
for user, key in (("test:tester", "testing"), ("test2:tester2", "testing2")):
    r = urllib.request.urlopen(urllib.request.Request(
        auth, headers={"X-Auth-User": user, "X-Auth-Key": key}), timeout=10)
    tok, url = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
    for method in ("PUT", "DELETE"):
        urllib.request.urlopen(urllib.request.Request(
            url + "/functests-prime", method=method, headers={"X-Auth-Token": tok}), timeout=10)
PY

# ------------------------------------------------------------ pytest
if [ $# -gt 0 ]; then
    sel=("$@")
else
    sel=(test/functional --ignore=test/functional/s3api)
fi
log "running swift $SWIFT_VERSION test/functional (out: $OUT)"
t0=$(date +%s)
(
    cd "$FUNCTESTS_SRC" || exit 2
    export SWIFT_TEST_IN_PROCESS=0 SWIFT_TEST_CONFIG_FILE="$OUT/test.conf" PYTHONDONTWRITEBYTECODE=1
    timeout --signal=TERM "$FUNCTESTS_TIMEOUT" "$PY" -m pytest -c "$OUT/pytest.ini" \
        --rootdir="$FUNCTESTS_SRC" --junitxml="$OUT/junit.xml" -o junit_family=xunit1 -q "${sel[@]}"
) >"$OUT/pytest.log" 2>&1
wall=$(( $(date +%s) - t0 ))
stop_up
trap - EXIT

# ------------------------------------------------------------ summary
"$PY" - "$OUT/junit.xml" "$wall" >"$OUT/summary.txt" <<'PY'
import collections, sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:  # no junit: pytest never ran
    print(f"no junit xml ({e})\nTOTAL passed=0 failed=0 skipped=0")
    sys.exit()
per = collections.defaultdict(collections.Counter)
bad = []
for tc in root.iter("testcase"):
    cls = tc.get("classname", "")
    mod = cls.rsplit(".", 1)[0].replace("test.functional.", "") + ".py"
    tags = {c.tag for c in tc}
    kind = ("failed" if tags & {"failure", "error"} else
            "skipped" if "skipped" in tags else "passed")
    per[mod][kind] += 1
    if kind == "failed":
        bad.append(f"{mod}::{cls.rsplit('.', 1)[-1]}::{tc.get('name')}")
tot = collections.Counter()
print(f"{'module':34} {'tests':>6} {'pass':>6} {'fail':>6} {'skip':>6}")
for mod in sorted(per, key=lambda m: -sum(per[m].values())):
    c = per[mod]
    tot.update(c)
    print(f"{mod:34} {sum(c.values()):6} {c['passed']:6} {c['failed']:6} {c['skipped']:6}")
print(f"{'all':34} {sum(tot.values()):6} {tot['passed']:6} {tot['failed']:6} {tot['skipped']:6}")
print(f"wall {sys.argv[2]} s")
if bad:
    print("\nfailed:")
    print("\n".join("  " + b for b in bad))
print(f"\nTOTAL passed={tot['passed']} failed={tot['failed']} skipped={tot['skipped']}")
PY
sed -n '1,/^wall/p' "$OUT/summary.txt"
passed="$(sed -n 's/^TOTAL passed=\([0-9]*\).*/\1/p' "$OUT/summary.txt")"
log "$(tail -n 1 "$OUT/summary.txt") (reference: 847 passed); details in $OUT"
if [ "${passed:-0}" -lt "$FUNCTESTS_MIN_PASS" ]; then
    log "FAILED: ${passed:-0} passed, fewer than FUNCTESTS_MIN_PASS=$FUNCTESTS_MIN_PASS"
    exit 1
fi
exit 0
