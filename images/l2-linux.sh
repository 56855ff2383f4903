#!/bin/sh
# l2-linux: boots an L2 Linux guest through this (L1) instance's /dev/kvm and streams its serial
# console. The L2 guest is the image's own kernel (uncompressed, booted through PVH on QEMU's microvm)
# with a tiny busybox initramfs whose init prints "L2 LINUX OK" and powers off.
# Exit status 0 when the L2 guest said so; otherwise 1, after a line "L2 LINUX FAIL: <reason>".
# It needs nested virtualization: the instance's CPU must have AMD SVM or Intel VT-x.
# Installed as /usr/local/bin/l2-linux in nestbox's image. Environment: L2_MEMORY_MIB (default 128),
# L2_TIMEOUT seconds (default 180), L2_APPEND (more kernel parameters for the L2 guest).
L2=/usr/share/nestbox/l2

fail() {
  echo "L2 LINUX FAIL: $*"
  exit 1
}

grep -q -w -E 'svm|vmx' /proc/cpuinfo ||
  fail "this CPU has no VT-x/SVM: nested virtualization is disabled for this instance"
# At boot the kvm modules load in the background (/etc/nestbox/rc): give them a moment.
i=0
while [ ! -c /dev/kvm ] && [ ! -e /run/nestbox/kvm-modules.done ] && [ $i -lt 300 ]; do
  sleep 0.1
  i=$((i + 1))
done
[ -c /dev/kvm ] || fail "no /dev/kvm although the CPU has VT-x/SVM (the kvm module did not load: see dmesg)"
{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || fail "no permission to use /dev/kvm (run it with sudo, or as a member of group kvm)"
[ -r $L2/vmlinux ] && [ -r $L2/initramfs.cpio ] || fail "the L2 kernel or initramfs is missing from $L2"

log=$(mktemp) || fail "cannot create a temporary file"
trap 'rm -f "$log"' EXIT
start=$(date +%s%N)
# Measured under emulation (an L1 guest on TCG), each for seconds:
#   - the uncompressed kernel: no decompression;
#   - rtc=on: without an RTC (microvm's default under KVM) the kernel's rtc_cmos probe takes seconds;
#   - loglevel=6: every byte on the L2's serial port is a trip through both hypervisors, so the
#     kernel's informational messages are left out; "Linux version" (a notice) and warnings still show.
# noxsave avoids an XSAVE warning in the L2 kernel.
timeout "${L2_TIMEOUT:-180}" qemu-system-x86_64 \
  -M microvm,acpi=on,rtc=on -accel kvm -cpu host -m "${L2_MEMORY_MIB:-128}" -smp 1 \
  -nodefaults -no-user-config -display none -serial stdio -no-reboot \
  -kernel $L2/vmlinux -initrd $L2/initramfs.cpio \
  -append "console=ttyS0 loglevel=6 noxsave panic=-1 reboot=t mitigations=off nokaslr ${L2_APPEND:-}" \
  </dev/null 2>&1 | tee "$log"
ms=$((($(date +%s%N) - start) / 1000000))
if grep -q 'L2 LINUX OK' "$log"; then
  echo "l2-linux: the L2 guest booted, ran and powered off in $((ms / 1000)).$((ms % 1000 / 100)) s"
  exit 0
fi
fail "the L2 guest did not report L2 LINUX OK within $((ms / 1000)) s (its console is above)"
