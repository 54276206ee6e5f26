"""The core plugin (entry point ``l2``): networks, subnets and ports on the
core tables, with segments (VXLAN/GRE/VLAN/flat/local) in the plugin's own
tables, port binding for the host's L2 mechanism, DHCP scheduling and the
agents.

The plugin methods are thin (the shape of naas.plugins.core): each runs in
the API request's transaction and hands over to the modules that own the
tables: naas.db.networks, subnets and ports (the core tables, shared with
the service plugins' reads), naas.db.agents; segments.py, binding.py,
dhcp.py (its bindings and DHCP ports), netconfig.py; notify.py casts after
commit; agents.py answers what the L2 agents ask.

RBAC (rbac-policies) is core behaviour, as in Neutron: the plugin serves
the entries (naas.db.rbac) and holds the registry of object types
(``self.rbac``), where it registers 'network' and service plugins register
theirs.  A network's ``shared`` and ``router:external`` are its '*'
entries.
"""
from naas.common import exceptions
from naas.conf import CONF
from naas.db import agents as db_agents
from naas.db import models as core_models
from naas.db import networks
from naas.db import ports
from naas.db import rbac
from naas.db import subnetpools
from naas.db import subnets
from naas.lib import constants
from naas.lib.definitions import agent as agent_def
from naas.lib.definitions import base
from naas.lib.definitions import network as network_def
from naas.lib.definitions import port as port_def
from naas.lib.definitions import rbac_policy as rbac_def
from naas.lib.definitions import subnet as subnet_def
from naas.lib.definitions import subnetpool as subnetpool_def
from naas.plugins import core
from naas.plugins.l2 import agents
from naas.plugins.l2 import binding as binding_
from naas.plugins.l2 import dhcp
from naas.plugins.l2 import netconfig
from naas.plugins.l2 import notify
from naas.plugins.l2 import segments


class L2Plugin(core.CorePluginBase):
    resources = (network_def, subnet_def, subnetpool_def, port_def, agent_def, rbac_def)
    extensions = (
        'provider', 'external-net', 'network-mtu', 'network-mtu-writable',
        'port-security', 'binding', 'binding-extended', 'allowed-address-pairs',
        'standard-attr-tag', 'standard-attr-revisions', 'standard-attr-timestamp',
        'standard-attr-description', 'project-id', 'quotas', 'quota_details',
        'pagination', 'sorting', 'filter-validation', 'fixed-ip-substring-filtering',
        'ip-substring-filtering', 'empty-string-filtering', 'revision-if-match',
        'network_availability_zone', 'agent', 'network-config', 'rbac-policies',
        'subnet_allocation', 'subnet-external-network',
    )
    quota_resources = {'network': core_models.networks, 'subnet': core_models.subnets,
                       'port': core_models.ports}
    network_config_formats = tuple(netconfig.RENDERERS)

    def __init__(self):
        self.notifier = notify.Notifier()
        self.rpc_handler = agents.RPCHandler(self)
        self.dhcp = dhcp.DHCP(self)
        self.rbac = rbac.ObjectTypes()
        self.network_rbac = rbac.ObjectType(
            'network', (rbac.ACCESS_SHARED, rbac.ACCESS_EXTERNAL),
            owner=lambda context, id: networks.get_row(context, id).project_id,
            in_use=self._network_rbac_in_use,
            changed=lambda context, id: networks.sync_rbac_flags(context.connection, id))
        self.rbac.register(self.network_rbac)

    def start_rpc_listeners(self):
        """The agents' RPC server (topic naas-plugin), threading executor."""
        import oslo_messaging as messaging

        from naas import rpc
        from naas.rpc import server_api
        target = messaging.Target(topic=rpc.PLUGIN_TOPIC, server=CONF.host)
        server = rpc.get_server(target, [server_api.ServerEndpoint(self.rpc_handler)])
        server.start()
        failover = self.dhcp.start_failover()
        return [server] + ([failover] if failover else [])

    # ---- networks ----------------------------------------------------------

    def create_network(self, context, network):
        conn = context.connection
        provider = segments.provider_request(network)
        mtu = network['mtu'] if network['mtu'] is not base.ATTR_NOT_SPECIFIED else 0
        # The network first, so that the segment row can refer to it.
        net_id = networks.insert(conn, network, mtu)
        self._set_network_wildcards(context, net_id, network['project_id'], False, network)
        segment = segments.allocate(conn, net_id, provider)
        if mtu:
            segments.check_mtu(segment['network_type'], mtu)
        else:
            networks.set_mtu(conn, net_id, segments.network_mtu(segment['network_type']))
        if self.extenders:
            # The core attributes: no extender has anything stored yet.
            created = networks.to_dicts(context, [networks.get_row(context, net_id)])[0]
            for extender in self.extenders:
                extender.process_create(context, 'network', network, created)
        return self.get_network(context, net_id)

    def _network_dicts(self, context, rows):
        conn = context.connection
        out = networks.to_dicts(context, rows)
        by_network = segments.for_networks(conn, [r.id for r in rows])
        for d in out:
            d.update(segments.provider_dict(by_network.get(d['id'])))
        for extender in self.extenders:
            extender.extend_dicts(context, 'network', out)
        return out

    def get_network_policy_target(self, context, id):
        target, row = networks.policy_target(context, id)
        # The API asks this before it creates a port (naas.api.base): the
        # create then reads the network no more (_checked_network).
        context.checked_network = (context.connection, row)
        return target

    @staticmethod
    def _checked_network(context, id):
        """The network row that get_network_policy_target read in this
        transaction (the caller may see it: the API checked), else read
        now (who may see it is checked here)."""
        connection, row = getattr(context, 'checked_network', (None, None))
        if row is not None and connection is context.connection and row.id == id:
            return row
        return networks.get_row(context, id)

    def get_network(self, context, id):
        return self._network_dicts(context, [networks.get_row(context, id)])[0]

    def get_networks(self, context, filters=None, sorts=(), limit=None,
                     marker=None, page_reverse=False):
        filters = dict(filters or {})
        rows = networks.select(context, filters, sorts, limit, marker, page_reverse,
                               only_ids=segments.networks_matching(filters))
        return self._network_dicts(context, rows)

    def get_network_segments(self, context, network_ids):
        conn = context.connection
        return {network_id: {'network_type': row.network_type or 'local',
                             'physical_network': row.physical_network or None,
                             'segmentation_id': row.segmentation_id}
                for network_id, row in segments.for_networks(conn, list(network_ids)).items()}

    def update_network(self, context, id, network, expected_revision=None):
        conn = context.connection
        current = networks.get_row(context, id, lock=True)
        if 'mtu' in network:
            segment = segments.of_network(conn, id)
            segments.check_mtu(segment.network_type if segment else 'local', network['mtu'])
        self._set_network_wildcards(context, id, current.project_id, current.router_external,
                                    network)
        if self.extenders:
            before = self.get_network(context, id)
            for extender in self.extenders:
                extender.process_update(context, 'network', network, before)
        networks.update(conn, id, network, expected_revision)
        result = self.get_network(context, id)
        self.notifier.network_changed(context, result)
        self.dhcp.network_changed(context, id)
        return result

    def delete_network(self, context, id):
        conn = context.connection
        network = networks.get_row(context, id, lock=True)
        self.run_delete_hooks(context, 'network', network)
        if ports.network_in_use(conn, id):
            raise exceptions.NetworkInUse(net_id=id)
        subnet_rows = subnets.rows_of_network(conn, id)
        for port in ports.to_dicts(conn, ports.select(context.elevated(),
                                                      {'network_id': [id]})):
            ports.delete(conn, port, subnet_rows)
        for subnet in subnet_rows:
            subnets.delete(conn, subnet.id)
        segments.release(conn, id)
        networks.delete(conn, id)
        self.notifier.network_deleted(context, id)

    # ---- RBAC (naas.db.rbac) -----------------------------------------------

    def _set_network_wildcards(self, context, id, owner, external, body):
        """``shared`` sets or removes the '*' access_as_shared entry (refused
        while other projects' ports need it); ``router:external`` true makes
        the network external to every project, false to none (Neutron's
        _process_l3_update)."""
        if 'shared' in body:
            if rbac.set_wildcard(context, self.network_rbac, id, owner, rbac.ACCESS_SHARED,
                                 body['shared']):
                raise exceptions.InUse(
                    message='Unable to reconfigure sharing settings for network %s. '
                            'Multiple tenants are using it.' % id)
        wanted = body.get('router:external')
        if wanted is True and not external:
            rbac.set_wildcard(context, self.network_rbac, id, owner, rbac.ACCESS_EXTERNAL, True)
        elif wanted is False and external:
            rbac.delete_all(context.connection, id, rbac.ACCESS_EXTERNAL)

    def _network_rbac_in_use(self, context, id, action, projects, all_but):
        """Whether projects losing ``action`` on network ``id`` use it: their
        ports (access_as_shared), their routers' gateways (access_as_external)."""
        if action == rbac.ACCESS_SHARED:
            if ports.used_by_projects(context.connection, id, projects, all_but):
                return 'Ports of the projects losing access are on network %s.' % id
            return None
        owner = constants.DEVICE_OWNER_ROUTER_GW
        for port in ports.select(context.elevated(), {'network_id': [id],
                                                      'device_owner': [owner]}):
            project = self.device_project(context, owner, port.device_id)
            if project is not None and (project in projects if projects is not None
                                        else project not in all_but):
                return ('There are routers attached to this network that depend on '
                        'this policy for access.')
        return None

    def create_rbac_policy(self, context, rbac_policy):
        return self.get_rbac_policy(context, rbac.create(context, self.rbac, rbac_policy))

    def get_rbac_policy(self, context, id):
        return rbac.to_dict(rbac.get_row(context, id))

    def get_rbac_policies(self, context, filters=None, sorts=(), limit=None,
                          marker=None, page_reverse=False):
        return [rbac.to_dict(row) for row in rbac.select(context, filters, sorts, limit,
                                                         marker, page_reverse)]

    def update_rbac_policy(self, context, id, rbac_policy, expected_revision=None):
        """Only target_tenant changes; entries have no revision (If-Match
        is not checked, as in Neutron)."""
        if 'target_tenant' in rbac_policy:
            rbac.update(context, self.rbac, id, rbac_policy['target_tenant'])
        return self.get_rbac_policy(context, id)

    def delete_rbac_policy(self, context, id):
        rbac.delete(context, self.rbac, id)

    # ---- subnets -----------------------------------------------------------

    def create_subnet(self, context, subnet):
        conn = context.connection
        networks.get_row(context, subnet['network_id'], lock=True)
        if subnet['subnetpool_id']:
            subnet['cidr'] = subnetpools.allocate(context, subnet)
        elif subnet['cidr'] is base.ATTR_NOT_SPECIFIED:
            raise exceptions.BadRequest(
                resource='subnets', msg='a cidr must be specified in the absence of a '
                                        'subnet pool')
        elif subnet['prefixlen'] is not base.ATTR_NOT_SPECIFIED:
            raise exceptions.BadRequest(resource='subnets',
                                        msg='prefixlen is only used with a subnetpool_id')
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
        users = ports.allocations_on_subnet(conn, id)
        auto = subnet['ip_version'] == 6 and subnet['ipv6_address_mode'] in (
            'slaac', 'dhcpv6-stateless')
        blocking = [u for u in users if u.device_owner in ports.L3_OWNERS or
                    not auto and not ports.deleted_with_network(u.device_owner)]
        if blocking:
            raise exceptions.SubnetInUse(
                subnet_id=id, reason='One or more ports have an IP allocation from this subnet')
        ports.forget_subnet(conn, id, {u.port_id for u in users})
        subnets.delete(conn, id)
        self.dhcp.subnets_changed(context, subnet['network_id'])

    # ---- subnet pools (naas.db.subnetpools) -----------------------------------

    def create_subnetpool(self, context, subnetpool):
        return self.get_subnetpool(context, subnetpools.insert(context.connection, subnetpool))

    def get_subnetpool(self, context, id):
        return subnetpools.to_dicts([subnetpools.get_row(context, id)])[0]

    def get_subnetpools(self, context, filters=None, sorts=(), limit=None,
                        marker=None, page_reverse=False):
        return subnetpools.to_dicts(subnetpools.select(context, filters, sorts, limit,
                                                       marker, page_reverse))

    def update_subnetpool(self, context, id, subnetpool, expected_revision=None):
        current = subnetpools.to_dicts([subnetpools.get_row(context, id, lock=True)])[0]
        subnetpools.update(context.connection, current, subnetpool, expected_revision)
        return self.get_subnetpool(context, id)

    def delete_subnetpool(self, context, id):
        subnetpools.get_row(context, id, lock=True)
        subnetpools.delete(context.connection, id)

    # ---- ports -------------------------------------------------------------

    def create_port(self, context, port):
        conn = context.connection
        net = self._checked_network(context, port['network_id'])
        self.check_device_owner(context, port['project_id'], port['device_owner'],
                                port['device_id'])
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
            body['security_groups:default'] = True  # an extender may give the default
        subnet_rows = subnets.rows_of_network(conn, net.id)
        ips = ports.allocate_ips(conn, net.id, subnet_rows, body['fixed_ips'], mac,
                                 body['device_owner'])
        binding = binding_.bind(conn, net.id, body)
        for extender in self.extenders:
            extender.before_create(context, 'port', body)
        row = ports.insert(conn, body, mac, 'DOWN', binding, ips)
        # The port as a read would give it, from what was inserted.
        result = ports.to_dicts(conn, [ports.as_listed(row, net.project_id)])[0]
        for extender in self.extenders:
            # The core attributes: no extender has anything stored yet.
            extender.process_create(context, 'port', body, dict(result))
        for extender in self.extenders:
            extender.extend_created(context, 'port', body, result)
        self.notifier.port_changed(context, result)
        self.dhcp.port_changed(context, result)
        return result

    def _port_dicts(self, context, rows):
        out = ports.to_dicts(context.connection, rows)
        for extender in self.extenders:
            extender.extend_dicts(context, 'port', out)
        return out

    def get_port(self, context, id):
        return self._port_dicts(context, [ports.get_row(context, id)])[0]

    def get_ports(self, context, filters=None, sorts=(), limit=None,
                  marker=None, page_reverse=False):
        rows = ports.select(context, filters, sorts, limit, marker, page_reverse)
        return self._port_dicts(context, rows)

    def update_port(self, context, id, port, expected_revision=None):
        conn = context.connection
        ports.get_row(context, id, lock=True)
        current = self.get_port(context, id)
        values = dict(port)
        if 'device_owner' in values or 'device_id' in values:
            self.check_device_owner(context, current['project_id'],
                                    values.get('device_owner', current['device_owner']),
                                    values.get('device_id', current['device_id']))
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
            ports.update_fixed_ips(conn, current, values.pop('fixed_ips'),
                                   values.get('mac_address', current['mac_address']),
                                   subnets.rows_of_network(conn, current['network_id']))
        if any(k.startswith('binding:') for k in values):
            binding = binding_.bind(conn, current['network_id'], values, current)
            values.update({'binding:' + k: v for k, v in binding.items()})
        for extender in self.extenders:
            extender.process_update(context, 'port', values, current)
        ports.update(conn, id, values, expected_revision)
        result = self.get_port(context, id)
        self.notifier.port_changed(context, result, old_host=current['binding:host_id'])
        self.dhcp.port_changed(context, result)
        return result

    def delete_port(self, context, id, run_hooks=True):
        conn = context.connection
        ports.get_row(context, id, lock=True)  # concurrent deletes: one wins
        port = self.get_port(context, id)
        if run_hooks:  # not for the ports plugins delete (delete_service_port)
            self.run_delete_hooks(context, 'port', port)
        ports.delete(conn, port, subnets.rows_of_network(conn, port['network_id']))
        self.notifier.port_deleted(context, port)
        self.dhcp.port_changed(context, port)

    def get_network_config(self, context, port_ids, fmt):
        """The static configuration of the ports, as ``fmt``
        (netconfig.RENDERERS: cloud-init or network_data)."""
        vifs = netconfig.network_info(context.connection, port_ids=port_ids)
        return netconfig.RENDERERS[fmt](vifs)

    # ---- agents (naas.db.agents: every kind of agent reports there) -------

    def get_agent(self, context, id):
        return db_agents.get(context.connection, id)

    def get_agents(self, context, filters=None, sorts=(), limit=None,
                   marker=None, page_reverse=False):
        return db_agents.select(context.connection, filters, sorts, limit, marker,
                                page_reverse)

    def update_agent(self, context, id, agent, expected_revision=None):
        return db_agents.update(context.connection, id, agent)

    def delete_agent(self, context, id):
        db_agents.delete(context.connection, id)
