# A private RabbitMQ node for the AmqpBus tests (nova-core). Sourced by
# scripts/test.sh (after scripts/lib.sh), not run.
#
#   start_test_rabbitmq   installs rabbitmq-server if missing, starts a node of
#                         its own on 127.0.0.1 (state under $FERROSTACK_CACHE),
#                         waits until it serves, stops it when the script
#                         exits, and exports FERROSTACK_AMQP_URL and
#                         FERROSTACK_REQUIRE_SERVICES=1.
#
# Environment:
#   FERROSTACK_AMQP_URL   use this broker instead (nothing is started)
#   AMQP_PORT             AMQP port of the private node (default 55672);
#                         the Erlang distribution port is AMQP_PORT + 1
#   RMQ_EPMD_PORT         port of the node's private epmd (default 4371)
#
# The node never uses systemd or the machine's default node: its own node
# name, ports (AMQP, Erlang distribution, epmd) and directories.

# The command of the EXIT trap set before ours, to run after ours.
_rmq_prev_exit_trap() { [ -n "$1" ] && eval "set -- $1" && printf '%s' "$3"; }

# Runs a command as the `rabbitmq` user when we are root (the package's
# Erlang cookie and files belong to it), else as ourselves. Node and CLI
# must share HOME: the Erlang cookie is read from there (and Debian's
# rabbitmqctl switches to the rabbitmq user's home).
_rmq_as_owner() {
    if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
        runuser -u rabbitmq -- env HOME="$(getent passwd rabbitmq | cut -d: -f6)" "${RMQ_ENV[@]}" "$@"
    else
        env "${RMQ_ENV[@]}" "$@"
    fi
}

start_test_rabbitmq() {
    if [ -n "${FERROSTACK_AMQP_URL:-}" ]; then
        log "rabbitmq: using FERROSTACK_AMQP_URL from the environment"
        export FERROSTACK_REQUIRE_SERVICES=1
        return
    fi
    if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -d /usr/lib/rabbitmq ]; then
        apt_install rabbitmq-server
    fi
    local port dir t0 i
    port="${AMQP_PORT:-55672}"
    dir="$FERROSTACK_CACHE/rabbitmq"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
        chown rabbitmq:rabbitmq "$dir"
        # The node runs as `rabbitmq`, which may not reach a cache under /root.
        if ! runuser -u rabbitmq -- test -w "$dir"; then
            dir="${TMPDIR:-/tmp}/ferrostack-rabbitmq-$(id -u)"
            log "rabbitmq: $FERROSTACK_CACHE is out of reach of the rabbitmq user; node in $dir"
            mkdir -p "$dir" && chown rabbitmq:rabbitmq "$dir" && chmod 700 "$dir"
        fi
    fi
    RMQ_DIR="$dir"
    RMQ_NODE="ferrostack-test@localhost"
    RMQ_ENV=(
        RABBITMQ_NODENAME="$RMQ_NODE"
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
        RABBITMQ_NODE_PORT="$port"
        RABBITMQ_DIST_PORT="$((port + 1))"
        ERL_EPMD_ADDRESS=127.0.0.1
        ERL_EPMD_PORT="${RMQ_EPMD_PORT:-4371}"
        RABBITMQ_MNESIA_BASE="$dir/mnesia"
        RABBITMQ_LOG_BASE="$dir/log"
        RABBITMQ_PID_FILE="$dir/pid"
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    )
    _rmq_as_owner sh -c "echo '[].' > '$dir/enabled_plugins'; : > '$dir/rabbitmq.conf'"
    # A node left running by an interrupted run: stop it first.
    _rmq_as_owner rabbitmqctl -n "$RMQ_NODE" stop >/dev/null 2>&1 || true
    # Start empty: durable test queues of earlier runs would pile up.
    _rmq_as_owner rm -rf "$dir/mnesia"
    log "rabbitmq: starting $RMQ_NODE on 127.0.0.1:$port"
    t0=$(date +%s)
    _rmq_as_owner rabbitmq-server >"$dir/server.out" 2>&1 &
    RMQ_PID=$!
    RMQ_PREV_EXIT_TRAP="$(_rmq_prev_exit_trap "$(trap -p EXIT)")"
    trap 'stop_test_rabbitmq; eval "$RMQ_PREV_EXIT_TRAP"' EXIT
    for i in $(seq 1 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        kill -0 "$RMQ_PID" 2>/dev/null || die "rabbitmq exited; see $dir/server.out and $dir/log"
        sleep 0.1
    done
    [ "$i" -lt 600 ] || die "rabbitmq did not open port $port in 60 s; see $dir/server.out"
    _rmq_as_owner timeout 60 rabbitmqctl -n "$RMQ_NODE" await_startup >/dev/null 2>&1 ||
        die "rabbitmq did not finish starting; see $dir/log"
    log "rabbitmq: up after $(($(date +%s) - t0))s"
    export FERROSTACK_AMQP_URL="amqp://guest:guest@127.0.0.1:$port/%2f"
    export FERROSTACK_REQUIRE_SERVICES=1
}

stop_test_rabbitmq() {
    [ -n "${RMQ_PID:-}" ] || return 0
    _rmq_as_owner rabbitmqctl -n "$RMQ_NODE" stop >/dev/null 2>&1 || kill "$RMQ_PID" 2>/dev/null || true
    wait "$RMQ_PID" 2>/dev/null || true
    # The node started a private epmd on its own port: stop that one only.
    _rmq_as_owner epmd -kill >/dev/null 2>&1 || true
    RMQ_PID=""
}
