"""HAProxy (Debian ``haproxy``) in front of several naas-server processes,
as the multi-server shape runs them (docs/scale.md).

:class:`HAProxy` listens on a free port of 127.0.0.1 (``url``) and spreads
the HTTP requests round-robin over ``backends`` (``(host, port)`` pairs).
What makes a server's death cost only the requests it held:

* health checks (``GET /v2.0/networks?limit=1`` every second, down after
  2 failures, up after 2 successes) take a dead server out of the rotation.
  A check may take 5 s (``timeout check``): a busy server answers it after
  the requests queued before it, and without that timeout HAProxy waits
  only ``inter``, marks a loaded but live server down (the test saw both
  down at once: 503 "no server is available") and cuts its sessions;
* a request whose connection to a server is refused (the server died and
  the checks have not noticed yet) is sent to another server
  (``retries`` with ``option redispatch``).  Only a failed *connection* is
  retried (HAProxy's default ``retry-on conn-failure``): a request the dead
  server had received is answered 502, never sent twice, since it may have
  been committed;
* ``on-marked-down shutdown-sessions`` cuts what is still open to a server
  marked down instead of letting it wait for ``timeout server``.

The process runs in the foreground in a session of its own and is killed
on cleanup; its configuration and log are in a temporary directory.
"""
import os
import shutil
import signal
import subprocess
import tempfile

import fixtures

from tools.harness import servers

__all__ = ['HAProxy']

_CONFIG = """\
# written by tools.harness.load_balancer.HAProxy
global
    maxconn 2000

defaults
    mode http
    log stdout format raw local0 info
    option httplog
    timeout connect 2s
    timeout check 5s
    timeout client 120s
    timeout server 120s
    retries 3
    option redispatch 1

frontend naas_api
    bind {host}:{port}
    default_backend naas_servers

backend naas_servers
    balance roundrobin
    option httpchk GET /v2.0/networks?limit=1
    http-check expect status 200
    default-server check inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


class HAProxy(fixtures.Fixture):
    """HAProxy on 127.0.0.1 in front of ``backends`` (see the module's
    docstring).  ``url`` is its root, as :class:`servers.NaasServer`'s."""

    START_TIMEOUT = 30

    def __init__(self, backends):
        super(HAProxy, self).__init__()
        self.backends = list(backends)

    def _setUp(self):
        self.host = '127.0.0.1'
        self.port = servers.free_port(self.host)
        self.url = 'http://%s:%d' % (self.host, self.port)
        self.base_dir = tempfile.mkdtemp(prefix='naas-haproxy-')
        self.addCleanup(shutil.rmtree, self.base_dir, ignore_errors=True)
        self.config_file = os.path.join(self.base_dir, 'haproxy.cfg')
        self.log_file = os.path.join(self.base_dir, 'haproxy.log')
        with open(self.config_file, 'w') as f:
            f.write(_CONFIG.format(host=self.host, port=self.port, servers='\n'.join(
                '    server naas%d %s:%d' % (index, host, port)
                for index, (host, port) in enumerate(self.backends, 1))))
        binary = shutil.which('haproxy', path=servers._SYSTEM_PATH)
        if binary is None:
            raise RuntimeError('haproxy is not installed (.ci/install-system-packages.sh)')
        checked = subprocess.run([binary, '-c', '-q', '-f', self.config_file],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if checked.returncode != 0:
            raise RuntimeError('haproxy -c: %s' % checked.stdout.decode('utf-8', 'replace'))
        with open(self.log_file, 'ab') as log:
            self.process = subprocess.Popen(
                [binary, '-db', '-f', self.config_file], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, cwd=self.base_dir,
                start_new_session=True)
        self.addCleanup(self.stop)
        try:
            servers.wait_for(self._ready, self.START_TIMEOUT, 0.1,
                             'haproxy on %s' % self.url)
        except TimeoutError as e:
            raise RuntimeError('%s; log:\n%s' % (e, self.log_tail()))

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError('haproxy exited with %s; log:\n%s'
                               % (self.process.returncode, self.log_tail()))
        return servers.tcp_port_open(self.host, self.port)

    def stop(self):
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, lines=60):
        return servers._tail(self.log_file, lines)
