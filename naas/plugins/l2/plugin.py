"""The core plugin: networks, subnets and ports on the core tables, with
segments (VXLAN/GRE/VLAN/flat/local) in the plugin's own tables and port
binding for the host's L2 mechanism.
"""
import sqlalchemy as sa

from naas.common import exceptions
from naas.conf import CONF
from naas.db import models as core_models
from naas.db import networks
from naas.db import ports
from naas.db import query
from naas.db import subnets
from naas.lib.definitions import agent as agent_def
from naas.lib.definitions import base
from naas.lib.definitions import network as network_def
from naas.lib.definitions import port as port_def
from naas.lib.definitions import subnet as subnet_def
from naas.plugins import core
from naas.plugins.l2 import agents
from naas.plugins.l2 import binding as binding_
from naas.plugins.l2 import dhcp
from naas.plugins.l2 import models
from naas.plugins.l2 import netconfig
from naas.plugins.l2 import notify
from naas.plugins.l2 import segments

PROVIDER_ATTRS = ('provider:network_type', 'provider:physical_network',
                  'provider:segmentation_id')
PROVIDER_COLUMNS = {'provider:network_type': models.segments.c.network_type,
                    'provider:physical_network': models.segments.c.physical_network,
                    'provider:segmentation_id': models.segments.c.segmentation_id}


class L2Plugin(core.CorePluginBase):
    resources = (network_def, subnet_def, port_def, agent_def)
    extensions = (
        'provider', 'external-net', 'network-mtu', 'network-mtu-writable',
        'port-security', 'binding', 'binding-extended', 'allowed-address-pairs',
        'standard-attr-tag', 'standard-attr-revisions', 'standard-attr-timestamp',
        'standard-attr-description', 'project-id', 'quotas', 'quota_details',
        'pagination', 'sorting', 'filter-validation', 'fixed-ip-substring-filtering',
        'ip-substring-filtering', 'empty-string-filtering', 'revision-if-match',
        'default-subnetpools', 'subnet_allocation', 'dns-integration',
        'availability_zone', 'network_availability_zone', 'agent',
        'network-config',
    )
    quota_resources = {'network': core_models.networks, 'subnet': core_models.subnets,
                       'port': core_models.ports}
    network_config_formats = tuple(netconfig.RENDERERS)

    def __init__(self):
        self.notifier = notify.Notifier()
        self.rpc_handler = agents.RPCHandler(self)
        self.dhcp = dhcp.DHCP(self)

    def start_rpc_listeners(self):
        """The agents' RPC server (topic naas-plugin), threading executor."""
        import oslo_messaging as messaging

        from naas import rpc
        from naas.rpc import server_api
        target = messaging.Target(topic=rpc.PLUGIN_TOPIC, server=CONF.host)
        server = rpc.get_server(target, [server_api.ServerEndpoint(self.rpc_handler)])
        server.start()
        return [server]

    # ---- networks ----------------------------------------------------------

    def create_network(self, context, network):
        conn = context.connection
        provider = None
        if any(network.get(a) is not base.ATTR_NOT_SPECIFIED for a in PROVIDER_ATTRS):
            provider = {
                'network_type': self._given(network, 'provider:network_type'),
                'physical_network': self._given(network, 'provider:physical_network'),
                'segmentation_id': self._given(network, 'provider:segmentation_id')}
            if provider['network_type'] is None:
                raise exceptions.InvalidInput(
                    error_message='provider:network_type required')
        body = dict(network)
        # Insert the network first so that the segment row can refer to it.
        mtu = body['mtu'] if body['mtu'] is not base.ATTR_NOT_SPECIFIED else 0
        net_id = networks.insert(conn, body, mtu)
        segment = segments.allocate(conn, net_id, provider)
        max_mtu = segments.network_mtu(segment)
        if not mtu:
            conn.execute(networks.T.update().where(networks.T.c.id == net_id)
                         .values(mtu=max_mtu))
        elif mtu > max_mtu:
            raise exceptions.InvalidInput(
                error_message='Requested MTU is too big, maximum is %d' % max_mtu)
        return self.get_network(context, net_id)

    @staticmethod
    def _given(body, attr):
        value = body.get(attr, base.ATTR_NOT_SPECIFIED)
        return None if value is base.ATTR_NOT_SPECIFIED else value

    def _network_dicts(self, context, rows):
        conn = context.connection
        out = networks.to_dicts(conn, rows)
        segs = segments.for_networks(conn, [r.id for r in rows])
        for d in out:
            d.update(segments.provider_dict(segs.get(d['id'])))
        return out

    def get_network_policy_target(self, context, id):
        return networks.policy_target(context.connection, id)

    def get_network(self, context, id):
        return self._network_dicts(context, [networks.get_row(context, id)])[0]

    def get_networks(self, context, filters=None, sorts=(), limit=None,
                     marker=None, page_reverse=False):
        filters = dict(filters or {})
        where = []
        provider = {a: filters.pop(a) for a in PROVIDER_ATTRS if a in filters}
        if provider:
            ids = sa.select(models.segments.c.network_id)
            for attr, values in provider.items():
                column = PROVIDER_COLUMNS[attr]
                ids = ids.where(column.in_([query.coerce(column, v) for v in values]))
            where.append(networks.T.c.id.in_(ids))
        rows = networks.select(context, filters, sorts, limit, marker, page_reverse,
                               where)
        return self._network_dicts(context, rows)

    def update_network(self, context, id, network, expected_revision=None):
        current = networks.get_row(context, id, lock=True)
        if 'mtu' in network:
            seg = segments.for_networks(context.connection, [id]).get(id)
            max_mtu = segments.network_mtu({'network_type': seg.network_type
                                            if seg else 'local'})
            if network['mtu'] > max_mtu:
                raise exceptions.InvalidInput(
                    error_message='Requested MTU is too big, maximum is %d' % max_mtu)
        if network.get('shared') is False and current.shared:
            self._check_unshare(context, current)
        networks.update(context.connection, id, network, expected_revision)
        result = self.get_network(context, id)
        self.notifier.network_changed(context, result)
        self.dhcp.network_changed(context, id)
        return result

    def _check_unshare(self, context, net):
        other = context.connection.execute(sa.select(ports.T.c.id).where(
            ports.T.c.network_id == net.id, ports.T.c.project_id != net.project_id,
            ~ports.T.c.device_owner.startswith(ports.SERVICE_OWNER_PREFIX))).first()
        if other is not None:
            raise exceptions.InUse(
                message='Unable to reconfigure sharing settings for network %s. '
                        'Multiple tenants are using it.' % net.id)

    def delete_network(self, context, id):
        conn = context.connection
        networks.get_row(context, id, lock=True)
        in_use = conn.execute(sa.select(ports.T.c.id).where(
            ports.T.c.network_id == id,
            ~ports.T.c.device_owner.startswith(ports.SERVICE_OWNER_PREFIX)
            | ports.T.c.device_owner.in_(ports.L3_OWNERS)).limit(1)).first()
        if in_use is not None:
            raise exceptions.NetworkInUse(net_id=id)
        subnet_rows = subnets.rows_of_network(conn, id)
        for port in ports.to_dicts(conn, ports.select(context.elevated(),
                                                      {'network_id': [id]})):
            ports.delete(conn, port, subnet_rows)
        for s in subnet_rows:
            subnets.delete(conn, s.id)
        segments.release(conn, id)
        networks.delete(conn, id)
        self.notifier.network_deleted(context, id)

    # ---- subnets -----------------------------------------------------------

    def create_subnet(self, context, subnet):
        conn = context.connection
        networks.get_row(context, subnet['network_id'], lock=True)
        gateway, pools = subnets.check_and_fill(conn, subnet['network_id'], subnet)
        subnet_id = subnets.insert(conn, subnet, gateway, pools)
        self.dhcp.subnets_changed(context, subnet['network_id'])
        return self.get_subnet(context, subnet_id)

    def get_subnet(self, context, id):
        return subnets.to_dicts(context.connection, [subnets.get_row(context, id)])[0]

    def get_subnets(self, context, filters=None, sorts=(), limit=None,
                    marker=None, page_reverse=False):
        rows = subnets.select(context, filters, sorts, limit, marker, page_reverse)
        return subnets.to_dicts(context.connection, rows)

    def update_subnet(self, context, id, subnet, expected_revision=None):
        current = self.get_subnet(context, id)
        subnets.update(context.connection, current, subnet, expected_revision)
        self.dhcp.subnets_changed(context, current['network_id'])
        return self.get_subnet(context, id)

    def delete_subnet(self, context, id):
        conn = context.connection
        subnet = self.get_subnet(context, id)
        A = ports.A
        users = conn.execute(
            sa.select(A.c.port_id, A.c.ip_address, ports.T.c.device_owner)
            .join(ports.T, ports.T.c.id == A.c.port_id)
            .where(A.c.subnet_id == id)).all()
        auto = subnet['ip_version'] == 6 and subnet['ipv6_address_mode'] in (
            'slaac', 'dhcpv6-stateless')
        blocking = [u for u in users if u.device_owner in ports.L3_OWNERS or
                    not auto and not ports.deleted_with_network(u.device_owner)]
        if blocking:
            raise exceptions.SubnetInUse(
                subnet_id=id, reason='One or more ports have an IP allocation from this subnet')
        conn.execute(A.delete().where(A.c.subnet_id == id))
        for port_id in {u.port_id for u in users}:
            ports.write_fixed_ips(conn, port_id)
        subnets.delete(conn, id)
        self.dhcp.subnets_changed(context, subnet['network_id'])

    # ---- ports -------------------------------------------------------------

    def create_port(self, context, port):
        conn = context.connection
        net = networks.get_row(context, port['network_id'])
        body = dict(port)
        mac = body['mac_address']
        if mac is base.ATTR_NOT_SPECIFIED:
            mac = ports.random_mac()  # a clash is retried (ports.insert)
        elif ports.mac_in_use(conn, net.id, mac):
            raise exceptions.MacAddressInUse(net_id=net.id, mac=mac)
        if body['port_security_enabled'] is base.ATTR_NOT_SPECIFIED:
            body['port_security_enabled'] = net.port_security_enabled
        if body['security_groups'] is base.ATTR_NOT_SPECIFIED:
            body['security_groups'] = []
        subnet_rows = subnets.rows_of_network(conn, net.id)
        ips = ports.allocate_ips(conn, net.id, subnet_rows, body['fixed_ips'], mac,
                                 body['device_owner'])
        binding = binding_.bind(conn, net.id, body)
        port_id = ports.insert(conn, body, mac, 'DOWN', binding, ips)
        result = self.get_port(context, port_id)
        self.notifier.port_changed(context, result)
        self.dhcp.port_changed(context, result)
        return result

    def get_port(self, context, id):
        return ports.to_dicts(context.connection, [ports.get_row(context, id)])[0]

    def get_ports(self, context, filters=None, sorts=(), limit=None,
                  marker=None, page_reverse=False):
        rows = ports.select(context, filters, sorts, limit, marker, page_reverse)
        return ports.to_dicts(context.connection, rows)

    def update_port(self, context, id, port, expected_revision=None):
        conn = context.connection
        ports.get_row(context, id, lock=True)
        current = self.get_port(context, id)
        values = dict(port)
        if 'mac_address' in values and values['mac_address'] != current['mac_address']:
            if current['binding:host_id']:
                raise exceptions.InUse(
                    message='Unable to complete operation on port %s, port is '
                            'already bound, port type: %s, old_mac %s, new_mac %s'
                            % (id, current['binding:vif_type'], current['mac_address'],
                               values['mac_address']))
            if ports.mac_in_use(conn, current['network_id'], values['mac_address']):
                raise exceptions.MacAddressInUse(net_id=current['network_id'],
                                                 mac=values['mac_address'])
        if 'fixed_ips' in values:
            self._update_fixed_ips(conn, current, values.pop('fixed_ips'),
                                   values.get('mac_address', current['mac_address']))
        if any(k.startswith('binding:') for k in values):
            binding = binding_.bind(conn, current['network_id'], values, current)
            values.update({'binding:' + k: v for k, v in binding.items()})
        ports.update(conn, id, values, expected_revision)
        result = self.get_port(context, id)
        self.notifier.port_changed(context, result, old_host=current['binding:host_id'])
        self.dhcp.port_changed(context, result)
        return result

    def _update_fixed_ips(self, conn, current, requested, mac):
        """Keep addresses asked for again, free the others, take the new ones."""
        subnet_rows = subnets.rows_of_network(conn, current['network_id'])
        have = {(ip['subnet_id'], ip['ip_address']) for ip in current['fixed_ips']}
        keep, new = set(), []
        for entry in requested:
            ip, sid = entry.get('ip_address'), entry.get('subnet_id')
            # An address asked for again, or "an address on subnet X" when
            # the port has one there, is kept as it is.
            match = [h for h in sorted(have - keep)
                     if (ip is None or h[1] == ip) and (sid is None or h[0] == sid)]
            if match and (ip is not None or sid is not None):
                keep.add(match[0])
            else:
                new.append(entry)
        drop = [{'subnet_id': s, 'ip_address': ip} for s, ip in have - keep]
        ports.release_ips(conn, drop, subnet_rows)
        if new:
            ips = ports.allocate_ips(conn, current['network_id'], subnet_rows, new, mac,
                                     current['device_owner'])
            taken = {(ip['subnet_id'], ip['ip_address']) for ip in ips}
            if taken & keep:
                raise exceptions.InvalidInput(error_message='Duplicate IP address')
            ports.insert_ips(conn, current['id'], ips)
        ports.write_fixed_ips(conn, current['id'])
        if len(keep) + len(new) > CONF.max_fixed_ips_per_port:
            raise exceptions.InvalidInput(
                error_message='Exceeded maximum amount of fixed ips per port.')

    def delete_port(self, context, id, l3_port_check=True):
        conn = context.connection
        ports.get_row(context, id, lock=True)  # concurrent deletes: one wins
        port = self.get_port(context, id)
        if l3_port_check:  # the L3 plugin deletes its own ports with False
            self.run_delete_hooks(context, 'port', port)
        ports.delete(conn, port, subnets.rows_of_network(conn, port['network_id']))
        self.notifier.port_deleted(context, port)
        self.dhcp.port_changed(context, port)

    def get_network_config(self, context, port_ids, fmt):
        """The static configuration of the ports, as ``fmt``
        (netconfig.RENDERERS: cloud-init or network_data)."""
        vifs = netconfig.network_info(context.connection, ports.T.c.id.in_(port_ids))
        return netconfig.RENDERERS[fmt](vifs)

    # ---- agents ------------------------------------------------------------

    def get_agent(self, context, id):
        return agents.get(context.connection, id)

    def get_agents(self, context, filters=None, sorts=(), limit=None,
                   marker=None, page_reverse=False):
        return agents.select(context.connection, filters, sorts, limit, marker,
                             page_reverse)

    def update_agent(self, context, id, agent, expected_revision=None):
        return agents.update(context.connection, id, agent)

    def delete_agent(self, context, id):
        agents.delete(context.connection, id)
