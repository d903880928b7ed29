# QEMU for nova-core's QemuDriver tests. Sourced by scripts/test.sh (needs
# lib.sh's apt_install and log). Not run directly.
#
# The base image ships qemu-utils from bookworm-backports, which Breaks
# bookworm's qemu-system-common, so qemu-system-x86 comes from backports too.

# ensure_qemu: installs qemu-system-x86 + qemu-block-extra from
# bookworm-backports when qemu-system-x86_64 is missing.
ensure_qemu() {
    if command -v qemu-system-x86_64 >/dev/null 2>&1; then
        return 0
    fi
    local sudo="" src=/etc/apt/sources.list.d/ferrostack-backports.sources mirror
    [ "$(id -u)" = 0 ] || sudo="sudo"
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
        mirror="${mirror:-http://deb.debian.org/debian}"
        log "adding bookworm-backports ($mirror) in $src"
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$mirror" | $sudo tee "$src" >/dev/null
        APT_UPDATED=0
    fi
    apt_install -t bookworm-backports qemu-system-x86 qemu-block-extra
}
