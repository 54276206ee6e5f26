"""Versioned RPC between naas-server and the agents (oslo.messaging).

server_api: what agents call on the server (topic ``naas-plugin``).
agent_api:  what the server casts to agents (topic ``naas-agent``).
Transport: ``transport_url`` ([DEFAULT]); ``rabbit://`` for real
deployments, the in-process ``fake:/`` driver for the embedded default.
"""
import threading

import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts

from naas.conf import CONF

PLUGIN_TOPIC = 'naas-plugin'
AGENT_TOPIC = 'naas-agent'

DEFAULT_URL = 'fake:/'

_TRANSPORT = None
_LOCK = threading.Lock()


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


def set_transport(transport):
    global _TRANSPORT
    with _LOCK:
        _TRANSPORT = transport


def cleanup():
    global _TRANSPORT
    with _LOCK:
        if _TRANSPORT is not None:
            _TRANSPORT.cleanup()
        _TRANSPORT = None


def get_server(target, endpoints):
    """An RPC server on oslo.messaging's threading executor (no eventlet)."""
    return messaging.get_rpc_server(get_transport(), target, endpoints,
                                    executor='threading')


def get_client(target, timeout=None):
    return messaging.get_rpc_client(get_transport(), target, timeout=timeout)
