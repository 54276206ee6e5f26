"""The QoS rule types (/v2.0/qos/rule-types, read only) and the extension
``qos-rule-type-details``: GET /v2.0/qos/rule-types/{type} names the drivers
(the alive L2 agents' types) that enforce it and the rule's parameters.

A type is listed while an alive L2 agent reports it in its
configurations.qos_rule_types (naas.agent.l2.hooks.QoS); a rule of any other
type is refused (naas.plugins.qos)."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import qos_bandwidth_limit_rule
from naas.lib.definitions import qos_dscp_marking_rule
from naas.lib.definitions import qos_packet_rate_limit_rule

ALIAS = 'qos-rule-type-details'
NAME = 'QoS rule type details'
DESCRIPTION = 'Expose details about QoS rule types supported by loaded backend drivers'

RESOURCE_NAME = 'rule_type'
COLLECTION_NAME = 'qos/rule-types'
#: The key of its lists in bodies: {"rule_types": [...]}, as in Neutron.
COLLECTION_KEY = 'rule_types'
NOT_FOUND = (exceptions.QosRuleTypeNotFound, 'rule_type')

#: rule type -> the definition of its rules.
RULE_DEFINITIONS = {definition.RULE_TYPE: definition for definition in (
    qos_bandwidth_limit_rule, qos_dscp_marking_rule, qos_packet_rate_limit_rule)}

RESOURCE_ATTRIBUTE_MAP = {
    # A rule type is named by its type (GET /v2.0/qos/rule-types/{type});
    # ``id`` is that name, not shown (Neutron shows type and drivers only).
    'id': {'allow_post': False, 'allow_put': False,
           'validate': (validators.validate_values, tuple(sorted(RULE_DEFINITIONS))),
           'is_visible': False, 'primary_key': True},
    'type': {'allow_post': False, 'allow_put': False,
             'validate': (validators.validate_values, tuple(sorted(RULE_DEFINITIONS))),
             'is_visible': True, 'is_filter': True},
    'drivers': {'allow_post': False, 'allow_put': False, 'is_visible': True},
}
