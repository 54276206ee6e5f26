"""The default-security-group-rules resource (Neutron's
``security-groups-default-rules`` extension): the administrator's template
of the rules a new security group gets.

A template rule says whether it goes into each project's ``default`` group
(``used_in_default_sg``), into the groups projects create
(``used_in_non_default_sg``), or both.  Its ``remote_group_id`` is null or
PARENT: the group the rule is copied into.  Neutron's template, which a
new database starts with: egress of anything over IPv4 and IPv6 in every
group; ingress over IPv4 and IPv6 from the members of the same group in
``default`` groups only.  Changing the template changes no existing group.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base
from naas.lib.definitions import securitygroup_rule

ALIAS = 'security-groups-default-rules'
NAME = 'Default rules for security groups'
DESCRIPTION = ('Configure set of security group rules used as default rules for every '
               'new security group')

RESOURCE_NAME = 'default_security_group_rule'
COLLECTION_NAME = 'default-security-group-rules'
#: The key of a list in request and response bodies (the path has dashes).
COLLECTION_KEY = 'default_security_group_rules'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.DefaultSecurityGroupRuleNotFound, 'id')

#: remote_group_id of a template rule: the group it is copied into.
PARENT_GROUP = 'PARENT'

#: Neutron's template: (direction, ethertype, remote_group_id,
#: used_in_default_sg, used_in_non_default_sg).
NEUTRON_TEMPLATE = (
    ('egress', 'IPv4', None, True, True),
    ('egress', 'IPv6', None, True, True),
    ('ingress', 'IPv4', PARENT_GROUP, True, False),
    ('ingress', 'IPv6', PARENT_GROUP, True, False),
)


def _boolean(default):
    return {'allow_post': True, 'allow_put': False, 'default': default,
            'convert_to': validators.convert_to_boolean,
            'validate': (validators.validate_boolean, None),
            'is_visible': True, 'is_filter': True}


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'description': dict(base.description_attr(), allow_put=False),
    'remote_group_id': {'allow_post': True, 'allow_put': False, 'default': None,
                        'validate': (validators.validate_values, (None, PARENT_GROUP)),
                        'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    **securitygroup_rule.rule_attrs(),
    'used_in_default_sg': _boolean(False),
    'used_in_non_default_sg': _boolean(True),
}
