"""Casts to the L3 agents after a change commits (naas.rpc.l3_api).

The hosts of each router (several for an HA router) are read inside the request's transaction (so a
router scheduled by this request is included); the casts themselves are
queued on ``context.after_commit``: a request that fails sends nothing.
Unbound routers get no cast: the L3 agent that gets them asks for them.
"""
import logging

from naas.plugins.l3 import scheduler
from naas.rpc import l3_api
from naas.rpc import notifier

LOG = logging.getLogger(__name__)


class Notifier(notifier.AfterCommitNotifier):
    client_class = l3_api.L3AgentNotifyAPI

    def routers_updated(self, context, router_ids):
        by_host = {}
        ids = sorted({r for r in router_ids if r})
        for router_id, hosts in sorted(scheduler.all_hosts_of(context.connection,
                                                               ids).items()):
            for host in hosts:
                by_host.setdefault(host, []).append(router_id)
        for host, ids in sorted(by_host.items()):
            self._later(context, 'routers_updated', ids, host=host)

    def router_deleted(self, context, router_id, host):
        if host:
            self._later(context, 'router_deleted', router_id, host=host)

    def subnet_routes_updated(self, context, router_id, subnet_route_ids):
        for host in scheduler.all_hosts_of(context.connection, [router_id]).get(router_id, []):
            self._later(context, 'subnet_routes_updated', router_id,
                        list(subnet_route_ids), host=host)
