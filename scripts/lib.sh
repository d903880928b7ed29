# Helpers for scripts/test.sh. Sourced, not run.

T0="$(date +%s)"
PHASE_T="$T0"
PHASE_NAME=""

log() { echo "[test.sh] $*" >&2; }
die() { echo "[test.sh] FAILED: $*" >&2; exit 1; }

# phase NAME: closes the previous phase (with its time) and opens the next.
phase() {
    local now; now="$(date +%s)"
    if [ -n "$PHASE_NAME" ]; then
        log "done: $PHASE_NAME ($(( now - PHASE_T ))s)"
    fi
    PHASE_NAME="$1"
    PHASE_T="$now"
    echo >&2
    log "==> $1  (t+$(( now - T0 ))s)"
}

APT_UPDATED=0
# apt_install PKG...: installs the Debian packages, running apt-get update
# once, only when something is missing.
apt_install() {
    [ $# -gt 0 ] || return 0
    command -v apt-get >/dev/null 2>&1 || die "need $* but apt-get is not available"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        $sudo apt-get update -q >/dev/null
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

pkg_missing() { ! dpkg -s "$1" >/dev/null 2>&1; }

# ensure_tools: cargo (required), python3 with venv, the rustfmt/clippy
# components.
ensure_tools() {
    command -v cargo >/dev/null 2>&1 || die "cargo is required (Rust toolchain)"
    local need=()
    if ! command -v python3 >/dev/null 2>&1; then
        need+=(python3 python3-venv)
    elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        pkg_missing python3-venv && need+=(python3-venv)
    fi
    command -v bash >/dev/null 2>&1 || need+=(bash)
    apt_install "${need[@]}"
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || die "cargo fmt/clippy missing and no rustup"
        log "rustup component add rustfmt clippy"
        rustup component add rustfmt clippy
    fi
    log "$(cargo --version); $(python3 --version)"
}

# ensure_venv DIR REQUIREMENTS: creates the venv once and installs the
# requirements when they changed; prints DIR.
ensure_venv() {
    local dir="$1" req="$2" stamp want
    stamp="$dir/.requirements.sha256"
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    if [ ! -x "$dir/bin/python" ]; then
        log "creating venv $dir"
        python3 -m venv "$dir" >&2
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        log "pip install -r $req"
        "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
        echo "$want" > "$stamp"
    else
        log "venv up to date"
    fi
    "$dir/bin/python" -c 'import swiftclient, pytest' >&2 || die "venv $dir is broken; delete it"
    echo "$dir"
}
