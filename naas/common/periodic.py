"""A task the server runs every few seconds in a daemon thread: the
failover checks of the DHCP and L3 schedulers (naas.plugins.l2.dhcp,
naas.plugins.l3.scheduler).

The first run waits ``initial_delay``: after a server (re)start every agent
looks dead until its next heartbeat, so nothing is moved before agents have
had agent_down_time to report.  An exception is logged and the task runs
again at the next interval.
"""
import logging
import threading

LOG = logging.getLogger(__name__)


class Periodic:

    def __init__(self, name, func, interval, initial_delay):
        self.name = name
        self.func = func
        self.interval = interval
        self.initial_delay = initial_delay
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    # stop() and wait(): what the plugins' RPC servers have, so that
    # start_rpc_listeners can return it among them.
    def stop(self):
        self._stop.set()

    def wait(self):
        if self._thread is not None:
            self._thread.join(10)

    def _run(self):
        if self._stop.wait(self.initial_delay):
            return
        while True:
            try:
                self.func()
            except Exception:
                LOG.exception('%s failed; next run in %.1f s', self.name, self.interval)
            if self._stop.wait(self.interval):
                return
