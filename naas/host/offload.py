"""Interface offloads, set in-process (no ethtool binary, no helper process).

Userspace Open vSwitch (the netdev datapath) passes on the partial checksums
that the kernel leaves on a veth's packets, so TCP and UDP would arrive with
bad checksums: every veth end that sends into a netdev bridge has TX checksum
offload turned off (``ethtool -K IFNAME tx off``).
"""
import ctypes
import fcntl
import socket
import struct

from naas.host import netns

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def _tx_checksum_off(ifnames):
    """In the calling thread's namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for ifname in ifnames:
            value = ctypes.create_string_buffer(struct.pack('II', ETHTOOL_STXCSUM, 0))
            ifr = struct.pack('16sP', ifname.encode(), ctypes.addressof(value))
            fcntl.ioctl(s, SIOCETHTOOL, ifr)


def disable_tx_checksum(namespace, *ifnames):
    """``ethtool -K IFNAME tx off`` for ``ifnames`` in ``namespace`` (None:
    this process's own), from the netlink handle's thread that lives there."""
    if not ifnames:
        return
    with netns.handle(namespace) as h:
        h.call(lambda ipr: _tx_checksum_off(ifnames))
