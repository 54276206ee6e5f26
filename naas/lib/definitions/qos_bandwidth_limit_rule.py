"""A QoS policy's bandwidth limit rules (sub-resource of qos/policies):
/v2.0/qos/policies/{policy_id}/bandwidth_limit_rules, and the extension
``qos-bw-limit-direction`` (a rule per direction: egress leaves the VM,
ingress reaches it; at most one of each in a policy)."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base
from naas.lib.definitions import qos

ALIAS = 'qos-bw-limit-direction'
NAME = 'Direction for QoS bandwidth limit rule'
DESCRIPTION = ('Allow to configure QoS bandwidth limit rule with specific direction: '
               'ingress or egress')

RESOURCE_NAME = 'bandwidth_limit_rule'
COLLECTION_NAME = 'bandwidth_limit_rules'
PARENT = qos
RULE_TYPE = 'bandwidth_limit'
NOT_FOUND = (exceptions.QosRuleNotFound, 'rule_id')

DIRECTIONS = ('egress', 'ingress')

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'max_kbps': {'allow_post': True, 'allow_put': True,
                 'convert_to': validators.convert_to_int,
                 'validate': (validators.validate_range, (0, qos.MAX_INT)),
                 'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'max_burst_kbps': {'allow_post': True, 'allow_put': True, 'default': 0,
                       'convert_to': validators.convert_to_int,
                       'validate': (validators.validate_range, (0, qos.MAX_INT)),
                       'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'direction': {'allow_post': True, 'allow_put': True, 'default': 'egress',
                  'validate': (validators.validate_values, DIRECTIONS),
                  'is_visible': True, 'is_filter': True, 'is_sort_key': True},
}
