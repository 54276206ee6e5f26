"""A QoS policy's DSCP marking rule (sub-resource of qos/policies):
/v2.0/qos/policies/{policy_id}/dscp_marking_rules, at most one in a policy;
the marks Neutron accepts (VALID_DSCP_MARKS)."""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base
from naas.lib.definitions import qos

RESOURCE_NAME = 'dscp_marking_rule'
COLLECTION_NAME = 'dscp_marking_rules'
PARENT = qos
RULE_TYPE = 'dscp_marking'
NOT_FOUND = (exceptions.QosRuleNotFound, 'rule_id')

#: Neutron's valid DSCP marks: CS0-CS7, AF11-AF43, EF (and 44, VOICE-ADMIT).
VALID_DSCP_MARKS = (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38,
                    40, 44, 46, 48, 56)

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'dscp_mark': {'allow_post': True, 'allow_put': True,
                  'convert_to': validators.convert_to_int,
                  'validate': (validators.validate_values, VALID_DSCP_MARKS),
                  'is_visible': True, 'is_filter': True, 'is_sort_key': True},
}
