"""A port's QoS policy (naas.agent.l2.hooks.QoS) as the numbers a driver
programs, whatever the driver: the one place where the defaults live.

``qos_policy`` in port details is {'id', 'rules': [...]}; :func:`limits`
turns it into a :class:`Limits`: per direction (Neutron's: ``egress``
leaves the VM, ``ingress`` reaches it) a bandwidth limit (kbit/s and a
burst in bytes) and a packet rate limit (packets/s and a burst in packets),
and the DSCP mark of what the VM sends.

Burst: Neutron's default, 80% of the rate (kbit/s -> kbit in the bucket),
when the rule has none (max_burst_kbps 0 or absent); and never less than
one MTU-sized frame, since a bucket smaller than a frame would drop every
full-sized frame (tc tbf) or every one beyond a trickle (a policer).
"""
import collections

#: The rule types the dataplane modules know.
BANDWIDTH_LIMIT = 'bandwidth_limit'
DSCP_MARKING = 'dscp_marking'
PACKET_RATE_LIMIT = 'packet_rate_limit'
EGRESS = 'egress'
INGRESS = 'ingress'
DIRECTIONS = (EGRESS, INGRESS)

#: Default burst as a fraction of the rate (Neutron's 80%).
BURST_RATIO = 0.8
#: Ethernet header: a frame of an MTU-sized packet is this much bigger.
ETHERNET_HEADER = 14
DEFAULT_MTU = 1500
#: Valid DSCP marks (Neutron's list: the 6-bit values in use).
VALID_DSCP_MARKS = frozenset(
    (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56))

#: A bandwidth limit: rate in kbit/s (1000 bit/s), burst in bytes.
Bandwidth = collections.namedtuple('Bandwidth', 'kbps burst_bytes')
#: A packet rate limit: packets/s and a burst in packets.
PacketRate = collections.namedtuple('PacketRate', 'pps burst_packets')
#: What a policy asks of one port: {direction: Bandwidth}, {direction:
#: PacketRate} and the DSCP mark (None: none).
Limits = collections.namedtuple('Limits', 'bandwidth packet_rate dscp')

NO_LIMITS = Limits({}, {}, None)


def burst_bytes(max_kbps, max_burst_kbps=None, mtu=None):
    """The bucket of a bandwidth limit, in bytes (see the module's docstring)."""
    burst_kbit = max_burst_kbps or max_kbps * BURST_RATIO
    frame = (mtu or DEFAULT_MTU) + ETHERNET_HEADER
    return max(int(burst_kbit * 1000 / 8), frame)


def burst_packets(max_kpps, max_burst_kpps=None):
    """The bucket of a packet rate limit, in packets (at least one)."""
    return max(int((max_burst_kpps or max_kpps * BURST_RATIO) * 1000), 1)


def limits(policy, mtu=None, supported=None):
    """The Limits of ``policy`` (None: NO_LIMITS) for a port of ``mtu``.

    Raises ValueError for a rule that is malformed, of a type not in
    ``supported`` (None: every type above), or that repeats a type and
    direction."""
    if not policy:
        return NO_LIMITS
    bandwidth, packet_rate, dscp = {}, {}, None
    for rule in policy.get('rules') or ():
        kind = rule.get('type')
        if supported is not None and kind not in supported:
            raise ValueError('QoS rule type %s is not supported here' % kind)
        if kind == DSCP_MARKING:
            mark = rule.get('dscp_mark')
            if mark not in VALID_DSCP_MARKS:
                raise ValueError('invalid DSCP mark %r' % (mark,))
            if dscp is not None:
                raise ValueError('more than one dscp_marking rule')
            dscp = mark
            continue
        direction = rule.get('direction') or EGRESS
        if direction not in DIRECTIONS:
            raise ValueError('invalid QoS direction %r' % (direction,))
        if kind == BANDWIDTH_LIMIT:
            target, rate = bandwidth, rule.get('max_kbps')
        elif kind == PACKET_RATE_LIMIT:
            target, rate = packet_rate, rule.get('max_kpps')
        else:
            raise ValueError('unknown QoS rule type %r' % (kind,))
        if not isinstance(rate, int) or rate <= 0:
            raise ValueError('%s rule: the rate must be a positive integer, not %r'
                             % (kind, rate))
        if direction in target:
            raise ValueError('more than one %s rule for %s' % (kind, direction))
        if kind == BANDWIDTH_LIMIT:
            target[direction] = Bandwidth(rate, burst_bytes(
                rate, rule.get('max_burst_kbps'), mtu))
        else:
            target[direction] = PacketRate(rate * 1000, burst_packets(
                rate, rule.get('max_burst_kpps')))
    return Limits(bandwidth, packet_rate, dscp)
