"""Versioned RPC between naas-server, the agents and compute hosts
(oslo.messaging).

Each API is a client class (the side that sends) and an endpoint class (the
side that serves), in one module with the API's version history:

    server_api:  agents and compute hosts -> server (topic ``naas-plugin``)
    agent_api:   server -> agents (topic ``naas-agent``)
    l3_api:      server -> L3 agents (``naas-l3-agent``) and L3 agents ->
                 server (``naas-l3-plugin``)
    compute_api: server -> compute hosts (``naas-compute``)

Transport: ``transport_url`` ([DEFAULT]); ``rabbit://`` for real
deployments, the in-process ``fake:/`` driver for the embedded default.

Versions.  An API's version is MAJOR.MINOR.  A new method, or a new optional
argument, is a new minor version: the endpoint's target version goes up and
it keeps serving every older minor of the same major (oslo.messaging's
dispatcher accepts a message of the same major and a minor up to its own).
Each client method sends the lowest version whose form it uses, so that an
older peer understands everything it can.

Version caps ([upgrade_levels], naas.conf.upgrade_levels): one option per
API caps what its client sends.  A capped client never sends a message newer
than the cap: a method added after it falls back to an older form when one
exists, and otherwise is dropped (a cast the old peer would not know what to
do with) or raises VersionCapped (a call, whose caller needs the answer).

Rolling upgrade from release N (agent API 1.0, say) to N+1 (agent API 1.1):

1. Set the caps of the APIs the server sends to the versions the old agents
   serve, e.g. ``[upgrade_levels] agent = 1.0`` in naas-server's config,
   then upgrade and restart naas-server.  Its endpoints accept the old
   agents' calls (same major, lower minor); its clients send nothing the old
   agents cannot handle.
2. Upgrade and restart the agents, host by host.  They may call the new
   server's newest methods; the server still casts to them at the cap.
3. When every agent runs N+1, remove the caps and restart naas-server.

Agents upgraded before the server would need the reverse: ``server`` (and
``l3_server``) capped in the agents' config until the server is upgraded.
"""
import threading

import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts
from oslo_messaging._drivers import common as driver_common

from naas.conf import CONF

PLUGIN_TOPIC = 'naas-plugin'
AGENT_TOPIC = 'naas-agent'

DEFAULT_URL = 'fake:/'

#: Seconds an agent waits for the server to answer a call.
CALL_TIMEOUT = 30

_TRANSPORT = None
_LOCK = threading.Lock()


class VersionCapped(Exception):
    """A call newer than its client's [upgrade_levels] cap."""

    def __init__(self, method, version, upgrade_level, cap):
        super().__init__(
            '%s needs RPC version %s, but [upgrade_levels] %s caps this client '
            'at %s: upgrade the other side first, then remove the cap'
            % (method, version, upgrade_level, cap))


def register_opts(conf):
    """oslo.messaging's options, with the in-process driver as the default
    transport_url: one machine needs no broker."""
    messaging.set_transport_defaults(control_exchange='naas')
    for group, opts in messaging_opts.list_opts():
        if group in (None, 'DEFAULT'):
            conf.register_opts(opts)
    conf.set_default('transport_url', DEFAULT_URL)


register_opts(CONF)


def get_transport():
    global _TRANSPORT
    with _LOCK:
        if _TRANSPORT is None:
            _TRANSPORT = messaging.get_rpc_transport(CONF)
    return _TRANSPORT


def cleanup():
    global _TRANSPORT
    with _LOCK:
        if _TRANSPORT is not None:
            _TRANSPORT.cleanup()
        _TRANSPORT = None


def get_server(target, endpoints, transport=None):
    """An RPC server on oslo.messaging's threading executor (no eventlet);
    on ``transport`` if given (a connection of its own, as each agent of
    tools/bench_fleet.py has), else the process's."""
    return messaging.get_rpc_server(transport or get_transport(), target, endpoints,
                                    executor='threading')


def watch_reconnects(rpc_server, callback):
    """Call ``callback()`` each time the started ``rpc_server``'s listener
    has connected to a broker again and declared its queues anew; return
    False if the transport cannot tell (only rabbit:// can).

    Why: a server's queues are not durable on a single broker, so a cast
    published after a broker restart but before the listener has declared
    its queue again is dropped.  The queue exists once this is called, so
    a full resync started from here reads every change whose cast was lost
    (casts go after the change's commit).  oslo.messaging has no public
    hook: this wraps its rabbit driver's ``Connection._set_current_channel``
    (which declares the consumers on each new channel) on the listener's
    own connection (inside the driver pool's ConnectionContext).  ``callback`` runs in the listener's thread, holding
    its connection: it must only note the event and return.
    """
    poll_style = getattr(rpc_server.listener, '_poll_style_listener', None)
    connection = getattr(poll_style, 'conn', None)
    if isinstance(connection, driver_common.ConnectionContext):
        connection = connection.connection      # the pool's wrapper: the connection
    set_channel = getattr(connection, '_set_current_channel', None)
    if set_channel is None:
        return False

    def set_current_channel(new_channel):
        old_channel = connection.channel
        set_channel(new_channel)
        if new_channel is not None and new_channel is not old_channel:
            callback()

    connection._set_current_channel = set_current_channel
    return True


class Client:
    """The sending side of one API: an oslo.messaging RPCClient whose
    version_cap is the API's [upgrade_levels] option.

    Subclasses name ``TOPIC``, ``VERSION`` (the newest they know) and
    ``UPGRADE_LEVEL`` (their option in [upgrade_levels]).
    """

    TOPIC = None
    VERSION = None
    UPGRADE_LEVEL = None

    def __init__(self, timeout=None, transport=None):
        self.version_cap = CONF.upgrade_levels[self.UPGRADE_LEVEL]
        if self.version_cap is not None and (
                self.version_cap.split('.')[0] != self.VERSION.split('.')[0]):
            raise ValueError(
                '[upgrade_levels] %s = %s: this client speaks version %s; a cap '
                'must have its major version' % (self.UPGRADE_LEVEL, self.version_cap,
                                                 self.VERSION))
        target = messaging.Target(topic=self.TOPIC, version=self.VERSION)
        self.client = messaging.get_rpc_client(transport or get_transport(), target,
                                               timeout=timeout,
                                               version_cap=self.version_cap)

    def can_send_version(self, version):
        return self.client.can_send_version(version)

    def require_version(self, version, method):
        """Raise VersionCapped unless the cap lets ``method`` send ``version``."""
        if not self.can_send_version(version):
            raise VersionCapped(method, version, self.UPGRADE_LEVEL, self.version_cap)

    def cast(self, version, method, host=None, **kwargs):
        """Cast ``method`` at ``version`` to the server ``host`` listens as;
        no host: to every listener of the topic (fanout)."""
        if host:
            cctxt = self.client.prepare(version=version, server=host)
        else:
            cctxt = self.client.prepare(version=version, fanout=True)
        cctxt.cast({}, method, **kwargs)

    def call(self, context, version, method, **kwargs):
        return self.client.prepare(version=version).call(context, method, **kwargs)
