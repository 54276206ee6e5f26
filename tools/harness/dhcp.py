"""The DHCP client side of the harness: busybox ``udhcpc`` in a VM namespace.

:data:`UDHCPC_SCRIPT` is udhcpc's event script, shared by the fullstack DHCP
tests (tests/fullstack/test_dhcp.py) and tools/bench_dhcp.py.  It sets the
lease's address, MTU and routes (classless static routes, else the router)
on the VM's interface, writes the DNS servers to ``resolv.conf`` beside the
script (never to the machine's /etc/resolv.conf) and logs every event to
``events`` beside it.
"""

UDHCPC_SCRIPT = r'''#!/bin/sh
# busybox udhcpc event script: $1 is deconfig, bound, renew, nak or leasefail.
dir=$(dirname "$0")
event=$1
echo "$event ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu" \
    "routes=$staticroutes" >> "$dir/events"
case "$event" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    if ! ip -4 -o addr show dev "$interface" | grep -q " $ip/$mask "; then
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/$mask" dev "$interface"
    fi
    ip -4 route flush dev "$interface" proto static 2>/dev/null
    ip route del default dev "$interface" 2>/dev/null
    if [ -n "$staticroutes" ]; then
        # RFC 3442: with classless static routes the router option is ignored.
        set -- $staticroutes
        while [ $# -ge 2 ]; do
            if [ "$2" = 0.0.0.0 ]; then
                ip route replace "$1" dev "$interface" proto static
            else
                ip route replace "$1" via "$2" dev "$interface" proto static
            fi
            shift 2
        done
    elif [ -n "$router" ]; then
        set -- $router
        ip route replace default via "$1" dev "$interface" proto static
    fi
    : > "$dir/resolv.conf.new"
    for d in $dns; do echo "nameserver $d" >> "$dir/resolv.conf.new"; done
    mv "$dir/resolv.conf.new" "$dir/resolv.conf"
    ;;
esac
echo "done $event" >> "$dir/events"
exit 0
'''
