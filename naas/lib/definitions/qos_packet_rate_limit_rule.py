"""A QoS policy's packet rate limit rules (sub-resource of qos/policies):
/v2.0/qos/policies/{policy_id}/packet_rate_limit_rules, extension
``qos-pps``; at most one per direction in a policy."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base
from naas.lib.definitions import qos
from naas.lib.definitions import qos_bandwidth_limit_rule

ALIAS = 'qos-pps'
NAME = 'QoS Rule Type Packet per Second Extension'
DESCRIPTION = 'Adds support for QoS Packet per Second Rule'

RESOURCE_NAME = 'packet_rate_limit_rule'
COLLECTION_NAME = 'packet_rate_limit_rules'
PARENT = qos
RULE_TYPE = 'packet_rate_limit'
NOT_FOUND = (exceptions.QosRuleNotFound, 'rule_id')

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'max_kpps': {'allow_post': True, 'allow_put': True,
                 'convert_to': validators.convert_to_int,
                 'validate': (validators.validate_range, (0, qos.MAX_INT)),
                 'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'max_burst_kpps': {'allow_post': True, 'allow_put': True, 'default': 0,
                       'convert_to': validators.convert_to_int,
                       'validate': (validators.validate_range, (0, qos.MAX_INT)),
                       'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'direction': {'allow_post': True, 'allow_put': True, 'default': 'egress',
                  'validate': (validators.validate_values,
                               qos_bandwidth_limit_rule.DIRECTIONS),
                  'is_visible': True, 'is_filter': True, 'is_sort_key': True},
}
