"""Agent -> server RPC of the statistics extension: counter samples.

Each agent whose L2 driver has the PortCounters hook
(naas.agent.l2.hooks) reads the counters of its wired ports once every
[statistics] report_interval and casts them here in batches; whichever
naas-server consumes a batch stores it (naas.plugins.statistics), so the
casts are load-balanced over the servers and never fanned out.  A server
without the statistics plugin has no listener on the topic: the samples
are dropped, the agent does not care.

Version history (StatisticsAPI / StatisticsEndpoint):
    1.0 - report_statistics(host, collected_at, ports)
    1.1 - report_statistics: each port may name its ``network_id`` (the
          server then finds a steady port in its network's samples row
          without a look at the ports table)
    1.2 - report_statistics(host, collected_at, samples): the ports as
          compact rows, ``[port_id, network_id, vif, [COUNTERS],
          {ip_address: [ADDRESS_COUNTERS]}]`` (a 500-port cast: 90 kB of
          JSON instead of 1.1's 213 kB, decoded in less than half the time)
    1.3 - report_statistics(host, collected_at, packed): the compact rows
          as one string, ``pack(samples)`` (their JSON in base64): the
          server's listener decodes one string with the envelope instead of
          some 7,000 values, and the server parses the rows with orjson
          (a 500-port cast: 1.4 ms instead of 2.5)
    1.4 - report_statistics(host, collected_at, groups): the samples in
          columns, one group per network (``grouped``), packed as 1.3's
          rows are; a cast holds whole groups.  The server checks and stores
          a steady group a column at a time instead of a port at a time
          (naas.plugins.statistics.samples)
"""
import base64
import binascii
import itertools
import logging

import orjson
import oslo_messaging as messaging

from naas import rpc
from naas.common import memory
from naas.lib.definitions import port_statistics as definition

STATISTICS_TOPIC = 'naas-statistics'

LOG = logging.getLogger(__name__)

#: The counters of a compact row (1.2), in this order: the API's, which
#: the server stores (naas.plugins.statistics.port_statistics).
COUNTERS = definition.COUNTERS
ADDRESS_COUNTERS = definition.ADDRESS_COUNTERS

#: The ports of a cast, at most (unless one network's group has more: a
#: group is never split).
BATCH = 500


def expand(row, network_id=True):
    """A compact row as the port dict of 1.1 (of 1.0 without
    ``network_id``)."""
    port_id, network, vif, counters, addresses = row
    port = {'port_id': port_id, 'vif': vif, 'counters': dict(zip(COUNTERS, counters)),
            'addresses': {address: dict(zip(ADDRESS_COUNTERS, values))
                          for address, values in addresses.items()}}
    if network_id:
        port['network_id'] = network
    return port


def compact(port):
    """A port dict of 1.0 or 1.1 as a compact row (a missing counter: 0)."""
    counters = port.get('counters') or {}
    return [port['port_id'], port.get('network_id'), port.get('vif'),
            [counters.get(name) or 0 for name in COUNTERS],
            {address: [(values or {}).get(name) or 0 for name in ADDRESS_COUNTERS]
             for address, values in (port.get('addresses') or {}).items()}]


def grouped(samples):
    """Compact rows as 1.4's groups, one per network (in the order of the
    networks' first rows)::

        [network_id, [port_id], [vif],
         [[COUNTERS[0] of each port], ..., [COUNTERS[7] of each port]],
         [[ip_address, ...] of each port],
         [[ADDRESS_COUNTERS[0] of each address], ..., [ADDRESS_COUNTERS[3] ...]]]

    ports sorted by id, each port's addresses sorted and the address
    columns in that order.  A row of another shape (or with a counter that
    is not an integer) is left out, as is a second row of one port; a vif
    that is not a string becomes one."""
    by_network = {}
    for row in samples:
        try:
            port_id, network_id, vif, raw, addresses = row
            ips = sorted(addresses)
            values = [addresses[ip] for ip in ips]
            if (port_id.__class__ is not str or len(raw) != len(COUNTERS)
                    or not set(map(type, raw)) <= {int}
                    or any(len(value) != len(ADDRESS_COUNTERS)
                           or not set(map(type, value)) <= {int} for value in values)
                    or not (network_id is None or network_id.__class__ is str)):
                continue
            by_network.setdefault(network_id, {}).setdefault(port_id,
                                                             (_vif(vif), raw, ips, values))
        except (TypeError, ValueError, AttributeError):
            continue
    groups = []
    for network_id, ports in by_network.items():
        ids = sorted(ports)
        rows = [ports[port_id] for port_id in ids]
        groups.append([network_id, ids, [row[0] for row in rows],
                       columns([row[1] for row in rows], len(COUNTERS)),
                       [row[2] for row in rows],
                       columns([value for row in rows for value in row[3]],
                               len(ADDRESS_COUNTERS))])
    return groups


def _vif(vif):
    """A VIF identity as the string the server compares (None or '': '')."""
    return vif if vif.__class__ is str else str(vif) if vif else ''


def columns(values, width):
    """Rows of ``width`` values as ``width`` column lists."""
    return [list(column) for column in zip(*values)] if values else [[] for _ in range(width)]


def _int_columns(value, width, length):
    """Whether ``value`` is ``width`` lists of ``length`` ints each (a few
    calls a group, none a value in Python)."""
    return (value.__class__ is list and len(value) == width
            and set(map(type, value)) == {list} and set(map(len, value)) == {length}
            and set(map(type, itertools.chain.from_iterable(value))) <= {int})


def checked_groups(groups):
    """The groups of a 1.4 cast that have the shape of ``grouped``'s (the
    others are left out; a vif that is not a string becomes one)."""
    out = []
    for group in groups if groups.__class__ is list else ():
        try:
            network_id, ids, vifs, raw, ips, address_raw = group
            count = len(ids)
            if not (count and (network_id is None or network_id.__class__ is str)
                    and ids.__class__ is list and set(map(type, ids)) == {str}
                    and len(set(ids)) == count
                    and vifs.__class__ is list and len(vifs) == count
                    and _int_columns(raw, len(COUNTERS), count)
                    and ips.__class__ is list and len(ips) == count
                    and set(map(type, ips)) == {list}
                    and set(map(type, itertools.chain.from_iterable(ips))) <= {str}
                    and _int_columns(address_raw, len(ADDRESS_COUNTERS),
                                     sum(map(len, ips)))):
                continue
            if set(map(type, vifs)) != {str}:
                vifs = [_vif(vif) for vif in vifs]
            out.append([network_id, ids, vifs, raw, ips, address_raw])
        except (TypeError, ValueError):
            continue
    return out


def batches(groups, size):
    """``groups`` in lists of at most ``size`` ports (a larger group alone)."""
    batch, ports = [], 0
    for group in groups:
        if batch and ports + len(group[1]) > size:
            yield batch
            batch, ports = [], 0
        batch.append(group)
        ports += len(group[1])
    if batch:
        yield batch


def pack(samples):
    """Compact rows (1.3) or groups (1.4) as one string (JSON in base64: no
    character the envelope's JSON escapes)."""
    return base64.b64encode(orjson.dumps(samples)).decode('ascii')


def unpack(packed):
    """The compact rows or groups of a string of 1.3 or 1.4; ValueError if
    it is not one (not base64 of JSON, or not a list)."""
    try:
        samples = orjson.loads(base64.b64decode(packed, validate=True))
    except (TypeError, binascii.Error, orjson.JSONDecodeError) as e:
        raise ValueError('not packed samples: %s' % e) from None
    if samples.__class__ is not list:
        raise ValueError('not packed samples: a %s' % type(samples).__name__)
    return samples


class StatisticsAPI(rpc.Client):
    """Client side, used by naas-agent; capped by [upgrade_levels]
    statistics."""

    TOPIC = STATISTICS_TOPIC
    VERSION = '1.4'
    UPGRADE_LEVEL = 'statistics'

    def __init__(self, host):
        super().__init__()
        self.host = host

    def report_statistics(self, context, collected_at, samples):
        """Cast the samples of one collection in batches of about BATCH
        ports: ``collected_at`` is the agent's wall-clock time of the read
        (seconds since the epoch, a float); ``samples`` are compact rows
        (the module's docstring; naas.agent.l2.counters.sample_data).  They
        go as groups, whole ones in a cast (1.4); capped at 1.3 as rows
        packed, at 1.2 as a list, below 1.2 as the dicts of 1.1 (1.0:
        without their network_id)."""
        if self.can_send_version('1.4'):
            cctxt = self.client.prepare(version='1.4')
            for batch in batches(grouped(samples), BATCH):
                cctxt.cast(context, 'report_statistics', host=self.host,
                           collected_at=collected_at, groups=pack(batch))
            return
        for start in range(0, len(samples), BATCH):
            self._cast_rows(context, collected_at, samples[start:start + BATCH])

    def _cast_rows(self, context, collected_at, samples):
        if self.can_send_version('1.3'):
            cctxt = self.client.prepare(version='1.3')
            cctxt.cast(context, 'report_statistics', host=self.host,
                       collected_at=collected_at, packed=pack(samples))
            return
        if self.can_send_version('1.2'):
            cctxt = self.client.prepare(version='1.2')
            cctxt.cast(context, 'report_statistics', host=self.host,
                       collected_at=collected_at, samples=samples)
            return
        version = '1.1' if self.can_send_version('1.1') else '1.0'
        ports = [expand(row, network_id=version == '1.1') for row in samples]
        cctxt = self.client.prepare(version=version)
        cctxt.cast(context, 'report_statistics', host=self.host,
                   collected_at=collected_at, ports=ports)


class StatisticsEndpoint:
    """Server side, in naas-server (started by the statistics plugin's
    start_rpc_listeners); ``handler.report_statistics(host, collected_at,
    groups)`` stores a batch of groups in one transaction (the rows of
    casts older than 1.4 are grouped first)."""

    target = messaging.Target(version='1.4')

    def __init__(self, handler):
        self.handler = handler

    def report_statistics(self, context, host, collected_at, ports=None, samples=None,
                          packed=None, groups=None):
        # (The collector paused while the batch's objects live: they go
        # with the batch, and its collections would only look at them.)
        return memory.without_gc(self._report, host, collected_at, ports, samples, packed,
                                 groups)

    def _report(self, host, collected_at, ports, samples, packed, groups):
        try:
            if groups is not None:          # 1.4
                groups = checked_groups(unpack(groups))
            else:
                if packed is not None:      # 1.3
                    samples = unpack(packed)
                elif samples is None:       # an agent of 1.0 or 1.1
                    samples = [compact(port) for port in ports or ()]
                groups = grouped(samples)
        except ValueError as e:
            LOG.warning('statistics of %s ignored: %s', host, e)
            return 0
        return self.handler.report_statistics(host, collected_at, groups)
