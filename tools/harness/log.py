"""The one progress log of the tools: a time-stamped line on stderr.

stdout stays free for what a script reports (the benchmarks' Markdown
tables), so ``script > table.md`` keeps the progress on the terminal.
"""
import sys
import time


def log(msg, *args):
    """``[HH:MM:SS] msg % args`` on stderr, flushed at once."""
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg % args if args else msg),
          file=sys.stderr, flush=True)
