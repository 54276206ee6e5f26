#!/bin/bash
# Start a real OpenStack Neutron API server on 127.0.0.1: the peer that NaaS
# is measured against (tools/bench_api.py, tools/bench_compare.py,
# docs/performance.md).  Run as root on Debian.
#
#   tools/peer/neutron-up.sh [PORT]
#       noauth; PORT default 19696.  Prints NEUTRON_URL=http://127.0.0.1:PORT
#       when a real API call answers.
#   tools/peer/neutron-up.sh PORT keystone AUTH_URL SERVICE_USER SERVICE_PASSWORD
#       Keystone tokens through keystonemiddleware; the service user needs
#       the admin role in project `service` (tools/peer/keystone-up.sh makes
#       netsvc / svcpw).
#   NEUTRON_SERVICE_PLUGINS    service_plugins (default: router)
#   NEUTRON_EXTENSION_DRIVERS  ML2 extension_drivers (default: port_security)
#
# What runs: Neutron from PyPI in a virtualenv of its own (ML2 core plugin
# with the openvswitch mechanism driver and VXLAN tenant networks, the router
# service plugin, quotas unlimited, no agents and no message bus: API work
# only), served by uWSGI with 2 processes as Neutron supports it, on a MariaDB
# of its own on 127.0.0.1:13306 (Neutron's migrations no longer run on SQLite
# or PostgreSQL).  In noauth mode every caller is an admin without a project:
# put project_id in request bodies.
#
# The same MariaDB serves NaaS when both are measured on one database server:
# database `naas`, user naas / pw, which may also create and drop databases
# named naas*:  mysql+mysqldb://naas:pw@127.0.0.1:13306/naas
#
# Everything lives under NEUTRON_ROOT (default /tmp/naas-neutron): the
# virtualenv (NEUTRON_VENV, default $NEUTRON_ROOT/venv, installed on first
# use, which takes minutes), mysql/ (data, socket, pid file), neutron.conf,
# uwsgi.ini, uwsgi.pid, state/, lock/ and log/.  Running it again is
# harmless: what already runs is kept (as it is: to change its settings, run
# neutron-down.sh first).  tools/peer/neutron-down.sh stops
# Neutron and MariaDB; rm -rf $NEUTRON_ROOT removes every trace.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PORT=${1:-19696}
AUTH=${2:-noauth}
AUTH_URL=${3:-}
SERVICE_USER=${4:-}
SERVICE_PASSWORD=${5:-}
MYSQL_PORT=13306
ROOT=${NEUTRON_ROOT:-/tmp/naas-neutron}
VENV=${NEUTRON_VENV:-$ROOT/venv}
URL=http://127.0.0.1:$PORT
if [[ $AUTH != noauth && ( $AUTH != keystone || -z $SERVICE_PASSWORD ) ]]; then
  echo "usage: $0 [PORT [keystone AUTH_URL SERVICE_USER SERVICE_PASSWORD]]" >&2
  exit 2
fi
for tool in mariadbd mariadb-install-db mariadb curl; do
  command -v "$tool" >/dev/null || {
    echo "$tool not found: install mariadb-server and curl" \
         "(.ci/install-system-packages.sh does)" >&2; exit 1; }
done
mkdir -p "$ROOT/log" "$ROOT/state" "$ROOT/lock"
ROOT=$(cd "$ROOT" && pwd)

# A real API call, not just the version document: 200, or 401 with Keystone.
answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    "$URL/v2.0/networks?limit=1") || return 1
  [[ $code == 200 || ( $AUTH == keystone && $code == 401 ) ]]
}

# 1. The virtualenv.  uwsgi is installed last, so its presence means done.
if [[ ! -x $VENV/bin/uwsgi || ! -x $VENV/bin/neutron-db-manage ]]; then
  echo "installing neutron, PyMySQL and uwsgi from PyPI into $VENV" \
       "(log: $ROOT/log/pip.log)" >&2
  python3 -m venv "$VENV"
  if ! "$VENV/bin/pip" install -q neutron pymysql >"$ROOT/log/pip.log" 2>&1 ||
     ! "$VENV/bin/pip" install -q uwsgi >>"$ROOT/log/pip.log" 2>&1; then
    echo "pip install failed" >&2; log_tail "$ROOT/log/pip.log"; exit 1
  fi
fi

# 2. MariaDB on 127.0.0.1:$MYSQL_PORT, ignoring the system's my.cnf.
SOCKET=$ROOT/mysql/mysqld.sock
sql() { mariadb --no-defaults -S "$SOCKET" -u root -e "$1"; }
if ! running_pid "$ROOT/mysql/mysqld.pid" >/dev/null; then
  if [[ ! -d $ROOT/mysql/data ]]; then
    mkdir -p "$ROOT/mysql"
    chown mysql:mysql "$ROOT/mysql"
    mariadb-install-db --no-defaults --user=mysql --datadir="$ROOT/mysql/data" \
      >"$ROOT/log/mysql-install.log" 2>&1 || { log_tail "$ROOT/log/mysql-install.log"; exit 1; }
  fi
  setsid mariadbd --no-defaults --user=mysql --datadir="$ROOT/mysql/data" \
    --bind-address=127.0.0.1 --port=$MYSQL_PORT --socket="$SOCKET" \
    --pid-file="$ROOT/mysql/mysqld.pid" --max-connections=300 \
    >>"$ROOT/log/mysqld.log" 2>&1 </dev/null &
  if ! wait_until 60 eval 'sql "select 1" >/dev/null 2>&1'; then
    echo "MariaDB did not start" >&2; log_tail "$ROOT/log/mysqld.log"; exit 1
  fi
fi
sql "CREATE DATABASE IF NOT EXISTS neutron; CREATE DATABASE IF NOT EXISTS naas;
     CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY 'pw';
     CREATE USER IF NOT EXISTS 'naas'@'127.0.0.1' IDENTIFIED BY 'pw';
     GRANT ALL ON neutron.* TO 'neutron'@'127.0.0.1';
     GRANT ALL ON \`naas%\`.* TO 'naas'@'127.0.0.1';"

# 3. Neutron's configuration and schema.
cat >"$ROOT/neutron.conf" <<EOF
[DEFAULT]
core_plugin = ml2
service_plugins = ${NEUTRON_SERVICE_PLUGINS:-router}
auth_strategy = $AUTH
api_workers = 2
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = fake:/
state_path = $ROOT/state
api_paste_config = $VENV/etc/neutron/api-paste.ini
[database]
connection = mysql+pymysql://neutron:pw@127.0.0.1:$MYSQL_PORT/neutron
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch
extension_drivers = ${NEUTRON_EXTENSION_DRIVERS:-port_security}
[ml2_type_vxlan]
vni_ranges = 1:100000
[oslo_concurrency]
lock_path = $ROOT/lock
[keystone_authtoken]
www_authenticate_uri = $AUTH_URL
auth_url = $AUTH_URL
auth_type = password
username = $SERVICE_USER
password = $SERVICE_PASSWORD
project_name = service
user_domain_name = Default
project_domain_name = Default
[quotas]
quota_network = -1
quota_subnet = -1
quota_port = -1
quota_router = -1
quota_floatingip = -1
quota_security_group = -1
quota_security_group_rule = -1
EOF
# Migrations are idempotent but slow; run them once per database.
if [[ ! -f $ROOT/state/schema-done ]]; then
  "$VENV/bin/neutron-db-manage" --config-file "$ROOT/neutron.conf" upgrade heads \
    >"$ROOT/log/db-manage.log" 2>&1 || { log_tail "$ROOT/log/db-manage.log"; exit 1; }
  touch "$ROOT/state/schema-done"
fi

# 4. uWSGI on loopback; die-on-term makes SIGTERM a shutdown, not a reload.
if pid=$(running_pid "$ROOT/uwsgi.pid"); then
  if ! answers; then
    echo "a Neutron of $ROOT runs (pid $pid) but does not answer on $URL;" \
         "stop it first: NEUTRON_ROOT=$ROOT $HERE/neutron-down.sh" >&2
    exit 1
  fi
else
  if answers; then
    echo "something else already answers on $URL; choose another port" >&2
    exit 1
  fi
  cat >"$ROOT/uwsgi.ini" <<EOF
[uwsgi]
http = 127.0.0.1:$PORT
http-keepalive = 1
add-header = Connection: Keep-Alive
module = neutron.wsgi.api:application
master = true
processes = 2
threads = 1
lazy-apps = true
enable-threads = true
die-on-term = true
buffer-size = 65535
env = OS_NEUTRON_CONFIG_DIR=$ROOT
env = OS_NEUTRON_CONFIG_FILES=neutron.conf
pidfile = $ROOT/uwsgi.pid
EOF
  start_uwsgi "$ROOT" "$VENV" Neutron "$URL" 120 || exit 1
fi
echo "NEUTRON_URL=$URL"
