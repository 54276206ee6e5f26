#!/bin/bash
# Stop what tools/peer/neutron-up.sh started under NEUTRON_ROOT (default
# /tmp/naas-neutron): Neutron's uWSGI master and workers, then MariaDB (a
# clean shutdown).  The databases and the virtualenv stay, so the next
# neutron-up.sh is quick; rm -rf the root to remove them too.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
ROOT=${NEUTRON_ROOT:-/tmp/naas-neutron}
stop_pidfile "$ROOT/uwsgi.pid" "Neutron (uWSGI)"
stop_pidfile "$ROOT/mysql/mysqld.pid" "MariaDB"
