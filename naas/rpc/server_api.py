"""Agent -> server RPC: heartbeats, device details, device state, resync.

Version history (client and endpoint):
    1.0 - report_state, get_devices_details_list, update_device_up,
          update_device_down, sync (and get_device_details, which no client
          ever sent: gone from both sides)
    1.1 - get_instance_network_info (for compute hosts)
    1.2 - get_dhcp_networks (DHCP agents)
    1.3 - get_security_group_info (agents whose driver filters ports)
    1.4 - get_fdb_entries (agents whose driver does L2 population)
"""
import oslo_messaging as messaging

from naas import rpc


class ServerAPI(rpc.Client):
    """Client side, used by naas-agent and by compute hosts; capped by
    [upgrade_levels] server.  Under a cap below 1.1 (1.2),
    get_instance_network_info (get_dhcp_networks, get_security_group_info,
    get_fdb_entries) raises rpc.VersionCapped:
    the caller needs an answer that an older server cannot give."""

    TOPIC = rpc.PLUGIN_TOPIC
    VERSION = '1.4'
    UPGRADE_LEVEL = 'server'

    def __init__(self, host, timeout=rpc.CALL_TIMEOUT, transport=None):
        super().__init__(timeout=timeout, transport=transport)
        self.host = host

    def report_state(self, context, state):
        """Heartbeat: ``state`` has agent_type, binary, host, configurations
        (bridge_mappings, tunnel_ip, tunnel_types, devices...), start_flag."""
        return self.call(context, '1.0', 'report_state', agent_state=state)

    def get_devices_details_list(self, context, devices):
        """What each VIF of ``devices`` (port ids) must be wired to on this
        host; {device, missing: True} for a port not bound here."""
        return self.call(context, '1.0', 'get_devices_details_list', devices=devices,
                         host=self.host)

    def update_device_up(self, context, devices):
        """Ports this host has wired: they become ACTIVE."""
        return self.call(context, '1.0', 'update_device_up', devices=devices, host=self.host)

    def update_device_down(self, context, devices):
        """Ports this host has unwired (or that lost their VIF): DOWN."""
        return self.call(context, '1.0', 'update_device_down', devices=devices, host=self.host)

    def sync(self, context):
        """Everything this host should have: its bound ports with their
        details, and the tunnel endpoints of every network it has ports on."""
        return self.call(context, '1.0', 'sync', host=self.host)

    def get_instance_network_info(self, context, instance_id):
        """The VIFs of an instance, as nova's network_info wants them."""
        self.require_version('1.1', 'get_instance_network_info')
        return self.call(context, '1.1', 'get_instance_network_info', instance_id=instance_id)

    def get_dhcp_networks(self, context, network_ids=None):
        """The networks this host serves DHCP for (those of ``network_ids``
        only, if given): [{id, mtu, admin_state_up, subnets: [{id, cidr,
        ip_version, gateway_ip, dns_nameservers, host_routes, enable_dhcp,
        ipv6_address_mode, ipv6_ra_mode}], port: this host's DHCP port (id,
        mac_address, fixed_ips, binding:vif_type...), ports: [{id,
        mac_address, fixed_ips}] of every port}] (naas.plugins.l2.dhcp)."""
        self.require_version('1.2', 'get_dhcp_networks')
        return self.call(context, '1.2', 'get_dhcp_networks', host=self.host,
                         network_ids=network_ids)

    def get_security_group_info(self, context, security_group_ids):
        """Rules and stateful flag of these groups, the member addresses of
        every group their rules name as remote group, and the addresses of
        every address group they name (naas.agent.l2.hooks.PortFilter)."""
        self.require_version('1.3', 'get_security_group_info')
        return self.call(context, '1.3', 'get_security_group_info',
                         security_group_ids=security_group_ids)

    def get_fdb_entries(self, context, network_ids):
        """L2 population (naas.agent.l2.hooks.L2Population): {network_id:
        [[tunnel_ip, mac_address, [ip_addresses]]]} of the ports of these
        overlay networks bound to other hosts (with a tunnel_ip); an empty
        list for a network that has none (or is not an overlay)."""
        self.require_version('1.4', 'get_fdb_entries')
        return self.call(context, '1.4', 'get_fdb_entries', network_ids=network_ids,
                         host=self.host)


class ServerEndpoint:
    """Server side, in naas-server; delegates to the core plugin's agent
    handlers (naas.plugins.l2.agents).  Serves every 1.x message up to its
    target version."""

    target = messaging.Target(version='1.4')

    def __init__(self, handler):
        self.handler = handler

    def report_state(self, context, agent_state):
        return self.handler.report_state(agent_state)

    def get_devices_details_list(self, context, devices, host):
        return self.handler.get_devices_details(devices, host)

    def update_device_up(self, context, devices, host):
        return self.handler.update_devices_status(devices, host, 'ACTIVE')

    def update_device_down(self, context, devices, host):
        return self.handler.update_devices_status(devices, host, 'DOWN')

    def sync(self, context, host):
        return self.handler.sync(host)

    def get_instance_network_info(self, context, instance_id):
        return self.handler.instance_network_info(instance_id)

    def get_dhcp_networks(self, context, host, network_ids=None):
        return self.handler.get_dhcp_networks(host, network_ids)

    def get_security_group_info(self, context, security_group_ids):
        return self.handler.get_security_group_info(security_group_ids)

    def get_fdb_entries(self, context, network_ids, host):
        return self.handler.get_fdb_entries(network_ids, host)
