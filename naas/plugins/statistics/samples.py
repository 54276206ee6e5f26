"""The text of a samples row (port_statistics_samples.samples), in columns.

A row holds the latest samples of one host's ports of one network (a JSON
list; port_statistics.py tells what a row is for)::

    [[port_id], [vif], [collected_at],
     [[COUNTERS[0] of each port], ..., [COUNTERS[7] of each port]],
     [[RATES[0] of each port], ..., [RATES[3] of each port]],
     [[ip_address, ...] of each port],
     [[ADDRESS_COUNTERS[0] of each address], ..., [ADDRESS_COUNTERS[3] ...]]]

ports sorted by id, each port's addresses sorted, the address columns in
that order.  The columns are those of the agents' groups (RPC 1.4,
naas.rpc.statistics_api.grouped) plus each port's time and rates.

Why columns: in the usual interval an agent's group names exactly the
ports of the row, with the same VIFs and addresses, every counter grew,
and the row's samples are all older.  ``steady`` checks that and
``advanced`` makes the new row with a few calls per column (the loops run
in C over the lists) instead of a Python loop per port (10-20% of the
server's CPU of an interval, tools/bench_statistics_server.py).  Every
other case (a port new, gone, moved, re-plugged, reset, an address
changed, a late batch) is the per-port rule of port_statistics._apply, on
``entries`` and back through ``from_entries``; ``advanced`` gives what the
rule gives (tests/unit/test_statistics.py compares both).

An entry (the per-port view, also what the reads use)::

    (vif, collected_at, (raw COUNTERS), (RATES), {ip_address: (ADDRESS_COUNTERS)})
"""
import itertools
import operator

import orjson

from naas.lib.definitions import port_statistics as definition
from naas.rpc import statistics_api

COUNTERS = definition.COUNTERS
ADDRESS_COUNTERS = definition.ADDRESS_COUNTERS
RATES = definition.RATES

#: The fields of a row.
IDS, VIFS, TIMES, RAW, RATE, IPS, ADDRESS_RAW = range(7)
#: The fields of an agent's group (naas.rpc.statistics_api).
G_NETWORK, G_IDS, G_VIFS, G_RAW, G_IPS, G_ADDRESS_RAW = range(6)

#: Where each rate's counter is in RAW.
RATE_INDEXES = [COUNTERS.index(rate[:-len('_rate')]) for rate in RATES]

columns = statistics_api.columns


def parse(text):
    """The row of a samples row's text (None for an empty text)."""
    return orjson.loads(text) if text else None


def dumps(row):
    return orjson.dumps(row).decode()


def steady(row, group, collected_at):
    """Whether ``group`` (the same network's, from the row's host) names
    the row's ports with their VIFs and addresses, every counter at least
    the stored one, every stored sample older than ``collected_at``."""
    return all_steady([row], [group], collected_at)


def all_steady(rows, groups, collected_at):
    """``steady`` of every (row, group) pair at once (an agent's whole
    batch, the usual interval: a few calls a batch instead of a few a
    group).  (The counters are compared all columns of all pairs in one
    pass: the same ports and addresses make columns of the same
    lengths.)"""
    at_least, chain = operator.ge, itertools.chain.from_iterable
    if ([row[IDS] for row in rows] != [group[G_IDS] for group in groups]
            or [row[VIFS] for row in rows] != [group[G_VIFS] for group in groups]
            or [row[IPS] for row in rows] != [group[G_IPS] for group in groups]
            or max(map(max, [row[TIMES] for row in rows])) >= collected_at):
        return False
    return (all(map(at_least, chain(chain([group[G_RAW] for group in groups])),
                    chain(chain([row[RAW] for row in rows]))))
            and all(map(at_least, chain(chain([group[G_ADDRESS_RAW] for group in groups])),
                        chain(chain([row[ADDRESS_RAW] for row in rows])))))


def advanced(row, group, collected_at):
    """The row after a ``steady`` group: its samples, rates over each
    port's last interval."""
    times, old_raw, raw = row[TIMES], row[RAW], group[G_RAW]
    if times.count(times[0]) == len(times):
        intervals = itertools.repeat(collected_at - times[0])
    else:
        intervals = list(map(operator.sub, itertools.repeat(collected_at, len(times)), times))
    rates = [list(map(operator.truediv, map(operator.sub, raw[i], old_raw[i]), intervals))
             for i in RATE_INDEXES]
    return [group[G_IDS], group[G_VIFS], [collected_at] * len(times), raw, rates,
            group[G_IPS], group[G_ADDRESS_RAW]]


def _addresses(ips, address_raw):
    """Per port, {ip_address: (ADDRESS_COUNTERS)}."""
    values = zip(*address_raw)
    # (zip stops at the port's last address before it takes a value more.)
    return [dict(zip(port_ips, values)) if port_ips else {} for port_ips in ips]


def entries(row):
    """{port_id: entry} of a row (None: {})."""
    if not row:
        return {}
    return dict(zip(row[IDS], zip(row[VIFS], row[TIMES], zip(*row[RAW]), zip(*row[RATE]),
                                  _addresses(row[IPS], row[ADDRESS_RAW]))))


def from_entries(port_entries):
    """The row of {port_id: entry}."""
    ids = sorted(port_entries)
    values = [port_entries[port_id] for port_id in ids]
    ips = [sorted(entry[4]) for entry in values]
    address_values = [entry[4][ip] for entry, port_ips in zip(values, ips) for ip in port_ips]
    return [ids, [entry[0] for entry in values], [entry[1] for entry in values],
            columns([entry[2] for entry in values], len(COUNTERS)),
            columns([entry[3] for entry in values], len(RATES)), ips,
            columns(address_values, len(ADDRESS_COUNTERS))]


def group_samples(group):
    """{port_id: (port_id, network_id, vif, raw, {ip_address: values})} of
    a group: its ports for the per-port rule."""
    network_id, ids = group[G_NETWORK], group[G_IDS]
    return {port_id: (port_id, network_id, vif, raw, addresses)
            for port_id, vif, raw, addresses in zip(
                ids, group[G_VIFS], zip(*group[G_RAW]),
                _addresses(group[G_IPS], group[G_ADDRESS_RAW]))}
