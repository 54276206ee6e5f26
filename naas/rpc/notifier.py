"""Casts that wait for the request's transaction to commit."""


class AfterCommitNotifier:
    """Base of the plugins' notifiers: ``_later`` queues a cast of the RPC
    client (made on first use, so that importing a plugin opens no
    transport) on ``context.after_commit`` (naas.db.api.transaction runs
    those after the commit): a request that fails sends nothing, and agents
    never hear of rows they cannot read yet."""

    #: The RPC client class, e.g. naas.rpc.agent_api.AgentNotifyAPI.
    client_class = None

    def __init__(self):
        self._api = None

    @property
    def api(self):
        if self._api is None:
            self._api = self.client_class()
        return self._api

    def _later(self, context, method, *args, **kwargs):
        def cast():
            getattr(self.api, method)(*args, **kwargs)
        context.after_commit.append(cast)
