"""IPv6 router advertisements of the routers' internal interfaces."""
import logging
import os
import select
import socket
import struct
import threading
import time

from naas.host import ip_lib

LOG = logging.getLogger(__name__)

ICMPV6_RS = 133
ICMPV6_RA = 134
RA_INTERVAL = 10.0
RA_LIFETIME = 1800
ALL_NODES = 'ff02::1'


def ra_packet(mac, mtu=None, lifetime=RA_LIFETIME):
    """An ICMPv6 router advertisement (the kernel fills the checksum): this
    router as a default router, its MAC (source link-layer address) and the
    link MTU; no prefix information (the addresses come from the DHCP
    agent's advertisements or DHCPv6, or are static)."""
    hw = bytes.fromhex(mac.replace(':', ''))
    pkt = struct.pack('!BBHBBHII', ICMPV6_RA, 0, 0, 64, 0, lifetime, 0, 0)
    pkt += struct.pack('!BB', 1, 1) + hw
    if mtu:
        pkt += struct.pack('!BBHI', 5, 1, 0, mtu)
    return pkt


class RouterAdvertiser:
    """IPv6 router advertisements of the routers' internal interfaces that
    have IPv6 addresses: every RA_INTERVAL seconds, at once when an
    interface is added, and in answer to router solicitations; one raw
    ICMPv6 socket per router namespace, one thread for all of them.
    Advertisements stop with the agent; the VMs keep their default route
    for RA_LIFETIME seconds, so a restart does not cut IPv6 traffic."""

    def __init__(self, interval=RA_INTERVAL):
        self.interval = interval
        self._lock = threading.Lock()
        self._socks = {}     # namespace -> socket
        self._ifaces = {}    # namespace -> {ifindex: (mac, mtu)}
        self._due = {}       # namespace -> time.monotonic() of the next round
        self._wake_r, self._wake_w = os.pipe()
        self._thread = None
        self._stopped = False

    def _start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name='naas-agent-ra',
                                            daemon=True)
            self._thread.start()

    def _wake(self):
        try:
            os.write(self._wake_w, b'x')
        except OSError:
            pass

    @staticmethod
    def _open(ns):
        """A raw ICMPv6 socket in ``ns`` (made by a thread that enters it)."""
        out = {}

        def make():
            try:
                ip_lib.enter_namespace(ns)
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                # ICMP6_FILTER: block everything but router solicitations.
                blocked = [0xffffffff] * 8
                blocked[ICMPV6_RS >> 5] &= ~(1 << (ICMPV6_RS & 31))
                s.setsockopt(socket.IPPROTO_ICMPV6, 1, struct.pack('8I', *blocked))
                s.setblocking(False)
                out['sock'] = s
            except Exception as exc:
                out['error'] = exc
        t = threading.Thread(target=make, daemon=True)
        t.start()
        t.join()
        if 'error' in out:
            raise out['error']
        return out['sock']

    def set(self, ns, interfaces):
        """``interfaces``: {ifindex: (mac, mtu)} that advertise in ``ns``
        (empty: none)."""
        with self._lock:
            if not interfaces:
                self._close(ns)
                return
            if ns not in self._socks:
                self._socks[ns] = self._open(ns)
            new = set(interfaces) - set(self._ifaces.get(ns, {}))
            self._ifaces[ns] = dict(interfaces)
            if new or ns not in self._due:
                self._due[ns] = 0
            self._start()
        self._wake()

    def remove(self, ns):
        with self._lock:
            self._close(ns)
        self._wake()

    def _close(self, ns):
        s = self._socks.pop(ns, None)
        self._ifaces.pop(ns, None)
        self._due.pop(ns, None)
        if s is not None:
            s.close()

    def stop(self):
        with self._lock:
            self._stopped = True
            for ns in list(self._socks):
                self._close(ns)
        self._wake()

    def _send(self, s, ifindex, mac, mtu, dst=ALL_NODES):
        info = socket.inet_pton(socket.AF_INET6, '::') + struct.pack('I', ifindex)
        try:
            s.sendmsg([ra_packet(mac, mtu)],
                      [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)], 0,
                      (dst, 0, 0, ifindex))
        except (OSError, TypeError, ValueError) as exc:
            LOG.debug('RA on ifindex %s: %s', ifindex, exc)

    def _run(self):
        while True:
            try:
                if self._round():
                    return
            except Exception:
                LOG.exception('router advertisements')
                time.sleep(1)

    def _round(self):
        """One wait: send what is due, answer solicitations; True once
        stopped."""
        with self._lock:
            if self._stopped:
                return True
            now = time.monotonic()
            for ns, due in list(self._due.items()):
                if due <= now:
                    for ifindex, (mac, mtu) in self._ifaces[ns].items():
                        self._send(self._socks[ns], ifindex, mac, mtu)
                    self._due[ns] = now + self.interval
            socks = dict((s, ns) for ns, s in self._socks.items())
            timeout = max(0.0, min(self._due.values(), default=now + 60) - now)
        try:
            readable, _, _ = select.select(list(socks) + [self._wake_r], [], [], timeout)
        except (OSError, ValueError):
            return False    # a socket closed meanwhile
        for r in readable:
            if r == self._wake_r:
                os.read(self._wake_r, 4096)
                continue
            try:
                _data, anc, _flags, _addr = r.recvmsg(1500, 64)
            except (OSError, ValueError):
                continue
            ifindex = None
            for level, kind, value in anc:
                if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                    ifindex = struct.unpack('I', value[16:20])[0]
            with self._lock:
                ns = socks.get(r)
                entry = self._ifaces.get(ns, {}).get(ifindex)
                if entry is not None and ns in self._socks:
                    self._send(self._socks[ns], ifindex, *entry)
