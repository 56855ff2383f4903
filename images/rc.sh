#!/bin/busybox sh
# nestbox's L1 guest init. Installed as /etc/nestbox/rc; busybox init (PID 1) runs it through
# /etc/inittab:
#   ::sysinit:/etc/nestbox/rc sysinit     mounts, network, metadata, SSH, the boot marker; then the KVM
#                                         modules load in the background
#   ::once:/etc/nestbox/rc user-data      the instance's user data, at its first boot
#   ::shutdown:/etc/nestbox/rc shutdown   stops everything, leaves the root file system clean
# The host's driver marks the instance running when the console shows "nestbox: booted", so that
# line comes last, once sshd listens: SSH works as soon as the instance is running.
#
# The instance learns who it is from the instance metadata service (IMDS, IMDSv2), which nestbox
# serves at nestbox.imds (kernel command line) port 80; an nftables DNAT makes the usual
# http://169.254.169.254/ reach it, for this guest and for guests it routes.
# The cloud-init image (/etc/nestbox/variant) runs cloud-init's stages instead of the IMDS steps.
#
# Written for busybox sh, whose applets run without a PATH lookup or the dynamic loader: under
# emulation (TCG) every process costs milliseconds, so shell builtins are used where they can be.
# Everything printed goes to the serial console, the instance's console output.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN=/run/nestbox
STATE=/var/lib/nestbox
# kmod's modprobe (busybox's own would be picked first by name): module dependencies and soft dependencies
MODPROBE=/usr/sbin/modprobe
IMDS_ADDRESS=169.254.169.254

# nestbox.debug=1 on the kernel command line: log lines carry the uptime (where does boot time go?)
DEBUG=
log() {
  if [ -n "$DEBUG" ]; then
    read -r up _ </proc/uptime
    echo "nestbox: [$up] $*"
  else
    echo "nestbox: $*"
  fi
}
trace() { [ -z "$DEBUG" ] || log "$@"; }

# nestbox.instance, nestbox.imds and nestbox.vpc from the kernel command line
INSTANCE=
IMDS=
VPC=
read_cmdline() {
  read -r cmdline </proc/cmdline
  for arg in $cmdline; do
    case "$arg" in
      nestbox.instance=*) INSTANCE=${arg#*=} ;;
      nestbox.imds=*) IMDS=${arg#*=} ;;
      nestbox.vpc=*) VPC=${arg#*=} ;;
      nestbox.debug=1) DEBUG=1 ;;
    esac
  done
  IMDS=${IMDS:-$IMDS_ADDRESS}
}

VARIANT=base
[ -r /etc/nestbox/variant ] && read -r VARIANT </etc/nestbox/variant

uptime_s() {
  read -r up _ </proc/uptime
  echo "${up%.*}"
}

# EBS data volumes are virtio disks whose serial is the volume ID without its hyphen; there is no udev
# (nor hotplug: disks come at boot), so their /dev/disk/by-id/virtio-<serial> links are made here.
# (sysfs's serial has no newline: `read` sets the variable and answers 1.)
disk_links() {
  for dev in /sys/block/vd*; do
    [ -r "$dev/serial" ] || continue
    serial=
    read -r serial <"$dev/serial" || true
    [ -n "$serial" ] || continue
    mkdir -p /dev/disk/by-id
    ln -sf "../../${dev##*/}" "/dev/disk/by-id/virtio-$serial"
  done
}

sysinit() {
  # The initramfs moved /dev, /proc and /sys here; they are mounted all the same when it did not.
  [ -e /proc/self ] || mount -t proc proc /proc
  [ -d /sys/kernel ] || mount -t sysfs sysfs /sys
  [ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
  mkdir -p /dev/pts /dev/shm
  mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
  mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
  mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs /run
  mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp
  while read -r _ mnt _ opts _; do
    [ "$mnt" = / ] && case "$opts" in ro,* | ro) mount -o remount,rw / ;; esac
  done </proc/mounts
  mkdir -p $RUN /run/lock /run/sshd $STATE
  chmod 1777 /run/lock
  read_cmdline
  disk_links
  trace "sysinit: mounted"
  [ -n "$INSTANCE" ] && echo "$INSTANCE" >/proc/sys/kernel/hostname
  # busybox syslogd (sshd, sudo and cloud-init log through /dev/log) into a 512 KiB ring buffer in
  # memory, read with logread: bounded, and no disk writes (this busybox cannot rotate a file)
  syslogd -C512

  read -r release </proc/sys/kernel/osrelease
  read -r _ memkb _ </proc/meminfo
  cpus=0 vendor= ext=
  while read -r key rest; do
    case "$key" in
      processor) cpus=$((cpus + 1)) ;;
      vendor_id) vendor=${rest#: } ;;
      flags) [ -z "$ext" ] && case " $rest " in *" svm "*) ext=svm ;; *" vmx "*) ext=vmx ;; esac ;;
    esac
  done </proc/cpuinfo
  log "L1 kernel $release, $cpus vCPU(s), $((memkb / 1024)) MiB, CPU $vendor, virtualization extension: ${ext:-none}"

  ec2_identity
  ip link set lo up
  # virtio_net gives eth0; button and evdev the ACPI power button.
  $MODPROBE -a virtio_net button evdev
  watch_power_button
  imds_dnat &
  dnat=$!
  grow_root_fs &

  read -r known_instance 2>/dev/null <$STATE/instance-id
  first_boot=
  [ "$known_instance" != "${INSTANCE:-unknown}" ] && first_boot=1 && : >$RUN/first-boot

  trace "modules loaded, background jobs started"
  # -q: the lease (a day on QEMU's user network) is kept when udhcpc exits; nothing renews it.
  udhcpc -i eth0 -f -q -n -t 10 -T 1 -s /etc/nestbox/udhcpc || log "no DHCP lease on eth0"
  private_network
  trace "DHCP done"

  if [ "$VARIANT" = cloud-init ]; then
    # cloud-init reaches the metadata service at 169.254.169.254: the DNAT must be in place.
    wait $dnat
    cloud-init init
    cloud-init modules --mode=config
    # cloud-init's ssh module makes the host keys; should it have failed, sshd still gets some
    [ -e /etc/ssh/ssh_host_ed25519_key ] || host_keys
  else
    [ -n "$first_boot" ] && host_keys &
    keys=$!
    configure_from_imds
    trace "metadata done"
    wait $keys
    trace "host keys done"
    print_host_keys
  fi
  start_sshd
  trace "sshd listens"
  wait $dnat
  [ -n "$first_boot" ] && echo "${INSTANCE:-unknown}" >$STATE/instance-id
  trace "boot marker next"
  # exactly this line, whatever log() looks like: the driver waits for it
  echo "nestbox: booted"
  # The KVM modules load now, in the background: under emulation loading kvm_amd stalls every vCPU
  # for seconds (measured: the boot marker 3-5 s later with 2 vCPUs when they load during boot).
  # User data and l2-linux wait for them; the lower priority keeps a first SSH login responsive.
  nice -n 10 "$0" kvm-modules "$vendor" "$ext" </dev/null &
}

# AWS documents how software tells it runs on EC2: /sys/hypervisor/uuid beginning with "ec2" (Xen
# instances) or a DMI product UUID that does (Nitro). cloud-init checks the same, and only then speaks
# IMDSv2. QEMU's microvm has no DMI tables, hence the former: a tmpfs over the empty /sys/hypervisor,
# with a UUID made from the instance ID.
ec2_identity() {
  [ -d /sys/hypervisor ] || return 0
  hex=${INSTANCE#i-}000000000000000000000000000000
  mount -t tmpfs -o size=4k,mode=755 ec2 /sys/hypervisor &&
    echo "ec2${hex:0:5}-${hex:5:4}-${hex:9:4}-${hex:13:4}-${hex:17:12}" >/sys/hypervisor/uuid
}

# The vendor's KVM module loads only when the CPU exposes its extension.
kvm_modules() {
  if [ -n "$2" ]; then
    case "$1" in
      AuthenticAMD) $MODPROBE kvm_amd ;;
      GenuineIntel) $MODPROBE kvm_intel ;;
    esac
  fi
  if [ -c /dev/kvm ]; then
    # what udev's rule would do: group kvm may use it
    chgrp kvm /dev/kvm && chmod 660 /dev/kvm
    log "/dev/kvm is present (nested virtualization is available)"
  else
    log "no /dev/kvm (nested virtualization is not available: the CPU has no VT-x/SVM)"
  fi
  : >$RUN/kvm-modules.done
}

imds_dnat() {
  [ "$IMDS" = "$IMDS_ADDRESS" ] && return 0
  $MODPROBE -a nft_chain_nat nft_nat
  nft -f - <<EOF || log "nftables: cannot redirect $IMDS_ADDRESS to the metadata service at $IMDS"
table ip nestbox {
	# priority -100 is "dstnat", a name nft accepts for prerouting only
	chain output {
		type nat hook output priority -100;
		ip daddr $IMDS_ADDRESS tcp dport 80 dnat to $IMDS:80
	}
	chain prerouting {
		type nat hook prerouting priority -100;
		ip daddr $IMDS_ADDRESS tcp dport 80 dnat to $IMDS:80
	}
}
EOF
}

# nestbox.vpc=<VPC CIDR>: eth1 is on the VPC's bridge on the host (the qemu driver's private network,
# src/compute/qemu/vpc-network.ts). The private address (eth0's lease) goes on it too, and the subnet
# and the VPC are routed there; eth0 (QEMU's user network) keeps the subnet's router, DNS and metadata
# addresses (base + 1, 2, 3), so the metadata service and the public address's forwards are unchanged.
private_network() {
  [ -n "$VPC" ] && [ -e /sys/class/net/eth1 ] || return 0
  # "2: eth0    inet 172.31.0.5/20 brd …"
  set -- $(ip -o -4 addr show dev eth0)
  [ "$3" = inet ] || { log "private network: eth0 has no address"; return 0; }
  cidr=$4
  eval "$(ipcalc -n -p "$cidr")"
  base=${NETWORK%.*}
  last=${NETWORK##*.}
  ip link set eth1 up
  ip -4 addr replace "${cidr%/*}/32" dev eth1
  for n in 1 2 3; do ip -4 route replace "$base.$((last + n))/32" dev eth0; done
  ip -4 route replace "$NETWORK/$PREFIX" dev eth1 src "${cidr%/*}"
  ip -4 route replace "$VPC" dev eth1 src "${cidr%/*}"
  log "private network: ${cidr%/*} on eth1 (VPC $VPC)"
}

# The root volume may be bigger than the image's file system (8 GiB): grow it, online. The disk's size
# at the last check is kept, so that an unchanged disk costs no process at all.
grow_root_fs() {
  read -r sectors 2>/dev/null </sys/block/vda/size || return 0
  read -r known 2>/dev/null <$STATE/disk-sectors
  [ "$sectors" = "$known" ] && return 0
  if out=$(resize2fs /dev/vda 2>&1); then
    echo "$sectors" >$STATE/disk-sectors
    log "root file system resized to the disk ($((sectors / 2097152)) GiB)"
  else
    log "resize2fs /dev/vda failed: $out"
  fi
}

host_keys() {
  rm -f /etc/ssh/ssh_host_*
  for t in ed25519 ecdsa; do
    ssh-keygen -q -t $t -N '' -C "root@$INSTANCE" -f /etc/ssh/ssh_host_${t}_key
  done
  for t in ed25519 ecdsa; do ssh-keygen -l -f /etc/ssh/ssh_host_${t}_key.pub; done >$STATE/host-key-fingerprints
}

# As cloud-init prints them, for the console output (EC2's GetConsoleOutput shows them the same way).
print_host_keys() {
  echo "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
  [ -r $STATE/host-key-fingerprints ] && while read -r line; do echo "$line"; done <$STATE/host-key-fingerprints
  echo "-----END SSH HOST KEY FINGERPRINTS-----"
  echo "-----BEGIN SSH HOST KEY KEYS-----"
  for t in ecdsa ed25519; do read -r line 2>/dev/null </etc/ssh/ssh_host_${t}_key.pub && echo "$line"; done
  echo "-----END SSH HOST KEY KEYS-----"
}

# IMDSv2: a session token (PUT, hence curl), then the items this boot needs with busybox wget, which
# starts in a fraction of curl's time under emulation. An item the service does not have (404) leaves
# no file.
configure_from_imds() {
  url=http://$IMDS/latest
  deadline=$(($(uptime_s) + 10))
  token=
  while :; do
    token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' --connect-timeout 1 -m 2 "$url/api/token") && [ -n "$token" ] && break
    if [ "$(uptime_s)" -ge $deadline ]; then
      log "the instance metadata service at $IMDS does not answer: no hostname, SSH key or user data from it"
      break
    fi
    sleep 0.3
  done
  d=$RUN/imds
  rm -rf $d && mkdir -m 700 -p $d
  if [ -n "$token" ]; then
    imds_get meta-data/local-hostname $d/local-hostname
    if [ -n "$first_boot" ]; then
      imds_get meta-data/public-keys/0/openssh-key $d/openssh-key
      imds_get user-data $d/user-data
    fi
  fi

  # (IMDS items end without a newline: read's status says nothing)
  fqdn=
  [ -s $d/local-hostname ] && read -r fqdn <$d/local-hostname
  [ -z "$fqdn" ] && [ -s $RUN/dhcp-hostname ] && read -r fqdn <$RUN/dhcp-hostname
  if [ -n "$fqdn" ]; then
    short=${fqdn%%.*}
    echo "$short" >/proc/sys/kernel/hostname
    read -r old </etc/hostname
    if [ "$old" != "$short" ]; then
      echo "$short" >/etc/hostname
      printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s %s\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' \
        "$fqdn" "$short" >/etc/hosts
    fi
  fi

  if [ -n "$first_boot" ] && [ -s $d/openssh-key ]; then
    mkdir -p /home/admin/.ssh
    while IFS= read -r line || [ -n "$line" ]; do echo "$line"; done <$d/openssh-key >/home/admin/.ssh/authorized_keys
    chown -R admin:admin /home/admin/.ssh
    chmod 700 /home/admin/.ssh
    chmod 600 /home/admin/.ssh/authorized_keys
    log "the key pair's public key is admin's authorized key"
  fi
}

imds_get() {
  timeout 5 wget -q -O "$2" --header "X-aws-ec2-metadata-token: $token" "$url/$1" 2>/dev/null
}

# sshd forks into the background before it listens: wait (briefly) for port 22, so that the boot
# marker really means SSH works.
start_sshd() {
  /usr/sbin/sshd || { log "sshd did not start"; return 0; }
  i=0
  while [ $i -lt 100 ]; do
    for f in /proc/net/tcp /proc/net/tcp6; do
      while read -r _ local _ st _; do
        [ "$st" = 0A ] && case "$local" in *:0016) return 0 ;; esac
      done <$f
    done
    sleep 0.02
    i=$((i + 1))
  done
  log "sshd does not listen on port 22"
}

# The ACPI power button (QMP system_powerdown) arrives as an input event. Its device is opened now,
# before the boot marker, so that a press from then on is never lost.
watch_power_button() {
  dev=
  for e in /sys/class/input/event*; do
    read -r name 2>/dev/null <"$e/device/name"
    [ "$name" = "Power Button" ] && dev=/dev/input/${e##*/}
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

user_data() {
  read_cmdline
  [ -e $RUN/first-boot ] || [ "$VARIANT" = cloud-init ] || return 0
  # L2 guests in user data need /dev/kvm: wait for the modules (at most a minute).
  n=0
  while [ ! -e $RUN/kvm-modules.done ] && [ $n -lt 600 ]; do
    sleep 0.1
    n=$((n + 1))
  done
  if [ "$VARIANT" = cloud-init ]; then
    # scripts-user runs the user data (once per instance), keys-to-console prints the host keys
    cloud-init modules --mode=final
    return 0
  fi
  f=$RUN/imds/user-data
  [ -s $f ] || return 0
  IFS= read -r first <$f
  case "$first" in
    '#!'*) ;;
    *)
      log "user data is not a script (it does not start with #!); not run"
      return 0
      ;;
  esac
  chmod 700 $f
  log "running user data"
  (cd / && $f) </dev/null
  log "user data exited with status $?"
}

# busybox init then signals what is left, waits a second and powers off (or reboots).
shutdown() {
  log "power down"
  trap '' TERM HUP
  kill -TERM -1 2>/dev/null
  sleep 0.5
  kill -KILL -1 2>/dev/null
  sync
  i=0
  until mount -o remount,ro / 2>/dev/null; do
    i=$((i + 1))
    [ $i -ge 20 ] && { log "cannot remount / read-only"; break; }
    sleep 0.1
  done
}

case "$1" in
  sysinit) sysinit ;;
  kvm-modules) kvm_modules "$2" "$3" ;;
  user-data) user_data ;;
  shutdown) shutdown ;;
  *)
    echo "usage: $0 sysinit|user-data|shutdown|kvm-modules VENDOR EXTENSION" >&2
    exit 2
    ;;
esac
