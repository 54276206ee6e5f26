"""Memory helpers."""
import contextlib
import gc
import threading
import time

#: Seconds the collector stays paused, at most, while blocks of several
#: threads overlap without a break (a server that never catches up with
#: its casts would otherwise never collect the cycles its other work makes).
MAX_PAUSE = 2.0

_lock = threading.Lock()
#: Blocks under paused_gc, in any thread; whether the collector is to be
#: enabled when the last ends, and since when it is paused.
_paused = {'depth': 0, 'enabled': False, 'since': 0.0}


@contextlib.contextmanager
def paused_gc():
    """Without the cyclic garbage collector: parsing or reading many
    counter samples makes tens or hundreds of thousands of lists and dicts
    at once (none in a cycle, all freed by their reference counts), and the
    collections they set off, each looking through all of them, had cost
    more than the parsing itself (orjson.loads of an interval's samples
    rows: 190 ms instead of 60).  The collector is back when the last
    block, of any thread, ends (a collection set off when one thread's
    batch is done would look through the batches other threads hold), or
    when a block ends after MAX_PAUSE seconds of blocks without a break.

    What the block made and still holds when it ends is looked through by
    the collections that follow (and again by the older generations'
    ones, as it survives): use ``without_gc``, whose function's locals are
    freed before the collector is back."""
    with _lock:
        if not _paused['depth']:
            _paused['enabled'] = gc.isenabled()
            _paused['since'] = time.monotonic()
            gc.disable()
        _paused['depth'] += 1
    try:
        yield
    finally:
        with _lock:
            _paused['depth'] -= 1
            if _paused['enabled'] and (
                    not _paused['depth']
                    or time.monotonic() - _paused['since'] > MAX_PAUSE):
                _paused['enabled'] = False
                gc.enable()


def without_gc(function, *args, **kwargs):
    """``function(*args, **kwargs)`` with the collector paused (paused_gc):
    the objects the call makes and drops die with its frame, before the
    collector is back, so no collection looks at them; only the result
    outlives it.  (A batch of 500 ports' samples still held when the
    collector came back had cost 1.4 ms of collections per batch, 130 ms
    an interval of 100 agents; a network's statistics read, 6 ms of 20:
    tools/bench_statistics_server.py.)"""
    with paused_gc():
        return function(*args, **kwargs)
