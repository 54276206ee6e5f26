"""Memory helpers."""
import contextlib
import gc


@contextlib.contextmanager
def paused_gc():
    """Without the cyclic garbage collector: parsing or reading many
    counter samples makes tens or hundreds of thousands of lists and dicts
    at once (none in a cycle, all freed by their reference counts), and the
    collections they set off, each looking through all of them, had cost
    more than the parsing itself (orjson.loads of an interval's samples
    rows: 190 ms instead of 60).  Nested uses keep it paused until the
    outermost ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
