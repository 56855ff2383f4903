#!/bin/busybox sh
# The script busybox udhcpc runs at DHCP events (rc.sh: udhcpc -s /etc/nestbox/udhcpc). $1 is the
# event; the lease is in the environment: ip, mask (prefix length), router, dns, domain, hostname.
# Installed as /etc/nestbox/udhcpc in nestbox's image.
RUN=/run/nestbox

case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound | renew)
    ip -4 addr replace "$ip/${mask:-24}" dev "$interface"
    # QEMU's user network with restrict=on (nestbox's) advertises neither a router nor a DNS server.
    # The router is then the subnet's base address + 1, as in a VPC (connections beyond it are
    # refused at once). No DNS server is named: QEMU drops DNS queries on a restricted network, and
    # each lookup would hang for seconds instead of failing.
    if [ -z "$router" ]; then
      eval "$(ipcalc -n "$ip/${mask:-24}")"
      router=${NETWORK%.*}.$((${NETWORK##*.} + 1))
    fi
    set -- $router
    [ -n "$1" ] && ip -4 route replace default via "$1" dev "$interface"
    {
      [ -n "$domain" ] && echo "search $domain"
      for d in $dns; do echo "nameserver $d"; done
    } >"$RUN/resolv.conf.new" && mv "$RUN/resolv.conf.new" "$RUN/resolv.conf"
    # rc.sh's fallbacks while the metadata service does not answer
    echo "$ip" >"$RUN/dhcp-ipv4"
    [ -n "$hostname" ] && echo "$hostname" >"$RUN/dhcp-hostname"
    ;;
esac
exit 0
