"""The QoS policies resource and the ``qos`` extension (Neutron's qos API
definition): /v2.0/qos/policies, and ``qos_policy_id`` on networks and
ports.

Served by the QoS service plugin (naas.plugins.qos); without it, 501 and no
qos_policy_id attribute: the attribute is declared here, in
EXTENDED_ATTRIBUTES, and added to the networks and ports attribute maps
only when a loaded plugin implements this extension
(naas.plugins.manager.Registry.attribute_map).  A policy's rules are
sub-resources (qos_bandwidth_limit_rule, qos_dscp_marking_rule,
qos_packet_rate_limit_rule); its ``rules`` attribute lists them all.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'qos'
NAME = 'Quality of Service'
DESCRIPTION = 'The Quality of Service extension.'

RESOURCE_NAME = 'policy'
COLLECTION_NAME = 'qos/policies'
#: The key of its lists in bodies: {"policies": [...]}, as in Neutron.
COLLECTION_KEY = 'policies'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.QosPolicyNotFound, 'policy_id')

#: Largest rate or burst a rule takes (Neutron: the database's INTEGER).
MAX_INT = 2 ** 31 - 1

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'shared': base.shared_attr(),
    # Extension qos-default (qos_default.py): one default policy per project.
    'is_default': {'allow_post': True, 'allow_put': True, 'default': False,
                   'convert_to': validators.convert_to_boolean,
                   'validate': (validators.validate_boolean, None),
                   'is_visible': True, 'is_filter': True},
    'rules': {'allow_post': False, 'allow_put': False, 'is_visible': True},
    **base.standard_attrs(),
}

QOS_POLICY_ID = 'qos_policy_id'

#: collection -> attributes this extension adds to it.
EXTENDED_ATTRIBUTES = {
    collection: {QOS_POLICY_ID: {
        'allow_post': True, 'allow_put': True, 'default': None,
        'validate': (validators.validate_uuid_or_none, None),
        'is_visible': True}}
    for collection in ('networks', 'ports')
}
