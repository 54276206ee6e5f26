"""naas-server: the API server on eventlet's WSGI server.

eventlet serves HTTP only; nothing is monkey-patched, so each worker process
handles one request at a time while its database calls run, and
``api_workers`` processes share the listening socket.  For threads or
another server, run naas.api.wsgi:application under uWSGI.
"""
import logging
import os
import signal
import socket
import sys

import eventlet
import eventlet.wsgi
from oslo_log import log as oslo_log

from naas import rpc  # noqa: F401 (registers transport_url)
from naas.api import decoding
from naas.api import wsgi
from naas.conf import CONF
from naas.db import api as db_api
from naas.db import migration

LOG = logging.getLogger(__name__)


class _Log:
    """eventlet's access log into the naas logger."""

    def write(self, line):
        LOG.info(line.rstrip())


def parse_args(argv):
    oslo_log.register_options(CONF)
    CONF(argv, project='naas')
    oslo_log.setup(CONF, 'naas')


#: eventlet's own limit on the request line, above the API's (the API answers
#: 414 with a NeutronError; eventlet's 414 is an empty HTTP/1.0 answer).
REQUEST_LINE_LIMIT = 8 * decoding.MAX_URL_LENGTH


def serve(app, sock):
    eventlet.wsgi.server(sock, app, log=_Log(), max_size=1000,
                         keepalive=True, socket_timeout=900, debug=False,
                         url_length_limit=REQUEST_LINE_LIMIT)


def start_rpc(in_process):
    """The plugins' RPC servers (threads), and the local agent if asked."""
    from naas.plugins import manager as plugin_manager
    servers = []
    for plugin in plugin_manager.get_manager().plugins():
        servers += plugin.start_rpc_listeners()
    if CONF.local_agent:
        from naas.agent import agent
        local = agent.Agent(CONF)
        local.start()
        LOG.info('local agent (%s) started for host %s', CONF.agent.l2_driver, CONF.host)
    return servers


def main(argv=None):
    parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(CONF.state_path, exist_ok=True)
    if not CONF.database.connection:
        # The embedded default: SQLite in state_path, created on first start.
        migration.upgrade('head')
    app = wsgi.load_app()
    in_process = CONF.transport_url.startswith('fake:')
    sock = eventlet.listen((CONF.bind_host, CONF.bind_port),
                           family=socket.AF_INET6 if ':' in CONF.bind_host else socket.AF_INET,
                           backlog=1024, reuse_port=False)
    workers = CONF.api_workers or os.cpu_count() or 1
    if in_process and workers > 1:
        LOG.warning('transport_url %s is in-process: serving with 1 worker so '
                    'that the API and the agents share it', CONF.transport_url)
        workers = 1
    LOG.info('naas-server on %s:%s with %d worker(s)', CONF.bind_host, CONF.bind_port, workers)
    print('naas-server listening on http://%s:%s/ (%d workers)'
          % (CONF.bind_host, CONF.bind_port, workers), flush=True)
    if workers == 1:
        start_rpc(in_process)
        serve(app, sock)
        return
    db_api.dispose_engine()
    children = set()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            db_api.dispose_engine()
            serve(app, sock)
            os._exit(0)
        children.add(pid)

    def _stop(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    start_rpc(in_process)
    while children:
        pid, _status = os.wait()
        children.discard(pid)
