#!/bin/bash
# Install the Debian 12 packages that the NaaS tests need, as root.
#
# The tests start private instances of PostgreSQL, RabbitMQ, MariaDB and
# Open vSwitch in directories of their own, so the system services that apt
# may have started are stopped again (and kept from starting on later
# package operations while this script runs). Safe to run any number of
# times.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "$0: must be run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
    python3-venv python3-dev build-essential pkg-config
    postgresql rabbitmq-server mariadb-server libmariadb-dev
    openvswitch-switch dnsmasq-base iproute2 busybox keepalived
    iptables nftables ebtables curl
    iperf3 tcpdump
    haproxy
    chromium chromium-driver
)
SERVICES=(postgresql rabbitmq-server openvswitch-switch mariadb haproxy)

# Keep maintainer scripts from starting services during this run, unless a
# policy is already in place (e.g. in a container image); remove ours after.
POLICY=/usr/sbin/policy-rc.d
OUR_POLICY=
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# naas .ci/install-system-packages.sh\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
    OUR_POLICY=1
fi
cleanup() {
    if [ -n "$OUR_POLICY" ]; then
        rm -f "$POLICY"
    fi
}
trap cleanup EXIT

# iperf3 (the QoS tests measure with it) asks whether to run a daemon: no.
echo 'iperf3 iperf3/start_daemon boolean false' | debconf-set-selections

apt-get update -qq
apt-get install -y -qq "${PACKAGES[@]}"

# Stop whatever is running anyway (services started before this script, or
# on machines where policy-rc.d was not honoured).
stop_service() {
    local svc=$1
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl stop "$svc" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$svc" ]; then
        "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
}
for svc in "${SERVICES[@]}"; do
    stop_service "$svc"
done

# Belt and braces for daemons the init scripts may have missed. Only the
# system instances, found by their standard pid files: private instances
# that tests may be running (as the same users) are left alone.
kill_pidfile() {
    local f pid
    for f in "$@"; do
        [ -r "$f" ] || continue
        pid=$(head -n1 "$f" | tr -dc 0-9)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
}
shopt -s nullglob
kill_pidfile /var/lib/postgresql/*/main/postmaster.pid \
    /run/mysqld/mysqld.pid \
    /run/openvswitch/ovs-vswitchd.pid /run/openvswitch/ovsdb-server.pid \
    /run/rabbitmq/pid /var/lib/rabbitmq/mnesia/*.pid /run/haproxy.pid
shopt -u nullglob
# The system epmd (default port 4369); it refuses while nodes are registered.
if command -v epmd >/dev/null; then
    epmd -kill >/dev/null 2>&1 || true
fi

echo "system packages installed; system services stopped"
