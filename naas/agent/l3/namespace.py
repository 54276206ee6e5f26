"""A router namespace's links, addresses, routes and conntrack, by netlink.

Each function compares what the namespace has (one dump) with what the
router wants (naas.agent.l3.router) and applies only the differences.
"""
import errno
import ipaddress
import logging

from naas.agent.l3 import router
from naas.host import netns

LOG = logging.getLogger(__name__)

IFA_F_NODAD = 0x02
RTPROT_STATIC = 4
RT_TABLE_MAIN = 254

#: A router namespace's sysctls: forwarding on, no DAD, RA or ICMP redirects.
SYSCTLS = ('net.ipv4.ip_forward=1',
           'net.ipv6.conf.all.forwarding=1',
           'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
           'net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0',
           'net.ipv4.conf.all.send_redirects=0',
           'net.ipv4.conf.default.send_redirects=0',
           # Answer ARP only for addresses of the interface asked on.
           'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2')


#: An HA router's namespace also makes no IPv6 link-local addresses itself
#: (keepalived adds them on the master), so that a backup never sends a
#: frame from the MACs it shares with the master.
HA_SYSCTLS = ('net.ipv6.conf.all.addr_gen_mode=1', 'net.ipv6.conf.default.addr_gen_mode=1')


def create(ns, ha=False):
    """The namespace with the router's sysctls."""
    netns.create(ns)
    netns.execute(ns, ['sysctl', '-qw'] + list(SYSCTLS) + list(HA_SYSCTLS if ha else ()),
                  check=False)


def set_addresses(h, links, wanted, keep=()):
    """Make the addresses of ``links`` ({ifname: Link}) those of ``wanted``
    ({ifname: {(address, prefixlen)}}), leaving those of ``keep`` (others'
    addresses: keepalived's); returns [(ifname, mac, address)] of the IPv4
    addresses added."""
    added = []
    by_index = {lk.index: name for name, lk in links.items()}
    current = {name: set() for name in links}
    for m in h.call(lambda ipr: list(ipr.addr('dump'))):
        name = by_index.get(m['index'])
        address = m.get('IFA_ADDRESS')
        if name is None or not address:
            continue
        if ipaddress.ip_address(address).is_link_local:
            continue
        if (router.norm(address), m['prefixlen']) not in keep:
            current[name].add((router.norm(address), m['prefixlen']))
    for name, lk in links.items():
        want = wanted.get(name, set())
        for address, plen in sorted(current[name] - want):
            h.addr('del', index=lk.index, address=address, prefixlen=plen)
        for address, plen in sorted(want - current[name]):
            extra = {'flags': IFA_F_NODAD} if ':' in address else {}
            try:
                h.addr('add', index=lk.index, address=address, prefixlen=plen, **extra)
            except Exception as exc:
                if getattr(exc, 'code', None) != errno.EEXIST:
                    raise
            if ':' not in address and lk.address:
                added.append((name, lk.address, address))
    return added


def set_routes(h, wanted):
    """Make the static routes of the main table ``wanted`` ({(cidr, nexthop)}):
    the agent owns exactly those."""
    def dump(ipr):
        out = {}
        for m in ipr.route('dump'):
            if m['proto'] != RTPROT_STATIC or m.get('RTA_TABLE', m['table']) != RT_TABLE_MAIN:
                continue
            dst = m.get('RTA_DST')
            if dst is None:
                dst = '::' if m['family'] == 10 else '0.0.0.0'
            cidr = '%s/%d' % (dst, m['dst_len'])
            out[(str(ipaddress.ip_network(cidr, strict=False)),
                 router.norm(m.get('RTA_GATEWAY')) if m.get('RTA_GATEWAY') else None)] = m
        return out
    current = h.call(dump)
    for dst, gateway in sorted(set(current) - wanted, key=str):
        try:
            h.route('del', dst=dst, gateway=gateway, proto=RTPROT_STATIC)
        except Exception as exc:
            if getattr(exc, 'code', None) not in (errno.ESRCH, errno.ENOENT):
                raise
    for dst, gateway in sorted(wanted - set(current)):
        try:
            h.route('replace', dst=dst, gateway=gateway, proto=RTPROT_STATIC)
        except Exception as exc:
            # A nexthop not on any subnet up here (an interface down):
            # it is added when the router changes again.
            LOG.warning('route %s via %s: %s', dst, gateway, exc)


def flush_conntrack(ns, mappings):
    """Delete the conntrack entries of floating IPs that moved or went."""
    def flush(ipr):
        from pyroute2 import Conntrack
        from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple
        n = 0
        ct = Conntrack()
        try:
            for fip, fixed in mappings.items():
                for t in (NFCTAttrTuple(daddr=fip), NFCTAttrTuple(saddr=fixed)):
                    for entry in list(ct.dump_entries(tuple_orig=t)):
                        try:
                            ct.delete(entry)
                            n += 1
                        except Exception:
                            pass
        finally:
            ct.close()
        return n
    try:
        with netns.handle(ns) as h:
            n = h.call(flush)
        LOG.info('%s: %d conntrack entries of floating IPs %s deleted', ns, n,
                 sorted(mappings))
    except Exception:
        LOG.exception('%s: deleting conntrack entries of %s', ns, sorted(mappings))
