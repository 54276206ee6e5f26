"""The casts of security group changes to the L2 agents, after commit
(naas.rpc.agent_api security_groups_updated; the agent then asks
get_security_group_info again).

Only the hosts that need a change hear of it, one cast per host: a group's
rules changed -> the hosts with ports in it; a group's members changed (a
port joined or left it, a member's addresses changed) -> the hosts with
ports in it or in a group whose rules name it as remote_group_id; an
address group changed -> the hosts with ports in the groups whose rules
name it.  The hosts are read in the request's transaction; the casts wait
for the commit (naas.rpc.notifier).
"""
from naas.plugins.securitygroups import port_groups
from naas.plugins.securitygroups import rules
from naas.rpc import agent_api
from naas.rpc import notifier


class Notifier(notifier.AfterCommitNotifier):
    client_class = agent_api.AgentNotifyAPI

    def rules_changed(self, context, group_ids):
        self._cast(context, set(group_ids))

    def members_changed(self, context, group_ids, but_port=None):
        """``but_port``: a port being deleted (its host hears port_delete)."""
        by_host = port_groups.hosts_of_groups(context.connection, set(group_ids), but_port,
                                              with_naming=True)
        self._cast_to(context, by_host)

    def address_group_changed(self, context, address_group_id):
        self._cast(context, rules.naming_address_group(context.connection, address_group_id))

    def _cast(self, context, group_ids):
        self._cast_to(context, port_groups.hosts_of_groups(context.connection, group_ids))

    def _cast_to(self, context, by_host):
        for host, ids in sorted(by_host.items()):
            self._later(context, 'security_groups_updated', sorted(ids), host=host)
