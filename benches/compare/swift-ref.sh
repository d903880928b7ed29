#!/usr/bin/env bash
# The reference OpenStack Swift (PyPI `swift`), as a single-machine cluster on
# loopback, for side-by-side benchmarks (benches/src/bin/swift-compare.rs).
#
#   swift-ref.sh [options] setup     venv (pip install swift==VERSION), configs, rings
#   swift-ref.sh [options] start     setup, then start memcached + account, container,
#                                    object and proxy servers in the background
#   swift-ref.sh [options] stop      stop exactly the processes `start` recorded
#   swift-ref.sh [options] wipe      (stopped) erase all stored data
#   swift-ref.sh [options] status    which recorded processes are alive
#   swift-ref.sh [options] pids      "NAME PID" per running service (PID = group leader)
#
# Options (each also an environment variable):
#   --root DIR          SWIFT_REF_ROOT    default $FERROSTACK_CACHE/swift-ref
#                                         ($FERROSTACK_CACHE defaults to ~/.cache/ferrostack)
#   --venv DIR          SWIFT_REF_VENV    default ROOT/venv (created when missing)
#   --port N            SWIFT_REF_PORT    proxy port, default 28080
#   --backend-port N    SWIFT_REF_BACKEND_PORT  object N, container N+1, account N+2
#                                         (default 26210)
#   --memcache-port N   SWIFT_REF_MEMCACHE_PORT default 21219
#   SWIFT_REF_VERSION (2.38.3), SWIFT_REF_PROXY_WORKERS (2),
#   SWIFT_REF_OBJECT_WORKERS (2), SWIFT_REF_DB_WORKERS (1: account, container)
#
# Layout: one object, container and account server for 3 devices d1..d3 (one
# per zone, plain directories under ROOT/srv: no XFS), 3 replicas in every
# ring, tempauth user test:tester/testing (.admin), memcached for tempauth's
# tokens. Object server fsync behaviour is Swift's default. Loopback only.
set -euo pipefail

FERROSTACK_CACHE="${FERROSTACK_CACHE:-$HOME/.cache/ferrostack}"
ROOT="${SWIFT_REF_ROOT:-$FERROSTACK_CACHE/swift-ref}"
VENV="${SWIFT_REF_VENV:-}"
PORT="${SWIFT_REF_PORT:-28080}"
BACKEND="${SWIFT_REF_BACKEND_PORT:-26210}"
MC_PORT="${SWIFT_REF_MEMCACHE_PORT:-21219}"
VERSION="${SWIFT_REF_VERSION:-2.38.3}"
PROXY_WORKERS="${SWIFT_REF_PROXY_WORKERS:-2}"
OBJECT_WORKERS="${SWIFT_REF_OBJECT_WORKERS:-2}"
DB_WORKERS="${SWIFT_REF_DB_WORKERS:-1}"
IP=127.0.0.1

cmd=""
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$2"; shift 2 ;;
        --venv) VENV="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --backend-port) BACKEND="$2"; shift 2 ;;
        --memcache-port) MC_PORT="$2"; shift 2 ;;
        setup|start|stop|wipe|status|pids) cmd="$1"; shift ;;
        *) echo "usage: $0 [--root DIR] [--venv DIR] [--port N] [--backend-port N] [--memcache-port N] setup|start|stop|wipe|status|pids" >&2; exit 2 ;;
    esac
done
[ -n "$cmd" ] || { echo "$0: no command (setup|start|stop|wipe|status|pids)" >&2; exit 2; }
VENV="${VENV:-$ROOT/venv}"
OBJ_PORT="$BACKEND"; CONT_PORT=$((BACKEND + 1)); ACCT_PORT=$((BACKEND + 2))
ETC="$ROOT/etc"; RUN="$ROOT/run"; LOGS="$ROOT/log"; SRV="$ROOT/srv"
SERVICES=(memcached account-server container-server object-server proxy-server)

say() { echo "[swift-ref] $*" >&2; }
die() { echo "[swift-ref] ERROR: $*" >&2; exit 1; }

# alive NAME: the recorded pid runs the recorded command line (no recycled pids)
alive() {
    local pid have
    pid="$(cat "$RUN/$1.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    have="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | sed 's/ *$//')" || return 1
    [ "$have" = "$(cat "$RUN/$1.cmd" 2>/dev/null)" ]
}

listening() { (exec 3<>"/dev/tcp/$IP/$1") 2>/dev/null; }

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        local py=""
        # (pyenv shims exist for versions that are not selected: try each)
        for c in python3 python3.12 python3.11 python3.10; do
            if "$c" -c 'import venv, ensurepip' >/dev/null 2>&1; then py="$c"; break; fi
        done
        [ -n "$py" ] || die "python3 is required"
        say "creating venv $VENV"
        "$py" -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(m.version("swift") != sys.argv[1])' \
        "$VERSION" 2>/dev/null; then
        say "pip install swift==$VERSION into $VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check "swift==$VERSION" >&2
    fi
    command -v memcached >/dev/null 2>&1 || die "memcached is required (apt-get install memcached)"
}

# Swift reads /etc/swift/swift.conf when its modules are imported. This
# runner points Swift at ROOT/etc/swift.conf first, then runs the named
# console script, so nothing is written to /etc.
write_runner() {
    cat > "$ROOT/run-swift.py" <<'PY'
import os
import sys
from importlib.metadata import entry_points

name, args = sys.argv[1], sys.argv[2:]
import swift.common.utils
swift.common.utils.SWIFT_CONF_FILE = os.environ["SWIFT_REF_CONF"]
(ep,) = [e for e in entry_points(group="console_scripts") if e.name == name]
sys.argv = [name] + args
sys.exit(ep.load()())
PY
}

server_conf() {  # server_conf KIND PORT WORKERS
    cat <<EOF
[DEFAULT]
devices = $SRV
mount_check = false
bind_ip = $IP
bind_port = $2
workers = $3
user = $(id -un)
swift_dir = $ETC
log_name = $1-server
log_level = WARNING

[pipeline:main]
pipeline = healthcheck $1-server

[app:$1-server]
use = egg:swift#$1

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
}

write_configs() {
    mkdir -p "$ETC" "$RUN" "$LOGS" "$SRV"/d1 "$SRV"/d2 "$SRV"/d3
    cat > "$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = ferrostack-bench-prefix
swift_hash_path_suffix = ferrostack-bench-suffix

[storage-policy:0]
name = gold
default = yes
EOF
    server_conf object "$OBJ_PORT" "$OBJECT_WORKERS" > "$ETC/object-server.conf"
    server_conf container "$CONT_PORT" "$DB_WORKERS" > "$ETC/container-server.conf"
    server_conf account "$ACCT_PORT" "$DB_WORKERS" > "$ETC/account-server.conf"
    cat > "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = $IP
bind_port = $PORT
workers = $PROXY_WORKERS
user = $(id -un)
swift_dir = $ETC
log_name = proxy-server
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = $IP:$MC_PORT
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
}

write_rings() {
    local sig="v1 $IP $OBJ_PORT $CONT_PORT $ACCT_PORT"
    if [ "$(cat "$ETC/rings.sig" 2>/dev/null)" = "$sig" ] && [ -f "$ETC/object.ring.gz" ]; then
        return 0
    fi
    say "building rings (part power 10, 3 replicas, devices d1..d3 in zones 1..3)"
    local rb="$VENV/bin/swift-ring-builder" kind port z rc
    for kind in account container object; do
        case "$kind" in account) port=$ACCT_PORT ;; container) port=$CONT_PORT ;; *) port=$OBJ_PORT ;; esac
        rm -f "$ETC/$kind.builder" "$ETC/$kind.ring.gz"
        "$rb" "$ETC/$kind.builder" create 10 3 1 >/dev/null
        for z in 1 2 3; do
            "$rb" "$ETC/$kind.builder" add "r1z$z-$IP:$port/d$z" 100 >/dev/null
        done
        rc=0
        "$rb" "$ETC/$kind.builder" rebalance >/dev/null || rc=$?
        [ "$rc" -le 1 ] || die "rebalance of the $kind ring failed ($rc)"
    done
    rm -rf "$ETC/backups"
    echo "$sig" > "$ETC/rings.sig"
}

setup() {
    mkdir -p "$ROOT"
    ensure_venv
    write_runner
    write_configs
    write_rings
}

launch() {  # launch NAME PORT COMMAND...: start in the background, no waiting
    local name="$1" port="$2"; shift 2
    if alive "$name"; then say "$name already running"; return 0; fi
    listening "$port" && die "port $IP:$port (for $name) is taken by another process"
    echo "$*" > "$RUN/$name.cmd"
    # setsid: its own process group, so `stop` signals exactly this tree
    SWIFT_REF_CONF="$ETC/swift.conf" setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! > "$RUN/$name.pid"
}

await() {  # await NAME PORT: until it listens (30 s), or fail if it exited
    local name="$1" port="$2" i
    for i in $(seq 1 150); do
        listening "$port" && return 0
        # (kill -0: until exec the pid still shows the shell's command line)
        kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null || { tail -n 20 "$LOGS/$name.log" >&2; stop; die "$name exited during start-up"; }
        sleep 0.2
    done
    stop
    die "$name did not listen on $port within 30 s"
}

start() {
    setup
    local py="$VENV/bin/python" r="$ROOT/run-swift.py"
    # All at once: each Python server needs seconds to import Swift.
    launch memcached "$MC_PORT" memcached -l "$IP" -p "$MC_PORT" -U 0 -m 64 -t 2 -u "$(id -un)"
    launch account-server "$ACCT_PORT" "$py" "$r" swift-account-server "$ETC/account-server.conf" -v
    launch container-server "$CONT_PORT" "$py" "$r" swift-container-server "$ETC/container-server.conf" -v
    launch object-server "$OBJ_PORT" "$py" "$r" swift-object-server "$ETC/object-server.conf" -v
    launch proxy-server "$PORT" "$py" "$r" swift-proxy-server "$ETC/proxy-server.conf" -v
    await memcached "$MC_PORT"
    await account-server "$ACCT_PORT"
    await container-server "$CONT_PORT"
    await object-server "$OBJ_PORT"
    await proxy-server "$PORT"
    local p i ok
    for p in "$ACCT_PORT" "$CONT_PORT" "$OBJ_PORT" "$PORT"; do
        ok=0
        for i in $(seq 1 50); do
            if "$VENV/bin/python" -c 'import sys, urllib.request as u; sys.exit(u.urlopen(sys.argv[1], timeout=2).read() != b"OK")' \
                "http://$IP:$p/healthcheck" 2>/dev/null; then ok=1; break; fi
            sleep 0.2
        done
        [ "$ok" = 1 ] || { stop; die "healthcheck on port $p failed"; }
    done
    say "up: http://$IP:$PORT/auth/v1.0 (test:tester/testing)"
}

stop() {
    local name pid i
    for name in proxy-server object-server container-server account-server memcached; do
        [ -f "$RUN/$name.pid" ] || continue
        if alive "$name"; then
            pid="$(cat "$RUN/$name.pid")"
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then
                kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            fi
            say "stopped $name ($pid)"
        fi
        rm -f "$RUN/$name.pid" "$RUN/$name.cmd"
    done
}

case "$cmd" in
    setup) setup ;;
    start) start ;;
    stop) stop ;;
    wipe)
        for name in "${SERVICES[@]}"; do alive "$name" && die "$name is running: stop first"; done
        rm -rf "${SRV:?}"
        mkdir -p "$SRV"/d1 "$SRV"/d2 "$SRV"/d3
        say "data wiped"
        ;;
    status)
        for name in "${SERVICES[@]}"; do
            if alive "$name"; then echo "$name running ($(cat "$RUN/$name.pid"))"; else echo "$name stopped"; fi
        done
        ;;
    pids)
        for name in "${SERVICES[@]}"; do
            if alive "$name"; then echo "$name $(cat "$RUN/$name.pid")"; fi
        done
        ;;
esac
