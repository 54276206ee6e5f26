"""Server <-> L3 agent RPC: router casts, and what an L3 agent asks.

Casts (server -> the L3 agent of a router's host, topic ``naas-l3-agent``)
are sent only after the DB transaction that made the change has committed
(naas.plugins.l3.notify queues them on context.after_commit).  Calls (L3
agent -> server, topic ``naas-l3-plugin``) are served by the L3 plugin
(naas.plugins.l3.sync), each in a transaction of its own.

An L3 agent reports its heartbeat through naas.rpc.server_api.report_state
with agent_type 'NaaS L3 agent'; the plugin schedules routers to the alive
L3 agent with the fewest routers (naas.plugins.l3.scheduler).

Version history, agent side (L3AgentNotifyAPI / L3AgentEndpoint):
    1.0 - routers_updated, router_deleted, subnet_routes_updated

Version history, server side (L3ServerAPI / L3ServerEndpoint):
    1.0 - sync_routers, update_floatingip_statuses
    1.1 - update_ha_states (HA routers: the VRRP state of each instance);
          sync_routers' routers have ha, ha_vr_id and ha_ports
"""
import oslo_messaging as messaging

from naas import rpc

L3_AGENT_TOPIC = 'naas-l3-agent'
L3_PLUGIN_TOPIC = 'naas-l3-plugin'


class L3AgentNotifyAPI(rpc.Client):
    """Client side of the casts, used by naas-server; capped by
    [upgrade_levels] l3_agent.

    ``host`` is the host of the router's L3 agent; None fans the cast out to
    every L3 agent.
    """

    TOPIC = L3_AGENT_TOPIC
    VERSION = '1.0'
    UPGRADE_LEVEL = 'l3_agent'

    def routers_updated(self, router_ids, host=None):
        """Routers changed (interfaces, gateway, routes, floating IPs, admin
        state, scheduling): the agent asks sync_routers(router_ids) again."""
        self.cast('1.0', 'routers_updated', host=host, router_ids=list(router_ids))

    def router_deleted(self, router_id, host=None):
        """The router is gone (or moved away): the agent removes it."""
        self.cast('1.0', 'router_deleted', host=host, router_id=router_id)

    def subnet_routes_updated(self, router_id, subnet_route_ids, host=None):
        """Subnet-routes realised by hidden router ``router_id`` were created
        or deleted: the agent syncs that router again (its subnet_routes
        say which subnets may reach each other through it)."""
        self.cast('1.0', 'subnet_routes_updated', host=host, router_id=router_id,
                  subnet_route_ids=list(subnet_route_ids))


class L3AgentEndpoint:
    """Agent side of the casts: hands each one to the agent's L3 part, an
    object with on_routers_updated(router_ids), on_router_deleted(router_id)
    and on_subnet_routes_updated(router_id, subnet_route_ids)."""

    target = messaging.Target(version='1.0')

    def __init__(self, agent):
        self.agent = agent

    def routers_updated(self, context, router_ids):
        self.agent.on_routers_updated(router_ids)

    def router_deleted(self, context, router_id):
        self.agent.on_router_deleted(router_id)

    def subnet_routes_updated(self, context, router_id, subnet_route_ids):
        self.agent.on_subnet_routes_updated(router_id, subnet_route_ids)


class L3ServerAPI(rpc.Client):
    """Client side of the calls, used by an L3 agent; capped by
    [upgrade_levels] l3_server."""

    TOPIC = L3_PLUGIN_TOPIC
    VERSION = '1.1'
    UPGRADE_LEVEL = 'l3_server'

    def __init__(self, host, timeout=rpc.CALL_TIMEOUT):
        super().__init__(timeout=timeout)
        self.host = host

    def sync_routers(self, context, router_ids=None):
        """Every router this host should run (or those of ``router_ids``
        that it should run), in full.  Unbound routers are scheduled first
        (to this host if it is the least loaded L3 agent).  Each router:

        id, name, project_id, admin_state_up, status, hidden (True for the
        router that realises its project's subnet-routes), enable_snat,
        gateway: None or {port_id, mac_address, network_id, mtu, segment,
            fixed_ips: [{subnet_id, ip_address, prefixlen, cidr, ip_version,
            gateway_ip}]} (gateway_ip: the external subnet's gateway, the
            router's default route),
        interfaces: [{port_id, mac_address, network_id, mtu, segment,
            admin_state_up, fixed_ips: [as above, gateway_ip the subnet's]}],
        routes: [{destination, nexthop}] (extra routes, and for a router
            holding the gateway of a subnet paired by a subnet-route, a
            route to the peer subnet via the hidden router),
        floating_ips: [{id, floating_ip_address, fixed_ip_address, port_id,
            status}],
        subnet_routes: [{id, subnet_ids, cidrs}] (hidden routers: which of
            its interface subnets may reach each other; nothing else may),
        segment: {network_type, physical_network, segmentation_id},
        ha (an HA router), ha_vr_id (its VRRP virtual router id), ha_ports:
            [port views as interfaces, with host] (its ports on the HA
            network, one per host that runs it).
        """
        return self.call(context, '1.0', 'sync_routers', host=self.host,
                         router_ids=router_ids)

    def update_ha_states(self, context, states):
        """{router_id: 'active'|'standby'}: the VRRP states of this host's
        instances of HA routers (the server binds the ports of a router to
        its active host).  Capped below 1.1: not sent (the states stay
        unknown to the server; the routers work the same)."""
        if not self.can_send_version('1.1'):
            return None
        return self.call(context, '1.1', 'update_ha_states', host=self.host, states=states)

    def update_floatingip_statuses(self, context, router_id, statuses):
        """{floatingip_id: 'ACTIVE'|'DOWN'|'ERROR'} as realised on
        ``router_id``; floating IPs of the router not named are left as
        they are."""
        return self.call(context, '1.0', 'update_floatingip_statuses', host=self.host,
                         router_id=router_id, statuses=statuses)


class L3ServerEndpoint:
    """Server side of the calls, in naas-server; delegates to the L3
    plugin's handler (naas.plugins.l3.sync.RPCHandler)."""

    target = messaging.Target(version='1.1')

    def __init__(self, handler):
        self.handler = handler

    def sync_routers(self, context, host, router_ids=None):
        return self.handler.sync_routers(host, router_ids)

    def update_floatingip_statuses(self, context, host, router_id, statuses):
        return self.handler.update_floatingip_statuses(host, router_id, statuses)

    def update_ha_states(self, context, host, states):
        return self.handler.update_ha_states(host, states)
