#!/bin/sh
# nestbox L1 guest init. Installed as /etc/nestbox/rc in the built-in image; busybox init (PID 1)
# runs it through /etc/inittab:
#   ::sysinit:/etc/nestbox/rc sysinit       mounts, power button, kvm modules (background), boot marker
#   ::once:/etc/nestbox/rc user-data        runs the instance's user data when it is a #! script
#   ::shutdown:/etc/nestbox/rc shutdown
# The ACPI power button (what QMP system_powerdown presses) powers the guest off; with ACPI, the
# kernel's power-off makes QEMU exit.
# Everything printed goes to the serial console (ttyS0), which is the instance's console output.
export PATH=/bin:/sbin
MODDIR=/lib/modules

log() { echo "nestbox: $*"; }

# Loads a module from $MODDIR (the image ships no modules.dep: dependencies are loaded first, in order).
load() {
  for m in "$@"; do
    grep -q "^${m//-/_} " /proc/modules 2>/dev/null && continue
    out=$(insmod "$MODDIR/$m.ko" 2>&1) || log "insmod $m: ${out:-failed}"
  done
}

cmdline_value() {
  for arg in $(cat /proc/cmdline); do
    case "$arg" in "$1="*) echo "${arg#*=}"; return ;; esac
  done
}

sysinit() {
  mkdir -p /proc /sys /dev /tmp /run
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev 2>/dev/null
  mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
  mount -t tmpfs tmpfs /tmp
  mount -t tmpfs tmpfs /run
  id=$(cmdline_value nestbox.instance)
  [ -n "$id" ] && hostname "$id"
  mem=$(awk '/^MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)
  ext=$(grep -o -w -m1 -E 'svm|vmx' /proc/cpuinfo | head -n1)
  vendor=$(awk -F': ' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo)
  log "L1 kernel $(uname -r), $(nproc) vCPU(s), $mem, CPU $vendor, virtualization extension: ${ext:-none}"
  # The ACPI power button (QMP system_powerdown) arrives as an input event. Its device is opened
  # before the boot marker, so that a press from then on is never lost.
  load button evdev
  watch_power_button
  # The KVM modules load in the background (about a second under emulation); user data waits for them.
  kvm_modules "$vendor" </dev/null &
  log "booted"
}

# The vendor's KVM module loads only when the CPU exposes its extension (the kernel says why not).
kvm_modules() {
  case "$1" in
    AuthenticAMD) load irqbypass ccp kvm kvm-amd ;;
    GenuineIntel) load irqbypass kvm kvm-intel ;;
  esac
  if [ -c /dev/kvm ]; then log "/dev/kvm is present (nested virtualization is available)"
  else log "no /dev/kvm (nested virtualization is not available)"; fi
  touch /run/kvm-modules.done
}

user_data() {
  f=/nestbox/user-data
  [ -s "$f" ] || return 0
  if [ "$(head -c 2 "$f")" != '#!' ]; then
    log "user data is not a script (it does not start with #!); not run"
    return 0
  fi
  cp "$f" /run/user-data && chmod 700 /run/user-data
  n=0
  while [ ! -e /run/kvm-modules.done ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
  log "running user data"
  (cd / && /run/user-data) </dev/null
  log "user data exited with status $?"
}

watch_power_button() {
  dev=
  for e in /sys/class/input/event*; do
    [ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ] && dev=/dev/input/${e##*/}
  done
  if [ -z "$dev" ]; then
    log "no ACPI power button: a stop will be a power cut"
    return 0
  fi
  exec 3<"$dev"
  # One input_event is 24 bytes on x86_64: any event from the power button means power down.
  (dd of=/dev/null bs=24 count=1 2>/dev/null <&3 && log "power button pressed" && poweroff) </dev/null &
  exec 3<&-
}

case "$1" in
  sysinit) sysinit ;;
  user-data) user_data ;;
  shutdown) log "power down" ;;
  *) echo "usage: $0 sysinit|user-data|shutdown" >&2; exit 2 ;;
esac
