"""Gratuitous ARPs of a router's new IPv4 addresses (as Neutron's L3 agent
sends with ``arping -U``)."""
import socket
import struct
import threading
import time

from naas.host import ip_lib

#: When gratuitous ARPs go out after an address is added, in seconds: the
#: L2 agent wires a new interface within a few hundred milliseconds (more on
#: a loaded host).
GARP_TIMES = (0, 0.2, 0.5, 1.0, 2.0, 4.0)


def garp_frame(mac, address):
    """A gratuitous ARP request (sender = target = ``address``), broadcast."""
    hw = bytes.fromhex(mac.replace(':', ''))
    ip = socket.inet_aton(address)
    return (b'\xff' * 6 + hw + struct.pack('!H', 0x0806)
            + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + hw + ip + b'\x00' * 6 + ip)


def send_garps(ns, items, times=GARP_TIMES):
    """Announce [(ifname, mac, IPv4 address)] of namespace ``ns`` with
    gratuitous ARPs, as Neutron's L3 agent does (arping -U): neighbours that
    knew the address at another MAC (a router interface added again, a
    floating IP that moved) update their entry at once instead of timing
    out.  In a thread of its own (it enters ``ns``); errors are ignored."""
    def run():
        try:
            ip_lib.enter_namespace(ns)
        except Exception:
            return
        socks = []
        for ifname, mac, address in items:
            try:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                s.bind((ifname, 0))
                socks.append((s, garp_frame(mac, address)))
            except OSError:
                continue
        started = time.monotonic()
        try:
            for t in times:
                delay = started + t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                for s, frame in socks:
                    try:
                        s.send(frame)
                    except OSError:
                        pass
        finally:
            for s, _ in socks:
                s.close()
    threading.Thread(target=run, name='naas-agent-garp', daemon=True).start()


ICMPV6_RS = 133
