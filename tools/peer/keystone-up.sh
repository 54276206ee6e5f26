#!/bin/bash
# Start a real OpenStack Keystone on 127.0.0.1, for NaaS's Keystone tests
# (tests/functional/test_keystone.py) and for running NaaS with
# auth_strategy = keystone (docs/keystone.md).
#
#   tools/peer/keystone-up.sh [PORT [NETWORK_URL]]
#
#   PORT         default 15000.  When Keystone answers, prints
#                KEYSTONE_URL=http://127.0.0.1:PORT/v3
#   NETWORK_URL  if given, registered as the public, internal and admin
#                endpoints of the `network` service in RegionOne (replacing
#                any earlier ones), so that clients find NaaS in the catalog.
#
# Accounts (domain Default): admin / secret with the admin role in project
# admin (keystone-manage bootstrap); netsvc / svcpw with the admin role in
# project service, the service user for keystonemiddleware.
#
# What runs: the `keystone` package from PyPI in a virtualenv of its own,
# SQLite, Fernet tokens, served by uWSGI with 2 processes.  Everything lives
# under KEYSTONE_ROOT (default /tmp/naas-keystone): the virtualenv
# (KEYSTONE_VENV, default $KEYSTONE_ROOT/venv, installed on first use, which
# takes minutes), keystone.conf, keystone.db, the keys, uwsgi.ini,
# uwsgi.pid and log/.  Running it again is harmless: a Keystone of this root
# that already answers on PORT is kept, the accounts and endpoint are checked.
# tools/peer/keystone-down.sh stops it; rm -rf $KEYSTONE_ROOT removes it.
# KEYSTONE_EXTRA_CONF (text) is appended to keystone.conf, e.g. a cache for a
# load test (tools/tempest/run_tempest.py); KEYSTONE_PROCESSES: uWSGI's
# processes (default 2).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PORT=${1:-15000}
NETWORK_URL=${2:-}
ROOT=${KEYSTONE_ROOT:-/tmp/naas-keystone}
VENV=${KEYSTONE_VENV:-$ROOT/venv}
URL=http://127.0.0.1:$PORT/v3
mkdir -p "$ROOT/log"
ROOT=$(cd "$ROOT" && pwd)

answers() { curl -fs -o /dev/null --max-time 5 "$URL"; }

# 1. The virtualenv.  uwsgi is installed last, so its presence means done.
if [[ ! -x $VENV/bin/uwsgi || ! -x $VENV/bin/keystone-manage ]]; then
  echo "installing keystone and uwsgi from PyPI into $VENV (log: $ROOT/log/pip.log)" >&2
  python3 -m venv "$VENV"
  if ! "$VENV/bin/pip" install -q keystone >"$ROOT/log/pip.log" 2>&1 ||
     ! "$VENV/bin/pip" install -q uwsgi >>"$ROOT/log/pip.log" 2>&1; then
    echo "pip install failed" >&2; log_tail "$ROOT/log/pip.log"; exit 1
  fi
fi

# 2. Already running?
if pid=$(running_pid "$ROOT/uwsgi.pid"); then
  if ! answers; then
    echo "a Keystone of $ROOT runs (pid $pid) but does not answer on $URL;" \
         "stop it first: KEYSTONE_ROOT=$ROOT $HERE/keystone-down.sh" >&2
    exit 1
  fi
else
  if answers; then
    echo "something else already answers on $URL; choose another port" >&2
    exit 1
  fi
  # 3. Configuration and, the first time, the database and keys.
  cat >"$ROOT/keystone.conf" <<EOF
[database]
connection = sqlite:///$ROOT/keystone.db
[token]
provider = fernet
expiration = 7200
[fernet_tokens]
key_repository = $ROOT/fernet-keys
[fernet_receipts]
key_repository = $ROOT/fernet-keys
[credential]
key_repository = $ROOT/credential-keys
[cache]
enabled = false
EOF
  # KEYSTONE_EXTRA_CONF: more keystone.conf lines (a later section wins).
  [[ -z ${KEYSTONE_EXTRA_CONF:-} ]] || printf '%s\n' "$KEYSTONE_EXTRA_CONF" >>"$ROOT/keystone.conf"
  manage() {
    "$VENV/bin/keystone-manage" --config-file "$ROOT/keystone.conf" "$@" \
      >>"$ROOT/log/manage.log" 2>&1 || { log_tail "$ROOT/log/manage.log"; exit 1; }
  }
  if [[ ! -f $ROOT/keystone.db ]]; then
    manage db_sync
    manage fernet_setup --keystone-user root --keystone-group root
    manage credential_setup --keystone-user root --keystone-group root
  fi
  # Idempotent: creates or repairs the admin account and the identity
  # endpoints for this port.
  manage bootstrap --bootstrap-password secret --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$URL" --bootstrap-public-url "$URL" \
    --bootstrap-internal-url "$URL"

  # 4. uWSGI on loopback; die-on-term makes SIGTERM a shutdown, not a reload.
  cat >"$ROOT/uwsgi.ini" <<EOF
[uwsgi]
http = 127.0.0.1:$PORT
http-keepalive = 1
# Idle kept-alive connections stay open 10 min (uWSGI's default: 60 s):
# a client that reused one just as uWSGI closed it got no answer, and a
# POST is not retried (tempest's token requests failed a class setup).
http-timeout = 600
module = keystone.wsgi.api:application
master = true
processes = ${KEYSTONE_PROCESSES:-2}
lazy-apps = true
die-on-term = true
env = OS_KEYSTONE_CONFIG_DIR=$ROOT
env = OS_KEYSTONE_CONFIG_FILES=keystone.conf
pidfile = $ROOT/uwsgi.pid
EOF
  start_uwsgi "$ROOT" "$VENV" Keystone "$URL" 90 || exit 1
fi

# 5. The service account and, if asked, NaaS's endpoint (idempotent).
"$VENV/bin/python" "$HERE/keystone_accounts.py" "$URL" "$NETWORK_URL" \
  >>"$ROOT/log/accounts.log" 2>&1 || { log_tail "$ROOT/log/accounts.log"; exit 1; }
echo "KEYSTONE_URL=$URL"
