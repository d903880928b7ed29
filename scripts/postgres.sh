# A private PostgreSQL cluster for the PostgreSQL backend tests. Sourced by
# scripts/test.sh (after scripts/lib.sh), not run.
#
#   start_test_postgres   installs PostgreSQL if missing, (re)uses a cluster
#                         under $FERROSTACK_CACHE/pg, starts it on 127.0.0.1,
#                         stops it when the script exits, and exports
#                         FERROSTACK_PG_URL and FERROSTACK_REQUIRE_SERVICES=1.
#
# Environment:
#   FERROSTACK_PG_URL    use this server instead (nothing is started)
#   FERROSTACK_PG_PORT   port of the private cluster (default 55432)

# The command of the EXIT trap set before ours, to run after ours.
_pg_prev_exit_trap() { [ -n "$1" ] && eval "set -- $1" && printf '%s' "$3"; }

# Runs a PostgreSQL tool as the cluster's owner: `postgres` when we are root
# (the server refuses to run as root), else ourselves.
_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_test_postgres() {
    if [ -n "${FERROSTACK_PG_URL:-}" ]; then
        log "postgres: using FERROSTACK_PG_URL from the environment"
        export FERROSTACK_REQUIRE_SERVICES=1
        return
    fi
    # shellcheck disable=SC2012
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt_install postgresql
    fi
    local bin port dir
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
    port="${FERROSTACK_PG_PORT:-55432}"
    dir="$FERROSTACK_CACHE/pg"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
        # The server runs as `postgres`, which may not reach a cache under /root.
        if ! runuser -u postgres -- test -w "$dir"; then
            dir="${TMPDIR:-/tmp}/ferrostack-pg-$(id -u)"
            log "postgres: $FERROSTACK_CACHE is out of reach of the postgres user; cluster in $dir"
            mkdir -p "$dir" && chown postgres:postgres "$dir" && chmod 700 "$dir"
        fi
    fi
    PG_TEST_DATA="$dir/data"
    PG_TEST_BIN="$bin"
    # A cluster left running by an interrupted run: stop it, then reuse it.
    if [ -f "$PG_TEST_DATA/postmaster.pid" ]; then
        _pg_as_owner "$bin/pg_ctl" -D "$PG_TEST_DATA" -m immediate -w stop >/dev/null 2>&1 || true
        rm -f "$PG_TEST_DATA/postmaster.pid"
    fi
    # Re-initialise a cluster of another major version or a half-made one.
    if [ ! -f "$PG_TEST_DATA/PG_VERSION" ] ||
        [ "$(cat "$PG_TEST_DATA/PG_VERSION")" != "$(basename "$(dirname "$bin")")" ]; then
        _pg_as_owner rm -rf "$PG_TEST_DATA"
        log "postgres: initdb $PG_TEST_DATA"
        _pg_as_owner "$bin/initdb" -D "$PG_TEST_DATA" -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
            die "initdb failed; see $dir/initdb.log"
    fi
    _pg_as_owner mkdir -p "$dir/sock" 2>/dev/null || true
    log "postgres: starting on 127.0.0.1:$port"
    _pg_as_owner "$bin/pg_ctl" -D "$PG_TEST_DATA" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=300" \
        start >/dev/null || die "postgres did not start; see $dir/server.log"
    PG_PREV_EXIT_TRAP="$(_pg_prev_exit_trap "$(trap -p EXIT)" || true)"
    trap 'stop_test_postgres; eval "$PG_PREV_EXIT_TRAP"' EXIT
    export FERROSTACK_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
    export FERROSTACK_REQUIRE_SERVICES=1
}

stop_test_postgres() {
    [ -n "${PG_TEST_DATA:-}" ] || return 0
    _pg_as_owner "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DATA" -m fast -w stop >/dev/null 2>&1 || true
    PG_TEST_DATA=""
}
