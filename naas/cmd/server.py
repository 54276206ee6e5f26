"""naas-server: the API server on eventlet's WSGI server.

eventlet serves HTTP only and nothing is monkey-patched: its green threads
read requests and write responses, and the WSGI application runs in native
threads (eventlet.tpool, ``api_threads`` per process, see ``Threaded``), so
a worker serves that many requests at once while their database calls
wait.  ``api_workers`` processes share the listening socket.  For another
server, run naas.api.wsgi:application under uWSGI.

With more than one worker the first process only supervises: it forks the
API workers and one RPC worker (the plugins' RPC servers, threads), and
forks a new one of the same kind when one dies, so a crashed or killed
worker costs its requests in flight, not capacity.  The supervisor runs no
thread of its own, so forking from it is safe.
"""
import ctypes
import ctypes.util
import io
import logging
import os
import signal
import socket
import sys
import time

import eventlet
import eventlet.wsgi
from eventlet import tpool
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


class Threaded:
    """The WSGI application in a native thread of eventlet's pool.

    A green thread cannot run the application itself: without
    monkey-patching, its database calls would block every other request of
    the process.  So the green thread reads the request body (it comes
    through eventlet's green socket, which only the hub's thread may read;
    at most max_request_body_size + 1 bytes: a larger body is refused by
    naas.api.decoding), hands the request to the pool and writes the
    response the thread gathered whole (API responses are JSON documents).
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        limit = CONF.max_request_body_size
        declared = environ.get('CONTENT_LENGTH')
        too_long = declared and declared.isdigit() and int(declared) > limit
        body = b'' if too_long else environ['wsgi.input'].read(limit + 1)
        environ['wsgi.input'] = io.BytesIO(body)
        if environ.pop('HTTP_TRANSFER_ENCODING', None):   # chunked: now it has a length
            environ['CONTENT_LENGTH'] = str(len(body))
        status, headers, chunks = tpool.execute(self._run, environ)
        start_response(status, headers)
        return chunks

    def _run(self, environ):
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]

        result = self.app(environ, start_response)
        try:
            chunks = list(result)
        finally:
            if hasattr(result, 'close'):
                result.close()
        return started[0], started[1], chunks


def serve(app, sock):
    tpool.set_num_threads(CONF.api_threads)
    eventlet.wsgi.server(sock, Threaded(app), log=_Log(), max_size=1000,
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
    Supervisor(app, sock, workers, in_process).run()


def _set_process_name(name):
    """The name ps and /proc/PID/comm show (15 characters at most)."""
    libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
    libc.prctl(15, name.encode()[:15], 0, 0, 0)   # PR_SET_NAME


class Supervisor:
    """Forks ``api_workers`` API workers and one RPC worker, and replaces
    any that dies until SIGTERM/SIGINT, which it passes on to them."""

    #: A worker that dies sooner than this after its start is replaced only
    #: after this long (a worker that cannot start must not fork-loop).
    RESPAWN_DELAY = 1.0

    def __init__(self, app, sock, api_workers, in_process):
        self.app, self.sock, self.in_process = app, sock, in_process
        self.api_workers = api_workers
        self.children = {}     # pid -> (kind, monotonic start)
        self.stopping = False

    def run(self):
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for _ in range(self.api_workers):
            self._spawn('api')
        self._spawn('rpc')
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            kind, started = self.children.pop(pid, (None, 0))
            if kind is None or self.stopping:
                continue
            LOG.error('%s worker %d died (%s); starting another', kind, pid,
                      _describe(status))
            if time.monotonic() - started < self.RESPAWN_DELAY:
                time.sleep(self.RESPAWN_DELAY)
            if not self.stopping:
                self._spawn(kind)

    def _spawn(self, kind):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _set_process_name('naas-%s-worker' % kind)
            db_api.dispose_engine()
            try:
                if kind == 'api':
                    serve(self.app, self.sock)
                else:
                    start_rpc(self.in_process)
                    while True:
                        signal.pause()
            finally:
                os._exit(0)
        self.children[pid] = (kind, time.monotonic())

    def _stop(self, signum, frame):
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _describe(status):
    if os.WIFSIGNALED(status):
        return 'signal %d' % os.WTERMSIG(status)
    return 'exit status %d' % os.waitstatus_to_exitcode(status)
