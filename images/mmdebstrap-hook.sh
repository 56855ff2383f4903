#!/bin/sh
# The mmdebstrap hook that turns a minbase Debian 12 tree into nestbox's image. image.ts passes it
# as both --essential-hook and --customize-hook; mmdebstrap says which in $MMDEBSTRAP_HOOK and gives
# the tree as $1. The rest comes from image.ts in the environment:
#   NESTBOX_IMAGES    the images/ source directory (rc.sh, udhcpc.sh, l2-linux.sh, cloud-init.cfg)
#   NESTBOX_VARIANT   base | cloud-init
#   NESTBOX_L2_SMOKE  the l2-smoke binary compiled on the host
#   NESTBOX_ROOTFS_SECTORS  the root filesystem's size in 512-byte sectors (rc grows it when the disk is bigger)
set -eu
T=$1
say() { echo "nestbox-image: $*"; }

essential() {
  # The kernel's postinst would build an initramfs that nestbox never boots (its own is built from this
  # tree by image.ts): tiny-initramfs's tools are diverted to no-ops until the customize stage.
  for f in update-tirfs mktirfs; do
    chroot "$T" dpkg-divert --quiet --local --rename --add /usr/sbin/$f
    printf '#!/bin/sh\nexit 0\n' >"$T/usr/sbin/$f"
    chmod 755 "$T/usr/sbin/$f"
  done
}

customize() {
  for f in update-tirfs mktirfs; do
    rm "$T/usr/sbin/$f"
    chroot "$T" dpkg-divert --quiet --local --rename --remove /usr/sbin/$f
  done
  rm -f "$T"/boot/initrd.img*

  release=$(ls "$T/usr/lib/modules")
  say "pruning kernel modules a VM never loads ($release)"
  K=$T/usr/lib/modules/$release/kernel
  # Hardware a QEMU guest does not have (its devices are virtio; an L2 guest's devices are QEMU's, in
  # user space). Kept: virtio, block, SCSI, net core (tun, bridge, veth, macvtap, vhost), netfilter,
  # KVM, file systems, crypto, input (the ACPI power button).
  for d in sound \
    drivers/gpu drivers/media drivers/staging drivers/infiniband drivers/usb drivers/iio drivers/hwmon \
    drivers/isdn drivers/bluetooth drivers/comedi drivers/mtd drivers/mmc drivers/video drivers/platform \
    drivers/hid drivers/thunderbolt drivers/nfc drivers/w1 drivers/gnss drivers/memstick drivers/pcmcia \
    drivers/parport drivers/firewire drivers/ssb drivers/bcma drivers/atm drivers/soundwire \
    drivers/slimbus drivers/ufs drivers/message drivers/leds drivers/extcon drivers/mfd \
    drivers/spi drivers/pinctrl drivers/gpio drivers/misc \
    drivers/ata drivers/edac drivers/hwtracing drivers/regulator drivers/pwm drivers/watchdog \
    drivers/net/wireless drivers/net/ethernet drivers/net/usb drivers/net/can drivers/net/wwan \
    drivers/net/ieee802154 drivers/net/arcnet drivers/net/fddi drivers/net/wan drivers/net/hamradio \
    net/wireless net/mac80211 net/bluetooth net/nfc net/mac802154 net/ieee802154 net/6lowpan \
    net/appletalk net/ax25 net/netrom net/rose net/atm net/phonet net/can net/qrtr net/batman-adv; do
    rm -rf "${K:?}/$d"
  done
  # What is left must load: a module that needs a pruned one goes too (modules.dep lists every
  # module a module needs, not only the direct ones, so one pass does).
  M=$T/usr/lib/modules/$release
  while IFS=: read -r mod deps; do
    [ -e "$M/$mod" ] || continue
    for d in $deps; do
      [ -e "$M/$d" ] || { rm "$M/$mod"; break; }
    done
  done <"$M/modules.dep"
  chroot "$T" depmod "$release"

  say "user admin (passwordless sudo, no password), sshd, busybox init"
  groups=
  for g in adm dialout cdrom floppy sudo audio dip video plugdev kvm; do
    if ! grep -q "^$g:" "$T/etc/group"; then
      # udev would make kvm; without it rc.sh still gives /dev/kvm to this group, as udev's rule does
      [ "$g" = kvm ] || continue
      chroot "$T" groupadd --system kvm
    fi
    groups=${groups:+$groups,}$g
  done
  # useradd locks the password ('!' in /etc/shadow): key-only logins, as on Debian's AMIs
  chroot "$T" useradd --create-home --shell /bin/bash --comment Debian --groups "$groups" admin
  printf 'admin ALL=(ALL) NOPASSWD:ALL\n' >"$T/etc/sudoers.d/90-nestbox-admin"
  chmod 440 "$T/etc/sudoers.d/90-nestbox-admin"

  # Every instance generates its own host keys at its first boot (rc.sh, or cloud-init's ssh module).
  rm -f "$T"/etc/ssh/ssh_host_*
  cat >"$T/etc/ssh/sshd_config.d/nestbox.conf" <<'EOF'
# nestbox: key-only logins for admin, as on Debian's AMIs. First match wins: this file is read
# before the rest of sshd_config.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
# Generated at an instance's first boot: RSA is left out, its key generation costs seconds under emulation.
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
EOF

  # PID 1 is busybox init (no systemd: under emulation every process counts); /sbin is /usr/sbin here.
  for a in init poweroff reboot halt; do ln -sf ../bin/busybox "$T/usr/sbin/$a"; done
  # the system log is busybox syslogd's ring buffer (rc.sh)
  ln -sf busybox "$T/usr/bin/logread"
  cat >"$T/usr/sbin/shutdown" <<'EOF'
#!/bin/sh
# shutdown(8) for busybox init: -r reboots, -H halts, anything else powers off, always at once.
case " $* " in
  *" -r "* | *" --reboot "*) exec /usr/sbin/reboot ;;
  *" -H "* | *" --halt "*) exec /usr/sbin/halt ;;
  *) exec /usr/sbin/poweroff ;;
esac
EOF
  chmod 755 "$T/usr/sbin/shutdown"
  cat >"$T/etc/inittab" <<'EOF'
# nestbox: busybox init runs /etc/nestbox/rc (see there)
::sysinit:/etc/nestbox/rc sysinit
::once:/etc/nestbox/rc user-data
::ctrlaltdel:/usr/sbin/reboot
::shutdown:/etc/nestbox/rc shutdown
EOF
  mkdir -p "$T/etc/nestbox" "$T/var/lib/nestbox" "$T/usr/share/nestbox/l2"
  install -m 755 "$NESTBOX_IMAGES/rc.sh" "$T/etc/nestbox/rc"
  install -m 755 "$NESTBOX_IMAGES/udhcpc.sh" "$T/etc/nestbox/udhcpc"
  echo "$NESTBOX_VARIANT" >"$T/etc/nestbox/variant"
  echo "$NESTBOX_ROOTFS_SECTORS" >"$T/var/lib/nestbox/disk-sectors"
  install -m 755 "$NESTBOX_L2_SMOKE" "$T/usr/local/bin/l2-smoke"
  install -m 755 "$NESTBOX_IMAGES/l2-linux.sh" "$T/usr/local/bin/l2-linux"

  echo /dev/vda / ext4 rw,relatime,errors=remount-ro 0 1 >"$T/etc/fstab"
  echo localhost >"$T/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' >"$T/etc/hosts"
  # written by the DHCP client at each boot (udhcpc.sh), in /run: the image stays the same
  ln -sf ../run/nestbox/resolv.conf "$T/etc/resolv.conf"

  if [ "$NESTBOX_VARIANT" = cloud-init ]; then
    say "cloud-init: Ec2 datasource, user admin, no network configuration"
    install -m 644 "$NESTBOX_IMAGES/cloud-init.cfg" "$T/etc/cloud/cloud.cfg.d/90-nestbox.cfg"
  fi
}

case "${MMDEBSTRAP_HOOK:-}" in
  essential) essential ;;
  customize) customize ;;
  *) echo "$0: run by mmdebstrap as --essential-hook and --customize-hook" >&2; exit 2 ;;
esac
