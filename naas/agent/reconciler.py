"""The worker of the agent's services (DHCP, L3): one base, one retry policy.

A service makes part of its host match what the server says, one object at a
time (a network's dnsmasq, a router's namespace), keyed by id.  This base
gives it:

* a worker thread of its own, so that a slow router never holds up DHCP or
  VIF wiring (and vice versa);
* a set of dirty ids: casts from the server add to it (:meth:`changed`) and
  casts that come while the worker works are merged into its next pass
  (ten casts for one router cost one more pass, not ten);
* full resyncs (:meth:`resync`; on start): every object the server gives
  this host is applied over what exists (nothing torn down and rebuilt) and
  every other object of the service on the host is removed;
* one retry policy: an object that failed (its ``sync_all``/``sync``
  returned its id) is looked at again, alone, RETRY_DELAY seconds later;
  a pass that failed as a whole (the server unreachable: the method
  raised) is followed by a full resync RETRY_DELAY seconds later.  Nothing
  is retried sooner, nothing is given up.

A subclass names its thread (``name``) and implements ``sync_all()`` and
``sync(ids)``; both return the ids that failed.
"""
import abc
import logging
import threading
import time

LOG = logging.getLogger(__name__)

#: Seconds before a failed object or pass is tried again.
RETRY_DELAY = 1.0


class Reconciler(abc.ABC):
    #: The worker thread is ``naas-agent-<name>``.
    name = None
    retry_delay = RETRY_DELAY

    def __init__(self):
        self._cond = threading.Condition()
        self._dirty = set()
        self._retry = {}          # id -> time.monotonic() when it is due
        self._full_at = None      # time.monotonic() of the next full pass
        self._stopped = False
        self._thread = None

    # ---- what a service implements ------------------------------------------

    @abc.abstractmethod
    def sync_all(self):
        """Everything the server gives this host, and nothing else; returns
        the ids that failed."""

    @abc.abstractmethod
    def sync(self, ids):
        """These ids (sorted) again; returns the ids that failed."""

    # ---- life cycle and requests ---------------------------------------------

    def start(self):
        """Start the worker with a full pass."""
        self.resync()
        self._thread = threading.Thread(target=self._work, name='naas-agent-' + self.name,
                                        daemon=True)
        self._thread.start()

    def stop(self):
        """Stop working (what was applied stays as it is)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def wait_stopped(self, timeout):
        """Wait ``timeout`` seconds; True if stopped meanwhile (for loops
        of a subclass, e.g. a heartbeat)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stopped, timeout)

    def resync(self):
        self._full_pass(time.monotonic())

    def changed(self, ids):
        with self._cond:
            self._dirty.update(ids)
            self._cond.notify_all()

    def _full_pass(self, when):
        with self._cond:
            if self._full_at is None or when < self._full_at:
                self._full_at = when
            self._cond.notify_all()

    # ---- the worker ------------------------------------------------------------

    def _next(self):
        """(full, ids) of the next pass, waiting for one; None once stopped."""
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                for i in [i for i, due in self._retry.items() if due <= now]:
                    del self._retry[i]
                    self._dirty.add(i)
                if self._full_at is not None and self._full_at <= now:
                    # A full pass covers every id.
                    self._full_at = None
                    self._dirty.clear()
                    self._retry.clear()
                    return True, ()
                if self._dirty:
                    ids, self._dirty = self._dirty, set()
                    return False, sorted(ids)
                dues = list(self._retry.values())
                if self._full_at is not None:
                    dues.append(self._full_at)
                self._cond.wait(max(0.0, min(dues) - now) if dues else None)
            return None

    def _work(self):
        while True:
            job = self._next()
            if job is None:
                return
            full, ids = job
            try:
                failed = self.sync_all() if full else self.sync(ids)
            except Exception:
                LOG.exception('%s: %s failed; full resync in %.0f s', self.name,
                              'full pass' if full else 'pass over %s' % ids,
                              self.retry_delay)
                self._full_pass(time.monotonic() + self.retry_delay)
                continue
            if failed:
                LOG.warning('%s: %s failed; retrying in %.0f s', self.name, sorted(failed),
                            self.retry_delay)
                due = time.monotonic() + self.retry_delay
                with self._cond:
                    for i in failed:
                        self._retry[i] = due
                    self._cond.notify_all()
