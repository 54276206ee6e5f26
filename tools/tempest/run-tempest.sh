#!/bin/bash
# Run tempest.api.network against naas-server in keystone mode, on this
# machine, as root, with nothing but this repository and PyPI.
#
#   tools/tempest/run-tempest.sh [--regex REGEX] [--concurrency N] [--keep]
#
#   --regex        which tests (default '^tempest\.api\.network')
#   --concurrency  tempest workers (default 2)
#   --keep         leave the servers running after the tests (Ctrl-C stops)
#   --service-plugins  default router,security-group (run_tempest.py says why)
#   --build-timeout    seconds tempest waits for a status (its default: 300)
#
# What it does (tools/tempest/run_tempest.py does steps 2-8):
#  1. tempest from PyPI in a virtualenv of its own, $TEMPEST_ROOT/venv
#     (TEMPEST_ROOT default /tmp/naas-tempest), installed on first use;
#  2. Keystone with tools/peer/keystone-up.sh (KEYSTONE_ROOT=$TEMPEST_ROOT/
#     keystone; its virtualenv KEYSTONE_VENV, default /tmp/naas-keystone/venv,
#     installed on first use);
#  3. a private RabbitMQ node (tools.harness.servers.RabbitMQServer): with
#     the in-process transport naas-server serves with one worker only;
#  4. naas-server on the embedded defaults (etc/naas/naas.conf: SQLite, a
#     local agent with the Linux bridge driver, DHCP and routers) but
#     auth_strategy = keystone, 2 API workers, the RabbitMQ transport,
#     service_plugins = router,security-group, and the local agent's host in
#     a namespace of its own (naas-tempest), so that nothing is created in
#     the root namespace;
#  5. NaaS's endpoint in the Keystone catalog, an external network `public`
#     (and its subnet) for tempest's public_network_id;
#  6. tempest.conf: Identity v3, admin/secret for dynamic credentials,
#     api_extensions = exactly the aliases GET /v2.0/extensions lists, IPv6,
#     every service but the network service unavailable;
#  7. tempest run --regex REGEX --concurrency N, in $TEMPEST_ROOT/workspace;
#  8. a summary (passed, failed, skipped, minutes), then everything stopped
#     and removed: naas-server, RabbitMQ, Keystone (keystone-down.sh), and
#     naas-cleanup --namespace-prefix naas-tempest.
# Exit status: tempest's (0: no test failed).  Logs: $TEMPEST_ROOT/log/.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${TEMPEST_ROOT:-/tmp/naas-tempest}
VENV=$ROOT/venv
mkdir -p "$ROOT/log"

if [[ $(id -u) != 0 ]]; then
  echo "run as root (namespaces, bridges, dnsmasq)" >&2; exit 1
fi
if [[ ! -x $REPO/.venv/bin/python ]]; then
  echo "no $REPO/.venv: run bin/setup-env first" >&2; exit 1
fi

# 1. tempest.  The marker file is written last, so its presence means done.
if [[ ! -f $VENV/.installed || ! -x $VENV/bin/tempest ]]; then
  echo "installing tempest from PyPI into $VENV (log: $ROOT/log/pip.log)" >&2
  python3 -m venv "$VENV"
  if ! "$VENV/bin/pip" install -q tempest >"$ROOT/log/pip.log" 2>&1; then
    echo "pip install tempest failed" >&2; tail -n 25 "$ROOT/log/pip.log" >&2; exit 1
  fi
  touch "$VENV/.installed"
fi

cd "$REPO"
exec "$REPO/.venv/bin/python" -m tools.tempest.run_tempest --root "$ROOT" \
  --tempest "$VENV/bin/tempest" "$@"
