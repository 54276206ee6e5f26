"""Casts to the agents after a change commits (naas.rpc.agent_api).

Each method queues its cast on ``context.after_commit``: a request that
fails sends nothing, and agents never hear of rows they cannot read yet.

Fan-out: every cast goes to a host (server=host), never to every agent,
except network_delete (the network's ports, DHCP ones included, were
deleted in the same transaction, so its hosts are no longer known; a
network delete is rare).  What a port change sends, with H the hosts that
have ports on its network (read in the request's transaction):

* port_update to the port's host (port_delete to its old one);
* to each other host of H whose agent reports l2_population: one
  fdb_update (the port's entry added or removed; with the new flooding
  list when H itself changed, i.e. the port was the first or the last of
  its host on the network);
* to each other host of H without it: endpoints_update, only when H
  changed;
* nothing more for a network that is not an overlay (vlan, flat, local).

So a port create sends at most len(H) + 1 messages.  The casts of one
transaction are batched: a bulk create of n ports on a network sends one
fdb_update per host of the network, with all n entries (the casts are
queued on one after_commit callback that merges them in order).
"""
import logging

from naas.plugins.l2 import agents as l2_agents
from naas.rpc import agent_api
from naas.rpc import notifier

LOG = logging.getLogger(__name__)


class _Casts:
    """The L2 casts of one transaction, sent in order after it commits;
    fdb_update casts to the same (host, network) are merged into the first
    (entries keyed by MAC: a later add or remove of a MAC wins)."""

    def __init__(self, notifier):
        self.notifier = notifier
        self.casts = []       # [(method, args, kwargs)]; fdb_update: a _Fdb
        self.fdb = {}         # (host, network_id) -> _Fdb

    def __call__(self):
        api = self.notifier.api
        for method, args, kwargs in self.casts:
            if method == 'fdb_update':
                args[0].send(api)
            else:
                getattr(api, method)(*args, **kwargs)

    def add(self, method, *args, **kwargs):
        self.casts.append((method, args, kwargs))

    def fdb_update(self, host, network_id, add=(), remove=(), endpoints=None):
        fdb = self.fdb.get((host, network_id))
        if fdb is None:
            fdb = self.fdb[host, network_id] = _Fdb(host, network_id)
            self.casts.append(('fdb_update', (fdb,), {}))
        for entry in remove:
            fdb.add.pop(entry[1], None)
            fdb.remove[entry[1]] = entry
        for entry in add:
            fdb.remove.pop(entry[1], None)
            fdb.add[entry[1]] = entry
        if endpoints is not None:
            fdb.endpoints = endpoints


class _Fdb:
    def __init__(self, host, network_id):
        self.host, self.network_id = host, network_id
        self.add, self.remove, self.endpoints = {}, {}, None

    def send(self, api):
        api.fdb_update(self.network_id, list(self.add.values()), list(self.remove.values()),
                       host=self.host, endpoints=self.endpoints)


class Notifier(notifier.AfterCommitNotifier):
    client_class = agent_api.AgentNotifyAPI

    def _casts(self, context):
        """This transaction's _Casts (queued on after_commit once)."""
        for callback in context.after_commit:
            if isinstance(callback, _Casts) and callback.notifier is self:
                return callback
        casts = _Casts(self)
        context.after_commit.append(casts)
        return casts

    def port_changed(self, context, port, old_host=''):
        """Casts for a created or updated port: nothing for an unbound one."""
        host = port.get('binding:host_id') or ''
        old_host = old_host or ''
        if not (host or old_host):
            return
        casts = self._casts(context)
        if old_host and old_host != host:
            casts.add('port_delete', port['id'], host=old_host)
        if host:
            casts.add('port_update', _wire_view(port), host=host)
        network_type, hosts = l2_agents.network_hosts(context.connection, port['network_id'])
        # The hosts of the network changed if the port is the first of its
        # host there, or was the last of its old one.
        hosts_changed = (old_host != host and (
            (host and hosts.get(host) and hosts[host].ports == 1)
            or (old_host and old_host not in hosts)))
        add, remove = [], []
        if host in hosts and hosts[host].tunnel_ip:
            add = [l2_agents.fdb_entry(hosts[host].tunnel_ip, port)]
        elif old_host:      # unbound (or bound where no tunnel reaches it)
            remove = [l2_agents.fdb_entry('', port)]
        self._tell_hosts(casts, port['network_id'], network_type, hosts, {host}, add, remove,
                         hosts_changed)

    def port_deleted(self, context, port):
        host = port.get('binding:host_id')
        if not host:
            return
        casts = self._casts(context)
        casts.add('port_delete', port['id'], host=host)
        network_type, hosts = l2_agents.network_hosts(context.connection, port['network_id'])
        # Agents remove by MAC: the entry's tunnel_ip is not looked at.
        self._tell_hosts(casts, port['network_id'], network_type, hosts, {host}, [],
                         [l2_agents.fdb_entry('', port)], host not in hosts)

    def _tell_hosts(self, casts, network_id, network_type, hosts, skip, add, remove,
                    hosts_changed):
        """fdb_update to the l2_population hosts of an overlay network
        (except ``skip``: the port's own host, told by port_update), with
        the flooding list if ``hosts_changed``; endpoints_update to the
        others when ``hosts_changed``.  Nothing for other network types
        (no tunnels: no flooding list, no entries)."""
        if network_type not in l2_agents.OVERLAY_TYPES:
            return
        endpoints = None
        if hosts_changed:
            endpoints = [{'host': h, 'tunnel_ip': hosts[h].tunnel_ip} for h in sorted(hosts)]
        for other, info in sorted(hosts.items()):
            if other in skip:
                continue
            if info.l2_population and (add or remove or hosts_changed):
                casts.fdb_update(other, network_id, add, remove, endpoints)
            elif hosts_changed:
                casts.add('endpoints_update', network_id, endpoints, host=other)

    def network_changed(self, context, network):
        casts = self._casts(context)
        view = {k: network[k] for k in ('id', 'admin_state_up', 'mtu')}
        _type, hosts = l2_agents.network_hosts(context.connection, network['id'])
        for host in sorted(hosts):
            casts.add('network_update', view, host=host)

    def network_deleted(self, context, network_id):
        # Fanout: see the module docstring.
        self._casts(context).add('network_delete', network_id)


def _wire_view(port):
    return {'id': port['id'], 'network_id': port['network_id'],
            'admin_state_up': port['admin_state_up'],
            'mac_address': port['mac_address'], 'fixed_ips': port['fixed_ips'],
            'binding:host_id': port['binding:host_id']}
