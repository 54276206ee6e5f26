#!/bin/bash
# Stop the Keystone that tools/peer/keystone-up.sh started under
# KEYSTONE_ROOT (default /tmp/naas-keystone): its uWSGI master and workers.
# Its data, keys and virtualenv stay, so the next keystone-up.sh is quick;
# rm -rf the root to remove them too.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
ROOT=${KEYSTONE_ROOT:-/tmp/naas-keystone}
stop_pidfile "$ROOT/uwsgi.pid" "Keystone (uWSGI)"
