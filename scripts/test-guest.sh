#!/usr/bin/env bash
# Builds the tiny test guest of nova-core's QemuDriver tests from Debian
# packages (nothing binary is committed): a Debian kernel and a busybox
# initramfs whose /init prints boot markers on ttyS0, answers ACPI
# power-button (poweroff) events, runs udhcpc and prints a tick counter.
#
#   scripts/test-guest.sh [OUT_DIR]    (default $FERROSTACK_CACHE/guest)
#
# Writes OUT_DIR/vmlinuz, OUT_DIR/initramfs.gz and OUT_DIR/disk.qcow2 (a
# small empty qcow2 for disk-boot and volume tests); prints OUT_DIR.
# Cached: a second run with the same kernel package does nothing.
# Needs apt-get (download only: nothing is installed), dpkg-deb, cpio, gzip.
set -euo pipefail

for tool in apt-get apt-cache dpkg-deb cpio gzip; do
    command -v "$tool" >/dev/null 2>&1 || { echo "test-guest.sh: $tool is missing" >&2; exit 1; }
done

OUT="${1:-${FERROSTACK_CACHE:-$HOME/.cache/ferrostack}/guest}"
mkdir -p "$OUT/debs"
cd "$OUT/debs"

KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
[ -n "$KPKG" ] || { echo "test-guest.sh: no linux-image-amd64 in apt (run apt-get update)" >&2; exit 1; }
KVER="${KPKG#linux-image-}"
STAMP="$OUT/.built-$KVER-v2"
if [ -f "$STAMP" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.gz" ]; then
    echo "$OUT"
    exit 0
fi

ls "${KPKG}"_*.deb >/dev/null 2>&1 || apt-get download "$KPKG" >&2
ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static >&2

WORK="$(mktemp -d "$OUT/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
# Only the kernel image and the few modules the guest loads are extracted.
dpkg-deb --fsys-tarfile "$OUT/debs/${KPKG}"_*.deb \
    | tar -x -C "$WORK" --wildcards "./boot/vmlinuz-*" "./lib/modules/*/kernel/drivers/virtio/*" \
        "./lib/modules/*/kernel/drivers/net/*" "./lib/modules/*/kernel/net/core/*" \
        "./lib/modules/*/kernel/drivers/block/virtio_blk.ko" \
        "./lib/modules/*/kernel/drivers/acpi/button.ko" "./lib/modules/*/kernel/drivers/input/evdev.ko" 2>/dev/null \
    || dpkg -x "$OUT/debs/${KPKG}"_*.deb "$WORK"
dpkg -x "$OUT/debs/"busybox-static_*.deb "$WORK/bb"

R="$WORK/root"
mkdir -p "$R"/{bin,sbin,proc,sys,dev,etc/acpi/PWRF,tmp,lib/modules,usr/share/udhcpc}
cp "$WORK/bb/bin/busybox" "$R/bin/busybox"
M="$WORK/lib/modules/$KVER/kernel"
for m in drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko \
    drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko \
    drivers/virtio/virtio_pci.ko net/core/failover.ko drivers/net/net_failover.ko \
    drivers/net/virtio_net.ko drivers/block/virtio_blk.ko drivers/acpi/button.ko \
    drivers/input/evdev.ko; do
    [ -f "$M/$m" ] && cp "$M/$m" "$R/lib/modules/"
done

cat >"$R/usr/share/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via ${router%% *} dev "$interface"
    echo "FERROSTACK-GUEST-DHCP ip=$ip hostname=$hostname" ;;
esac
exit 0
SCRIPT
printf '#!/bin/sh\necho FERROSTACK-GUEST-POWERBUTTON\npoweroff -f\n' >"$R/etc/acpi/PWRF/00000080"
chmod +x "$R/usr/share/udhcpc/default.script" "$R/etc/acpi/PWRF/00000080"

cat >"$R/init" <<SCRIPT
#!/bin/busybox sh
/bin/busybox --install -s /bin
/bin/busybox --install -s /sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "FERROSTACK-GUEST-BOOTED"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net virtio_blk button evdev; do
  [ -f /lib/modules/\$m.ko ] && insmod /lib/modules/\$m.ko 2>/dev/null
done
acpid -c /etc/acpi -l /dev/null
# READY promises that ACPI power-down works: give acpid time to open the
# power button's input device.
sleep 1
echo "FERROSTACK-GUEST-READY"
if [ -e /sys/class/net/eth0 ]; then
  ip link set lo up; ip link set eth0 up
  (udhcpc -s /usr/share/udhcpc/default.script -i eth0 -n -q -t 5 -T 2 >/dev/null 2>&1 || echo "FERROSTACK-GUEST-NODHCP") &
fi
# Hot-plugged disks show up here (volume attach tests).
( while true; do echo "FERROSTACK-GUEST-DISKS: \$(ls /sys/block | tr '\n' ' ')"; sleep 2; done ) &
i=0; while true; do i=\$((i+1)); echo "FERROSTACK-GUEST-TICK \$i"; sleep 1; done
SCRIPT
chmod +x "$R/init"

(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$WORK/initramfs.gz")
cp "$WORK/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initramfs.gz" "$OUT/initramfs.gz"
if command -v qemu-img >/dev/null 2>&1; then
    rm -f "$OUT/disk.qcow2"
    qemu-img create -q -f qcow2 "$OUT/disk.qcow2" 64M
fi
rm -f "$OUT"/.built-*
touch "$STAMP"
echo "$OUT"
