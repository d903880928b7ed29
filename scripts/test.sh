#!/usr/bin/env bash
# The whole test suite of ferrostack. Idempotent; installs what it needs.
#
#   scripts/test.sh            everything (what CI runs)
#   SKIP_PYTHON=1 scripts/test.sh      only the Rust checks
#   PYTEST_ARGS="-k bad_input" scripts/test.sh   pass options to pytest
#
# Environment:
#   FERROSTACK_CACHE   cache dir (default ~/.cache/ferrostack): venv, target dir
#   CARGO_TARGET_DIR   cargo's target dir (default $FERROSTACK_CACHE/target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

export FERROSTACK_CACHE="${FERROSTACK_CACHE:-$HOME/.cache/ferrostack}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERROSTACK_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
LOG_DIR="$FERROSTACK_CACHE/logs"
mkdir -p "$FERROSTACK_CACHE" "$LOG_DIR"
log "target dir: $CARGO_TARGET_DIR; logs: $LOG_DIR"

phase "tools"
ensure_tools

# --- nova-core (issue 6): qemu-img backs FileVolumes; its conformance tests
# fail instead of skipping when FERROSTACK_REQUIRE_SERVICES=1 ---
if ! command -v qemu-img >/dev/null 2>&1; then
    apt_install qemu-utils
fi
# --- end nova-core ---

phase "cargo fmt --check"
cargo fmt --all --check

phase "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

phase "dependency boundary (core crates have no server stack)"
# No server framework, CLI parser, log subscriber or config-file loader
# anywhere in a core's tree (reqwest is pinned below the releases that pull
# in tower-http).
for core in */Cargo.toml; do
    core="$(dirname "$core")"
    case "$core" in *-core) ;; *) continue ;; esac
    if cargo tree -p "$core" -e normal | grep -E ' (axum|tower-http|clap|tracing-subscriber|toml) '; then
        die "$core pulls in a server-stack crate (see above)"
    fi
done
log "ok"

phase "cargo build (debug binaries)"
cargo build --workspace --bins

# --- python venv and moto S3 (glance-core's S3 store tests) -----------------
# The venv is made once, here, for moto and later for pytest. moto serves S3
# on loopback for the S3ImageStore tests, which read FERROSTACK_S3_ENDPOINT;
# FERROSTACK_REQUIRE_SERVICES=1 makes them fail instead of skipping.
VENV=""
if [ "${SKIP_PYTHON:-0}" != 1 ]; then
    phase "python venv (python-swiftclient, pytest, moto)"
    VENV="$(ensure_venv "$FERROSTACK_CACHE/venv" "$ROOT/tests/integration/requirements.txt")"

    phase "moto S3 server"
    MOTO_PORT="${MOTO_PORT:-5055}"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOG_DIR/moto.log" 2>&1 &
    MOTO_PID=$!
    stop_moto() { kill "$MOTO_PID" 2>/dev/null || true; }
    trap stop_moto EXIT
    moto_up=0
    for _ in $(seq 1 150); do
        if "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
            "http://127.0.0.1:$MOTO_PORT/" 2>/dev/null; then
            moto_up=1
            break
        fi
        kill -0 "$MOTO_PID" 2>/dev/null || break
        sleep 0.2
    done
    [ "$moto_up" = 1 ] || die "moto_server did not start on port $MOTO_PORT; see $LOG_DIR/moto.log"
    export FERROSTACK_S3_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
    export FERROSTACK_REQUIRE_SERVICES=1
    log "moto S3 at $FERROSTACK_S3_ENDPOINT"
fi
# --- end python venv and moto S3 ---------------------------------------------

# --- PostgreSQL for the PostgreSQL backend tests (identity, glance, nova) --
# A private cluster on 127.0.0.1:55432, stopped on exit; exports
# FERROSTACK_PG_URL and FERROSTACK_REQUIRE_SERVICES=1. See scripts/postgres.sh.
phase "postgresql (private cluster)"
# shellcheck source=scripts/postgres.sh
source "$ROOT/scripts/postgres.sh"
start_test_postgres
# --- end PostgreSQL ----------------------------------------------------------

# --- memcached for swift-core's MemcachedCache tests --------------------------
# A private memcached on 127.0.0.1:${MEMCACHED_PORT:-11299}, killed on exit
# (after which the EXIT trap set before ours runs); exports
# FERROSTACK_MEMCACHED. FERROSTACK_MEMCACHED from the environment is used as is.
phase "memcached"
if [ -z "${FERROSTACK_MEMCACHED:-}" ]; then
    if ! command -v memcached >/dev/null 2>&1; then
        apt_install memcached
    fi
    MEMCACHED_PORT="${MEMCACHED_PORT:-11299}"
    mc_user=root
    if id memcache >/dev/null 2>&1; then mc_user=memcache; fi
    memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -u "$mc_user" \
        >"$LOG_DIR/memcached.log" 2>&1 &
    MEMCACHED_PID=$!
    stop_memcached() { kill "$MEMCACHED_PID" 2>/dev/null || true; }
    # Same composition as scripts/postgres.sh: ours first, then the earlier trap.
    MC_PREV_EXIT_TRAP="$(_pg_prev_exit_trap "$(trap -p EXIT)" || true)"
    trap 'stop_memcached; eval "$MC_PREV_EXIT_TRAP"' EXIT
    mc_up=0
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$MEMCACHED_PORT") 2>/dev/null; then
            mc_up=1
            break
        fi
        kill -0 "$MEMCACHED_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ "$mc_up" = 1 ] || die "memcached did not start on port $MEMCACHED_PORT; see $LOG_DIR/memcached.log"
    export FERROSTACK_MEMCACHED="127.0.0.1:$MEMCACHED_PORT"
fi
export FERROSTACK_REQUIRE_SERVICES=1
log "memcached at $FERROSTACK_MEMCACHED"
# --- end memcached -------------------------------------------------------------

# --- RabbitMQ for the AmqpBus tests (nova-core) ------------------------------
# A private node on 127.0.0.1:55672, stopped on exit; exports
# FERROSTACK_AMQP_URL and FERROSTACK_REQUIRE_SERVICES=1. See scripts/rabbitmq.sh.
phase "rabbitmq (private node)"
# shellcheck source=scripts/rabbitmq.sh
source "$ROOT/scripts/rabbitmq.sh"
start_test_rabbitmq
# --- end RabbitMQ ------------------------------------------------------------

# --- QEMU and the test guest (nova-core QemuDriver, issue 7) -----------------
# qemu-system-x86 from bookworm-backports (scripts/qemu.sh) and the busybox
# test guest built from Debian's kernel and busybox-static packages
# (scripts/test-guest.sh, cached in $FERROSTACK_CACHE/guest); exports
# FERROSTACK_GUEST_DIR. With FERROSTACK_REQUIRE_SERVICES=1 the QemuDriver
# tests fail instead of skipping when the guest is missing.
phase "qemu and the test guest"
# shellcheck source=scripts/qemu.sh
source "$ROOT/scripts/qemu.sh"
ensure_qemu
command -v cpio >/dev/null 2>&1 || apt_install cpio
if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
    log "apt-get update (package lists for the guest kernel)"
    $([ "$(id -u)" = 0 ] || echo sudo) apt-get update -q >/dev/null
fi
FERROSTACK_GUEST_DIR="$("$ROOT/scripts/test-guest.sh" "$FERROSTACK_CACHE/guest")"
export FERROSTACK_GUEST_DIR
export FERROSTACK_REQUIRE_SERVICES=1
log "test guest in $FERROSTACK_GUEST_DIR; $(qemu-system-x86_64 --version | head -n1)"
# --- end QEMU and the test guest ---------------------------------------------

phase "unit, property and handler tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace 2>&1 | tee "$LOG_DIR/nextest.log"
    NEXTEST_SUMMARY="$(grep -E '^ +Summary' "$LOG_DIR/nextest.log" | tail -n1 || true)"
else
    log "cargo-nextest missing: using cargo test"
    cargo test --workspace 2>&1 | tee "$LOG_DIR/nextest.log"
    NEXTEST_SUMMARY="$(grep -E '^test result:' "$LOG_DIR/nextest.log" | tail -n1 || true)"
fi

phase "examples (embedding the cores)"
for ex in examples/examples/*.rs; do
    name="$(basename "$ex" .rs)"
    cargo run -q -p ferrostack-examples --example "$name"
done

phase "cargo bench --no-run"
# Only the crates that have criterion benches (a `benches/` directory next to
# their Cargo.toml): the other crates are not needed in the bench profile,
# and compiling the whole workspace in release would double the build time.
# The load generators (benches/src/bin) were built with the debug binaries.
bench_args=()
for manifest in */Cargo.toml */*/Cargo.toml; do
    crate_dir="$(dirname "$manifest")"
    [ -d "$crate_dir/benches" ] || continue
    bench_args+=(-p "$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -1)")
done
[ "${#bench_args[@]}" -gt 0 ] || die "no crate with criterion benches found"
log "bench crates: ${bench_args[*]}"
# CI only checks that the benches compile and link, so this build of the
# bench profile is unoptimised (minutes saved on 2 cores); `cargo bench`
# itself still optimises as usual.
CARGO_PROFILE_BENCH_OPT_LEVEL=0 CARGO_PROFILE_BENCH_DEBUG=false \
    cargo bench --no-run "${bench_args[@]}"

PYTEST_SUMMARY="(skipped)"
if [ "${SKIP_PYTHON:-0}" != 1 ]; then
    phase "integration tests (real swift CLI and swiftclient against our servers)"
    export FERROSTACK_BIN_DIR="$CARGO_TARGET_DIR/debug"
    set +e
    # shellcheck disable=SC2086
    timeout --signal=TERM "${PYTEST_TIMEOUT:-1800}" \
        "$VENV/bin/python" -m pytest "$ROOT/tests/integration" -ra -p no:cacheprovider \
        --junitxml="$LOG_DIR/pytest.xml" ${PYTEST_ARGS:-} 2>&1 | tee "$LOG_DIR/pytest.log"
    rc=${PIPESTATUS[0]}
    set -e
    PYTEST_SUMMARY="$(grep -E '^=+ .*[0-9]+ (passed|failed|errors?|skipped).* in [0-9.]+s' "$LOG_DIR/pytest.log" | tail -n1 || true)"
    if [ "$rc" = 5 ]; then
        die "pytest collected no tests"
    elif [ "$rc" != 0 ]; then
        log "nextest: $NEXTEST_SUMMARY"
        die "integration tests failed (rc=$rc): $PYTEST_SUMMARY"
    fi
fi

# --- Swift's own functional test suite (issue 3) ------------------------------
# Swift 2.38.3's test/functional (without s3api/) against `ferrostack up
# --config deploy/swift-functests.toml`; fails when fewer than
# FUNCTESTS_MIN_PASS tests pass (a little below the 268 reached so far, for flaky tests: raise it as the
# proxy passes more; the goal is the reference's 847). The suite and its
# venv live in $FERROSTACK_CACHE/swift-functests. See docs/swift-functests.md.
FUNCTESTS_SUMMARY="(skipped)"
if [ "${SKIP_PYTHON:-0}" != 1 ] && [ "${SKIP_SWIFT_FUNCTESTS:-0}" != 1 ]; then
    phase "swift functional test suite (swift 2.38.3 test/functional)"
    if FUNCTESTS_MIN_PASS="${FUNCTESTS_MIN_PASS:-260}" FUNCTESTS_OUT="$LOG_DIR/swift-functests" \
        "$ROOT/scripts/swift-functests.sh"; then
        FUNCTESTS_SUMMARY="$(tail -n 1 "$LOG_DIR/swift-functests/summary.txt")"
    else
        die "swift functional tests: fewer passes than FUNCTESTS_MIN_PASS (see $LOG_DIR/swift-functests/summary.txt)"
    fi
fi
# --- end Swift functional test suite -------------------------------------------

# --- swift-compare smoke (issue 9): ours vs reference Swift, tiny counts ----
# Uses the debug binaries built above (a release build just for this would
# double the build time); the reference Swift is pip-installed once into
# $FERROSTACK_CACHE/swift-ref/venv by benches/compare/swift-ref.sh. The
# figures of a smoke run mean nothing: it checks that the driver, both
# systems and their clean shutdown work. Exits non-zero if any step failed.
if [ "${SKIP_PYTHON:-0}" != 1 ]; then
    phase "swift-compare --smoke (reference Swift side by side)"
    if ! command -v memcached >/dev/null 2>&1; then
        apt_install memcached
    fi
    bash "$ROOT/benches/compare/swift-ref.sh" setup
    set +e
    timeout --signal=INT 300 "$CARGO_TARGET_DIR/debug/swift-compare" --smoke \
        --work-dir "$FERROSTACK_CACHE/swift-compare" 2>&1 | tee "$LOG_DIR/swift-compare.log"
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" = 0 ] || die "swift-compare --smoke failed (rc=$rc); see $LOG_DIR/swift-compare.log"
fi
# --- end swift-compare smoke -------------------------------------------------

phase "summary"
echo "nextest: $NEXTEST_SUMMARY"
echo "pytest:  $PYTEST_SUMMARY"
echo "swift functests: $FUNCTESTS_SUMMARY"
count() { echo "$1" | grep -oE "[0-9]+ $2" | head -n1 | grep -oE '[0-9]+' || echo 0; }
passed=$(( $(count "$NEXTEST_SUMMARY" passed) + $(count "$PYTEST_SUMMARY" passed) ))
skipped=$(( $(count "$NEXTEST_SUMMARY" skipped) + $(count "$PYTEST_SUMMARY" skipped) ))
echo "total: $passed passed, 0 failed, $skipped skipped"
log "all green in $(( $(date +%s) - T0 ))s"
