"""Netlink in one network namespace: one handle, one thread, fast dumps.

``IPHandle(namespace)`` is what the Linux bridge driver, the VIF library
(naas.host.vif), the namespace helpers (naas.host.netns) and naas-cleanup
use to work on the links of a namespace from a process that stays in its own
namespace (naas-agent runs in the root namespace and works on the host
namespace named by ``[agent] namespace``; ``None`` is the caller's own).

Why it looks like this (pyroute2 0.9):

* The handle's worker thread enters the namespace (setns(2) changes the
  network namespace of the calling thread only) and opens its sockets
  there: no helper process per socket as ``pyroute2.netns`` forks, so a
  handle costs well under a millisecond to open.  Sockets keep a namespace
  alive after ``ip netns delete``: close handles you no longer need.
* pyroute2's synchronous ``IPRoute`` keeps its event loop and socket in
  thread-local storage: used from a second thread it silently opens a second
  socket and leaks it.  So every call runs on the one worker thread that
  the handle owns; ``call`` hands work to it and waits.  A handle may be
  shared by any number of threads; calls are serialised.
* pyroute2 decodes every attribute of every message: a link dump of 200
  interfaces costs ~110 ms, too much for a scan every 200 ms.  ``links()``
  and ``fdb_remotes()`` therefore read RTM_NEWLINK / RTM_NEWNEIGH dumps from
  a raw netlink socket and decode only the few attributes NaaS looks at
  (~100x faster); changes (add, set, del, fdb) go through pyroute2.
"""
import collections
import concurrent.futures
import errno
import os
import socket
import struct
import threading

# ---- netlink constants (linux/netlink.h, linux/rtnetlink.h, if_link.h) ----
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLM_F_DUMP_INTR = 0x10
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWNEIGH = 28
RTM_GETNEIGH = 30
AF_BRIDGE = 7
IFF_UP = 0x1

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINK = 5
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_EXT_MASK = 29
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_VXLAN_ID = 1
IFLA_VXLAN_LINK = 3
IFLA_VXLAN_LOCAL = 4
IFLA_VXLAN_LEARNING = 7
IFLA_VXLAN_PORT = 15
IFLA_VXLAN_LOCAL6 = 17
IFLA_VLAN_ID = 1
RTEXT_FILTER_SKIP_STATS = 1 << 3

NDA_DST = 1
NDA_LLADDR = 2
NDA_MASTER = 9

ZERO_MAC = '00:00:00:00:00:00'

_NLMSGHDR = struct.Struct('=IHHII')      # len, type, flags, seq, pid
_IFINFOMSG = struct.Struct('=BxHiII')    # family, type, index, flags, change
_NDMSG = struct.Struct('=BxxxiHBB')      # family, ifindex, state, flags, type
_RTATTR = struct.Struct('=HH')
_U32 = struct.Struct('=I')
_BE16 = struct.Struct('>H')

#: What NaaS reads of a link.  ``vxlan`` is a VxlanInfo for VXLAN devices,
#: ``vlan_id`` the VLAN id of VLAN devices, ``parent`` IFLA_LINK.
Link = collections.namedtuple(
    'Link', 'index name kind master mtu up alias address vxlan vlan_id parent')
VxlanInfo = collections.namedtuple('VxlanInfo', 'vni local port link learning')


class NetlinkError(OSError):
    pass


def _align(n):
    return (n + 3) & ~3


def _attrs(data, offset, end):
    """{type: (start, stop)} of the attributes in data[offset:end]."""
    out = {}
    while offset + 4 <= end:
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < 4:
            break
        out[kind & 0x3fff] = (offset + 4, offset + length)
        offset += _align(length)
    return out


def _str(data, span):
    return bytes(data[span[0]:span[1]]).split(b'\0', 1)[0].decode('utf-8', 'replace')


def _u32(data, span):
    return _U32.unpack_from(data, span[0])[0]


def _mac(data, span):
    return ':'.join('%02x' % b for b in data[span[0]:span[1]])


def _ip(data, span):
    raw = bytes(data[span[0]:span[1]])
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def parse_link(data, offset, end):
    """A Link from one RTM_NEWLINK message body (after the nlmsghdr)."""
    _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(data, offset)
    a = _attrs(data, offset + _IFINFOMSG.size, end)
    kind = vxlan = vlan_id = None
    if IFLA_LINKINFO in a:
        li = _attrs(data, *a[IFLA_LINKINFO])
        if IFLA_INFO_KIND in li:
            kind = _str(data, li[IFLA_INFO_KIND])
        if IFLA_INFO_DATA in li:
            info = _attrs(data, *li[IFLA_INFO_DATA])
            if kind == 'vxlan':
                local = info.get(IFLA_VXLAN_LOCAL) or info.get(IFLA_VXLAN_LOCAL6)
                vxlan = VxlanInfo(
                    vni=_u32(data, info[IFLA_VXLAN_ID]) if IFLA_VXLAN_ID in info else None,
                    local=_ip(data, local) if local else None,
                    port=(_BE16.unpack_from(data, info[IFLA_VXLAN_PORT][0])[0]
                          if IFLA_VXLAN_PORT in info else None),
                    link=_u32(data, info[IFLA_VXLAN_LINK]) if IFLA_VXLAN_LINK in info else 0,
                    learning=(data[info[IFLA_VXLAN_LEARNING][0]]
                              if IFLA_VXLAN_LEARNING in info else None))
            elif kind == 'vlan' and IFLA_VLAN_ID in info:
                vlan_id = struct.unpack_from('=H', data, info[IFLA_VLAN_ID][0])[0]
    return Link(
        index=index,
        name=_str(data, a[IFLA_IFNAME]) if IFLA_IFNAME in a else '',
        kind=kind,
        master=_u32(data, a[IFLA_MASTER]) if IFLA_MASTER in a else 0,
        mtu=_u32(data, a[IFLA_MTU]) if IFLA_MTU in a else None,
        up=bool(flags & IFF_UP),
        alias=_str(data, a[IFLA_IFALIAS]) if IFLA_IFALIAS in a else None,
        address=_mac(data, a[IFLA_ADDRESS]) if IFLA_ADDRESS in a else None,
        vxlan=vxlan, vlan_id=vlan_id,
        parent=_u32(data, a[IFLA_LINK]) if IFLA_LINK in a else 0)


def parse_fdb(data, offset, end):
    """(ifindex, lladdr, dst, master) of one RTM_NEWNEIGH (AF_BRIDGE) body."""
    _family, ifindex, _state, _flags, _type = _NDMSG.unpack_from(data, offset)
    a = _attrs(data, offset + _NDMSG.size, end)
    return (ifindex,
            _mac(data, a[NDA_LLADDR]) if NDA_LLADDR in a else None,
            _ip(data, a[NDA_DST]) if NDA_DST in a else None,
            _u32(data, a[NDA_MASTER]) if NDA_MASTER in a else 0)


def _rtattr(kind, payload):
    return _RTATTR.pack(4 + len(payload), kind) + payload + b'\0' * (
        _align(4 + len(payload)) - 4 - len(payload))


class _RawRoute:
    """Requests on a raw NETLINK_ROUTE socket; one thread at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(30)
        self.sock.bind((0, 0))
        try:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        except OSError:
            pass
        self.seq = 0

    def close(self):
        self.sock.close()

    def request(self, msg_type, flags, payload):
        """Send one request; yield (type, data, start, end) of each answer."""
        self.seq += 1
        seq = self.seq
        self.sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(payload), msg_type,
                                      flags, seq, 0) + payload)
        interrupted = False
        while True:
            data = self.sock.recv(1 << 16)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, mflags, mseq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    raise NetlinkError(errno.EIO, 'bad netlink message')
                start, end = offset + _NLMSGHDR.size, offset + length
                offset += _align(length)
                if mseq != seq:
                    continue            # a late answer to an abandoned request
                if mflags & NLM_F_DUMP_INTR:
                    interrupted = True
                if kind == NLMSG_DONE:
                    if interrupted:
                        raise InterruptedError('netlink dump interrupted')
                    return
                if kind == NLMSG_ERROR:
                    code = struct.unpack_from('=i', data, start)[0]
                    if code:
                        raise NetlinkError(-code, os.strerror(-code))
                    return
                yield kind, data, start, end
                if not flags & NLM_F_DUMP:
                    return

    def dump(self, msg_type, payload):
        for _attempt in range(5):
            try:
                return list(self.request(msg_type, NLM_F_REQUEST | NLM_F_DUMP, payload))
            except InterruptedError:
                continue
        return list(self.request(msg_type, NLM_F_REQUEST | NLM_F_DUMP, payload))

    def links(self):
        payload = _IFINFOMSG.pack(0, 0, 0, 0, 0) + _rtattr(
            IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS))
        return [parse_link(d, s, e) for k, d, s, e in self.dump(RTM_GETLINK, payload)
                if k == RTM_NEWLINK]

    def link(self, name):
        payload = (_IFINFOMSG.pack(0, 0, 0, 0, 0)
                   + _rtattr(IFLA_IFNAME, name.encode() + b'\0')
                   + _rtattr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS)))
        try:
            for k, d, s, e in self.request(RTM_GETLINK, NLM_F_REQUEST, payload):
                if k == RTM_NEWLINK:
                    return parse_link(d, s, e)
        except NetlinkError as exc:
            if exc.errno == errno.ENODEV:
                return None
            raise
        return None

    def fdb(self, ifindex):
        """The forwarding entries of one bridge port / VXLAN device."""
        payload = _NDMSG.pack(AF_BRIDGE, ifindex, 0, 0, 0)
        return [parse_fdb(d, s, e) for k, d, s, e in self.dump(RTM_GETNEIGH, payload)
                if k == RTM_NEWNEIGH]


NETNS_DIR = '/run/netns'
#: IFLA_INET6_ADDR_GEN_MODE value: no IPv6 address is generated.
ADDR_GEN_MODE_NONE = 1
CLONE_NEWNET = 0x40000000
_libc = None


def enter_namespace(name, create=False):
    """Move the calling thread (only) into network namespace ``name``."""
    global _libc
    path = name if name.startswith('/') else os.path.join(NETNS_DIR, name)
    if not os.path.exists(path):
        if not create:
            raise NetlinkError(errno.ENOENT, 'no network namespace %s' % name)
        from pyroute2 import netns as pr_netns
        pr_netns.create(name)
    if _libc is None:
        import ctypes
        _libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            import ctypes
            code = ctypes.get_errno()
            raise NetlinkError(code, 'setns %s: %s' % (name, os.strerror(code)))
    finally:
        os.close(fd)


class IPHandle:
    """Netlink on one namespace (``None``: the caller's), from any thread.

    ``create=True`` creates the namespace if it is missing; otherwise a
    missing namespace is an error (an agent must not invent its host).
    """

    def __init__(self, namespace=None, create=False):
        self.namespace = namespace
        self._flags = os.O_CREAT if create else 0
        self._ipr = None
        self._raw = None
        self._closed = False
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix='naas-netlink-%s' % (namespace or 'self'))
        self._tid = None
        try:
            self._pool.submit(self._open).result()
        except BaseException:
            self._closed = True
            self._pool.shutdown(wait=False)
            raise

    def _open(self, ipr=None):
        from pyroute2 import IPRoute
        self._tid = threading.get_ident()
        if self.namespace is not None:
            enter_namespace(self.namespace, create=bool(self._flags))
        self._raw = _RawRoute(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                            NETLINK_ROUTE))
        self._ipr = IPRoute()

    def call(self, fn, *args, **kwargs):
        """Run ``fn(ipr, *args, **kwargs)`` on the handle's thread, where
        ``ipr`` is its pyroute2 IPRoute; return what it returns."""
        if self._closed:
            raise NetlinkError(errno.EBADF, 'netlink handle closed')
        if threading.get_ident() == self._tid:
            return fn(self._ipr, *args, **kwargs)
        return self._pool.submit(lambda: fn(self._ipr, *args, **kwargs)).result()

    def close(self):
        if self._closed:
            return

        def _close(ipr):
            if self._raw is not None:
                self._raw.close()
            if ipr is not None:
                ipr.close()
        try:
            self.call(_close)
        finally:
            self._closed = True
            self._pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- reads (raw netlink) ----------------------------------------------

    def links(self):
        """Every link of the namespace, as Link tuples: one dump."""
        return self.call(lambda ipr: self._raw.links())

    def link(self, name):
        """The Link called ``name``, or None."""
        return self.call(lambda ipr: self._raw.link(name))

    def fdb(self, ifindex):
        """[(ifindex, lladdr, dst, master)] of the device's bridge/VXLAN FDB."""
        return self.call(lambda ipr: self._raw.fdb(ifindex))

    def fdb_remotes(self, ifindex):
        """Remote IPs of the all-zeros (flooding) entries of a VXLAN device."""
        return {dst for i, mac, dst, master in self.fdb(ifindex)
                if i == ifindex and mac == ZERO_MAC and dst and not master}

    # ---- changes (pyroute2) -----------------------------------------------

    def add_link(self, name, kind, ipv6_addresses=True, **kwargs):
        """Create a link (down) and return its Link.  ``ipv6_addresses``
        False: see no_ipv6_addresses, done before the link can come up."""
        def _add(ipr):
            ipr.link('add', ifname=name, kind=kind, **kwargs)
            return self._raw.link(name)
        link = self.call(_add)
        if not ipv6_addresses:
            self.no_ipv6_addresses(link.index)
        return link

    def no_ipv6_addresses(self, index):
        """The host's IPv6 stack gives this link no address, not even a
        link-local one (address generation mode "none"), so the host sends
        nothing of its own (DAD, router solicitations, MLD reports) into the
        tenant network the link belongs to; frames are still bridged.  For
        the devices of a network's bridge and the host end of a VIF, as
        Neutron disables IPv6 on its bridges.  Set it while the link is down:
        an address made before stays."""
        spec = {'attrs': [('AF_INET6', {'attrs': [('IFLA_INET6_ADDR_GEN_MODE',
                                                   ADDR_GEN_MODE_NONE)]})]}
        self.call(lambda ipr: ipr.link('set', index=index, IFLA_AF_SPEC=spec))

    def set_link(self, index, **kwargs):
        """pyroute2 ``link('set')``: mtu, master (0: none), state ('up',
        'down'), ifalias, address, ifname, net_ns_fd...; one message."""
        self.call(lambda ipr: ipr.link('set', index=index, **kwargs))

    def del_link(self, index, missing_ok=True):
        def _del(ipr):
            try:
                ipr.link('del', index=index)
            except Exception as exc:
                if not (missing_ok and getattr(exc, 'code', None) == errno.ENODEV):
                    raise
        self.call(_del)

    def fdb_append(self, ifindex, dst, lladdr=ZERO_MAC):
        self.call(lambda ipr: ipr.fdb('append', ifindex=ifindex, lladdr=lladdr, dst=dst))

    def fdb_del(self, ifindex, dst, lladdr=ZERO_MAC):
        def _del(ipr):
            try:
                ipr.fdb('del', ifindex=ifindex, lladdr=lladdr, dst=dst)
            except Exception as exc:
                if getattr(exc, 'code', None) not in (errno.ENOENT, errno.ENODEV):
                    raise
        self.call(_del)

    def addr(self, command, **kwargs):
        return self.call(lambda ipr: ipr.addr(command, **kwargs))

    def route(self, command, **kwargs):
        return self.call(lambda ipr: ipr.route(command, **kwargs))
