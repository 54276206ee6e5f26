"""The casts of remote-bridge changes, after commit: the bridging host's
agent reads its ports of the network again (their details carry the
network's remotes, naas.plugins.bridges.remote_bridges.remotes_for_details)
and calls its driver's set_remotes (naas.rpc.agent_api
remote_bridges_updated; one cast, to that host only)."""
from naas.rpc import agent_api
from naas.rpc import notifier


class Notifier(notifier.AfterCommitNotifier):
    client_class = agent_api.AgentNotifyAPI

    def bridges_changed(self, context, network_id, host):
        self._later(context, 'remote_bridges_updated', network_id, host)
