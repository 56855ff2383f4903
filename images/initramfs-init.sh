#!/bin/busybox sh
# /init of nestbox's initramfs: loads the few modules the root disk needs (the Debian kernel builds
# virtio, virtio-mmio, virtio-blk and ext4 as modules), mounts the root file system and hands over
# to its /sbin/init (busybox init, which runs /etc/nestbox/rc).
# With nestbox.probe=1 on the kernel command line it only proves the kernel and initramfs boot (the
# KVM probe, which has no disk): it prints the boot marker and powers off.
# busybox sh runs its applets without PATH lookups or dynamic loading: each process costs
# milliseconds under emulation.
export PATH=/bin

mount -t proc proc /proc
read -r cmdline </proc/cmdline
root=/dev/vda
fstype=ext4
mode=rw
probe=
for arg in $cmdline; do
  case "$arg" in
    root=/dev/*) root=${arg#root=} ;;
    rootfstype=*) fstype=${arg#rootfstype=} ;;
    ro) mode=ro ;;
    rw) mode=rw ;;
    nestbox.probe=1) probe=1 ;;
  esac
done

if [ -n "$probe" ]; then
  echo "nestbox: booted"
  poweroff -f
fi

fatal() {
  echo "nestbox: $*; powering off"
  poweroff -f
}

mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# One module file per line, dependencies first; a leading '?' marks one that may not fit this CPU
# (crc32c-intel needs SSE4.2: the generic crc32c stands in).
while read -r m; do
  case "$m" in
    \?*) insmod "/lib/modules/${m#\?}" 2>/dev/null ;;
    *) insmod "/lib/modules/$m" || echo "nestbox: initramfs: cannot load $m" ;;
  esac
done </lib/modules/load-order

# virtio-blk probes the disk while its module loads; allow a moment all the same
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do
  sleep 0.05
  i=$((i + 1))
done
[ -b "$root" ] || fatal "no root disk $root"
mkdir -p /newroot
mount -t "$fstype" -o "$mode" "$root" /newroot || fatal "cannot mount the root file system ($root, $fstype)"
[ -x /newroot/sbin/init ] || fatal "the root file system on $root has no /sbin/init"
# The mounts move along, so that the root file system's init need not mount them again.
for d in dev proc sys; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /sbin/init
