"""The L3 service plugin (entry point ``router``): routers with interfaces,
an external gateway with SNAT and extra routes; floating IPs; subnet-routes.

The plugin methods are thin (the shape of naas.plugins.core): each runs in
the API request's transaction and hands over to a module that does one
thing (routers.py: router rows; gateway.py; interfaces.py; floatingips.py;
subnet_routes.py: the extension and how it is realised; scheduler.py:
router -> L3 agent; ha.py: HA routers on several agents; notify.py: casts after commit; sync.py: what an L3
agent asks).  Networks, subnets and ports are changed through the core
plugin (``self.core``, set by the plugin manager) and read through the
query functions of naas.db.ports, subnets and networks.
"""
import logging

from naas.common import context as naas_context
from naas.common import exceptions
from naas.common import periodic
from naas.conf import CONF
from naas.db import api as db_api
from naas.db import common
from naas.lib import constants
from naas.lib.definitions import floatingip as floatingip_def
from naas.lib.definitions import l3_agent_scheduler as l3_agent_def
from naas.lib.definitions import router as router_def
from naas.lib.definitions import subnet_route as subnet_route_def
from naas.plugins import core as core_plugin
from naas.plugins.l3 import floatingips
from naas.plugins.l3 import gateway
from naas.plugins.l3 import ha
from naas.plugins.l3 import interfaces
from naas.plugins.l3 import models
from naas.plugins.l3 import notify
from naas.plugins.l3 import routers
from naas.plugins.l3 import scheduler
from naas.plugins.l3 import subnet_routes
from naas.plugins.l3 import sync

LOG = logging.getLogger(__name__)


class L3Plugin(core_plugin.ServicePlugin):
    resources = (router_def, floatingip_def, subnet_route_def, l3_agent_def)
    extensions = ('router', 'ext-gw-mode', 'extraroute', 'subnet-routes', 'l3-ha',
                  'l3_agent_scheduler')
    quota_resources = {'router': routers.COUNTED, 'floatingip': models.floatingips}

    def __init__(self):
        self.core = None
        self.notifier = notify.Notifier()
        self.rpc_handler = sync.RPCHandler(self)

    def attach(self, core_plugin):
        super().attach(core_plugin)
        core_plugin.add_delete_hook('port', self._before_port_delete)
        core_plugin.add_delete_hook('network', self._before_network_delete)
        core_plugin.add_device_owner(routers.ALL_OWNERS, self._router_project)
        core_plugin.add_extender(ha.HAHostsExtender())

    def start_rpc_listeners(self):
        """The L3 agents' RPC server (topic naas-l3-plugin)."""
        import oslo_messaging as messaging

        from naas import rpc
        from naas.rpc import l3_api
        target = messaging.Target(topic=l3_api.L3_PLUGIN_TOPIC, server=CONF.host)
        server = rpc.get_server(target, [l3_api.L3ServerEndpoint(self.rpc_handler)])
        server.start()
        if not CONF.allow_automatic_l3agent_failover:
            return [server]
        failover = periodic.Periodic('l3-failover', self.reschedule_dead_agents,
                                     interval=max(1.0, CONF.agent_down_time / 4.0),
                                     initial_delay=CONF.agent_down_time).start()
        return [server, failover]

    def reschedule_dead_agents(self):
        """Move the routers of dead L3 agents (naas.plugins.l3.scheduler)
        and give HA routers short of instances more (naas.plugins.l3.ha);
        returns {router_id: new host} (an HA router's: the last host added)."""
        return db_api.retry(self._reschedule_dead_agents, naas_context.get_admin_context())

    def _reschedule_dead_agents(self, context):
        conn = context.connection
        moved = {}
        for router_id, old_host in scheduler.dead_bindings(conn):
            host = scheduler.rebind(conn, router_id)
            scheduler.bind_ports(self.core, context, router_id, host)
            LOG.warning('L3 agent of %s is dead: router %s moved to %s',
                        old_host, router_id, host)
            self.notifier.router_deleted(context, router_id, old_host)
            self.notifier.routers_updated(context, [router_id])
            moved[router_id] = host
        for router in ha.under_scheduled(conn):
            added = ha.schedule(self, context, router)
            if added:
                LOG.info('HA router %s: instances added on %s', router.id, ', '.join(added))
                self.notifier.routers_updated(context, [router.id])
                moved[router.id] = added[-1]
        return moved

    # ---- routers -------------------------------------------------------------

    def create_router(self, context, router):
        conn = context.connection
        router_id = routers.insert(conn, router, ha=ha.wanted(router))
        self._schedule(context, router_id)
        if router['external_gateway_info']:
            gateway.update(self.core, context, routers.row_by_id(conn, router_id),
                           router['external_gateway_info'])
        self.notifier.routers_updated(context, [router_id])
        return self.get_router(context, router_id)

    def _schedule(self, context, router_id):
        row = routers.row_by_id(context.connection, router_id)
        if row.ha:
            ha.schedule(self, context, row)
        else:
            scheduler.schedule(context.connection, router_id)

    def _unschedule(self, context, row):
        """Unbind the router from its agents; the hosts it left."""
        if row.ha:
            return ha.unschedule(self, context, row)
        host = scheduler.host_of(context.connection, row.id)
        context.connection.execute(models.router_bindings.delete().where(
            models.router_bindings.c.router_id == row.id))
        return [host] if host else []

    def get_router(self, context, id):
        return routers.to_dicts(context.connection, [routers.get_row(context, id)])[0]

    def get_routers(self, context, filters=None, sorts=(), limit=None,
                    marker=None, page_reverse=False):
        rows = routers.select(context, filters, sorts, limit, marker, page_reverse)
        return routers.to_dicts(context.connection, rows)

    def update_router(self, context, id, router, expected_revision=None):
        conn = context.connection
        row = routers.get_row(context, id, lock=True)
        if ha.check_change(row, router):
            for host in self._unschedule(context, row):
                self.notifier.router_deleted(context, id, host)
            conn.execute(models.routers.update().where(models.routers.c.id == id)
                         .values(ha=bool(router['ha'])))
            self._schedule(context, id)
            scheduler.bind_ports(self.core, context, id, scheduler.host_of(conn, id) or '')
            row = routers.get_row(context, id, lock=True)
        if 'external_gateway_info' in router:
            gateway.update(self.core, context, row, router['external_gateway_info'])
        cols = {k: router[k] for k in ('name', 'description', 'admin_state_up')
                if k in router}
        if 'routes' in router:
            routers.check_routes(conn, id, router['routes'])
            cols['routes'] = common.dumps(router['routes'])
        routers.update(conn, id, cols, expected_revision)
        self.notifier.routers_updated(context, [id])
        return self.get_router(context, id)

    def delete_router(self, context, id):
        conn = context.connection
        row = routers.get_row(context, id, lock=True)
        if routers.ports_of(conn, id, (constants.DEVICE_OWNER_ROUTER_INTF,)):
            raise exceptions.RouterInUse(router_id=id)
        gateway.update(self.core, context, row, None)
        hosts = self._unschedule(context, row)
        routers.delete(conn, id)
        for host in hosts:
            self.notifier.router_deleted(context, id, host)

    def add_router_interface(self, context, router_id, interface_info):
        return interfaces.add(self, context, router_id, interface_info)

    def remove_router_interface(self, context, router_id, interface_info):
        return interfaces.remove(self, context, router_id, interface_info)

    # ---- the L3 agents of a router (l3_agent_scheduler, l3-ha) ----------------

    def get_router_l3_agent(self, context, id, router_id):
        for agent in self._get_router_l3_agents(context, router_id=router_id):
            if agent['id'] == id:
                return agent
        raise exceptions.AgentNotFound(id=id)

    def _get_router_l3_agents(self, context, filters=None, sorts=(), limit=None,
                             marker=None, page_reverse=False, router_id=None):
        agents = ha.agents_view(context.connection, router_id)
        for key, values in (filters or {}).items():
            agents = [a for a in agents if str(a.get(key)) in {str(v) for v in values}]
        return agents

    # ---- floating IPs --------------------------------------------------------

    def create_floatingip(self, context, floatingip):
        return self.get_floatingip(context, floatingips.create(self, context, floatingip))

    def get_floatingip(self, context, id):
        return floatingips.to_dicts([floatingips.get_row(context, id)])[0]

    def get_floatingips(self, context, filters=None, sorts=(), limit=None,
                        marker=None, page_reverse=False):
        return floatingips.to_dicts(floatingips.select(context, filters, sorts, limit,
                                                       marker, page_reverse))

    def update_floatingip(self, context, id, floatingip, expected_revision=None):
        floatingips.update(self, context, id, floatingip, expected_revision)
        return self.get_floatingip(context, id)

    def delete_floatingip(self, context, id):
        floatingips.delete(self, context, id)

    # ---- subnet-routes -------------------------------------------------------

    def create_subnet_route(self, context, subnet_route):
        return self.get_subnet_route(context,
                                     subnet_routes.create(self, context, subnet_route))

    def get_subnet_route(self, context, id):
        return subnet_routes.to_dicts([subnet_routes.get_row(context, id)])[0]

    def get_subnet_routes(self, context, filters=None, sorts=(), limit=None,
                          marker=None, page_reverse=False):
        return subnet_routes.to_dicts(subnet_routes.select(context, filters, sorts, limit,
                                                           marker, page_reverse))

    def delete_subnet_route(self, context, id):
        subnet_routes.delete(self, context, id)

    # ---- the core plugin's ports -----------------------------------------------

    def _router_project(self, context, router_id):
        """The project of a router, hidden ones too (the core plugin's
        check_device_owner); None if there is no such router."""
        row = routers.row_by_id(context.connection, router_id)
        return None if row is None else row.project_id

    def _before_network_delete(self, context, network):
        """A network's unassociated floating IPs are deleted with it."""
        floatingips.delete_unassociated(self, context, network.id)

    def _before_port_delete(self, context, port):
        """DELETE /v2.0/ports of a router's or floating IP's port is 409
        (ServicePortInUse) while its router or floating IP exists; a port
        with floating IPs loses them (they stay, unassociated)."""
        conn = context.connection
        owner, device = port['device_owner'], port['device_id']
        if owner in routers.ALL_OWNERS:
            in_use = routers.row_by_id(conn, device) is not None
        elif owner == constants.DEVICE_OWNER_FLOATINGIP:
            in_use = floatingips.exists(conn, device)
        else:
            in_use = False
        if in_use:
            raise exceptions.ServicePortInUse(port_id=port['id'],
                                              reason='has device owner %s' % owner)
        floatingips.disassociate_port(self, context, port['id'])


# The generic controller's name for the list: get_<parent>_<collection>.
setattr(L3Plugin, 'get_router_l3-agents', L3Plugin._get_router_l3_agents)
