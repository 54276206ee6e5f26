"""The raw netlink decoding of naas.host.ip_lib, on hand-built messages
(no socket, no root), and naas-cleanup's rule for what is NaaS's."""
import socket
import struct

from unittest import mock

import testtools

from naas.cmd import cleanup
from naas.host import ip_lib
from naas.host import vif

PORT = 'c883e64a-a2bb-499e-8558-11d52a355d57'


def rta(kind, payload, nested=False):
    return ip_lib._rtattr(kind | (0x8000 if nested else 0), payload)


def s(text):
    return text.encode() + b'\0'


def u32(value):
    return struct.pack('=I', value)


def newlink(index, flags, *attrs):
    body = ip_lib._IFINFOMSG.pack(0, 1, index, flags, 0) + b''.join(attrs)
    return ip_lib._NLMSGHDR.pack(16 + len(body), ip_lib.RTM_NEWLINK, 2, 1, 0) + body


class TestParseLink(testtools.TestCase):
    def parse(self, msg):
        return ip_lib.parse_link(msg, ip_lib._NLMSGHDR.size, len(msg))

    def test_vif(self):
        lk = self.parse(newlink(
            7, ip_lib.IFF_UP | 0x1000,
            rta(ip_lib.IFLA_IFNAME, s(vif.vif_name(PORT))), rta(ip_lib.IFLA_MTU, u32(1450)),
            rta(ip_lib.IFLA_MASTER, u32(4)), rta(ip_lib.IFLA_IFALIAS, s(PORT)),
            rta(ip_lib.IFLA_ADDRESS, bytes([0xfa, 0x16, 0x3e, 0, 0, 1])),
            rta(ip_lib.IFLA_LINKINFO, rta(ip_lib.IFLA_INFO_KIND, s('veth')), nested=True)))
        self.assertEqual(ip_lib.Link(7, 'tapc883e64a-a2', 'veth', 4, 1450, True, PORT,
                                     'fa:16:3e:00:00:01', None, None, 0), lk)

    def test_vxlan(self):
        data = (rta(ip_lib.IFLA_VXLAN_ID, u32(1001))
                + rta(ip_lib.IFLA_VXLAN_LINK, u32(3))
                + rta(ip_lib.IFLA_VXLAN_LOCAL, socket.inet_aton('192.0.2.1'))
                + rta(ip_lib.IFLA_VXLAN_LEARNING, b'\0')
                + rta(ip_lib.IFLA_VXLAN_PORT, struct.pack('>H', 4789)))
        lk = self.parse(newlink(
            9, 0, rta(ip_lib.IFLA_IFNAME, s('vxlan-1001')),
            rta(ip_lib.IFLA_LINKINFO, rta(ip_lib.IFLA_INFO_KIND, s('vxlan'))
                + rta(ip_lib.IFLA_INFO_DATA, data, nested=True), nested=True)))
        self.assertEqual(('vxlan-1001', 'vxlan', False, 0),
                         (lk.name, lk.kind, lk.up, lk.master))
        self.assertEqual(ip_lib.VxlanInfo(1001, '192.0.2.1', 4789, 3, 0), lk.vxlan)

    def test_vlan(self):
        lk = self.parse(newlink(
            5, 0, rta(ip_lib.IFLA_IFNAME, s('nvl-10-eth1')), rta(ip_lib.IFLA_LINK, u32(2)),
            rta(ip_lib.IFLA_LINKINFO, rta(ip_lib.IFLA_INFO_KIND, s('vlan'))
                + rta(ip_lib.IFLA_INFO_DATA, rta(ip_lib.IFLA_VLAN_ID, struct.pack('=H', 10)),
                      nested=True), nested=True)))
        self.assertEqual(('vlan', 10, 2), (lk.kind, lk.vlan_id, lk.parent))

    def test_fdb_entry(self):
        body = (ip_lib._NDMSG.pack(ip_lib.AF_BRIDGE, 9, 0xc0, 2, 0)
                + rta(ip_lib.NDA_LLADDR, bytes(6))
                + rta(ip_lib.NDA_DST, socket.inet_aton('192.0.2.2')))
        self.assertEqual((9, ip_lib.ZERO_MAC, '192.0.2.2', 0),
                         ip_lib.parse_fdb(body, 0, len(body)))


class TestCleanupRule(testtools.TestCase):
    def link(self, name, kind, alias=None):
        return ip_lib.Link(1, name, kind, 0, 1500, True, alias, None, None, None, 0)

    def test_only_naas_names(self):
        naas = cleanup.is_naas_link
        self.assertTrue(naas(self.link('brq1234', 'bridge')))
        self.assertTrue(naas(self.link('vxlan-7', 'vxlan')))
        self.assertTrue(naas(self.link(vif.vif_name(PORT), 'veth', PORT)))
        self.assertTrue(naas(self.link('naas-x', 'veth')))
        self.assertFalse(naas(self.link('eth0', 'veth')))
        self.assertFalse(naas(self.link('tap0', 'tun')))                # not a VIF of ours
        self.assertFalse(naas(self.link('tapc883e64a-a2', 'tun', 'x')))  # no port id
        self.assertFalse(naas(self.link('brq1234', 'veth')))            # wrong kind
        self.assertFalse(naas(self.link('naas-x', 'veth'), prefix='nfs1-'))
        self.assertTrue(naas(self.link('nfs1-ul', 'veth'), prefix='nfs1-'))

    def test_prefix_must_be_real(self):
        self.assertRaises(ValueError, cleanup.Cleaner, prefix='')
        self.assertRaises(ValueError, cleanup.Cleaner, prefix='n')
        self.assertEqual('nfs1-', cleanup.Cleaner(prefix='nfs1-').prefix)

    def test_root_nft_tables_are_ours_only(self):
        """--root removes the port filter's, QoS's and address counters'
        tables of both families, never a table of someone else's."""
        listing = '\n'.join(['table inet filter', 'table inet naas-fw', 'table bridge naas-fw',
                             'table bridge naas-stats', 'table netdev naas-stats',
                             'table bridge naas-qos', 'table ip nat', ''])
        cleaner = cleanup.Cleaner(prefix='nfs1-', dry_run=True)
        with mock.patch.object(cleanup.subprocess, 'run',
                               return_value=mock.Mock(stdout=listing)) as run:
            cleaner.root_nft_tables()
        run.assert_called_once_with(['nft', 'list', 'tables'], capture_output=True, text=True)
        removed = ' | '.join(cleaner.removed)
        for table in ('inet naas-fw', 'bridge naas-fw', 'bridge naas-stats',
                      'netdev naas-stats', 'bridge naas-qos'):
            self.assertIn('table %s ' % table, removed)
        self.assertNotIn('filter', removed)
        self.assertNotIn('nat', removed)
