"""Percentiles for the benchmarks' tables."""


def percentile(values, p):
    """The ``p``-th percentile of ``values`` (0-100), interpolated linearly
    between the two nearest ranks; NaN when there are none."""
    values = sorted(values)
    if not values:
        return float('nan')
    k = (len(values) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)
