#!/bin/busybox sh
# /init of the L2 guest that l2-linux boots: its whole job is to say it ran, then power off
# (QEMU exits with it). Lives in /usr/share/nestbox/l2/initramfs.cpio with busybox-static.
export PATH=/bin
mount -t proc proc /proc
read -r release </proc/sys/kernel/osrelease
read -r _ mem _ </proc/meminfo
echo "L2 LINUX OK: Linux $release, $(nproc) vCPU(s), $((mem / 1024)) MiB, running as an L2 guest under the L1 guest's KVM"
poweroff -f
