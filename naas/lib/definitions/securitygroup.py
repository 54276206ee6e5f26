"""The security-groups resource (Neutron's ``security-group`` extension):
named sets of rules a port's traffic must match, owned by a project.

Each project has a group named ``default``, made on first use (a list of
the project's groups, a port created without groups): it cannot be
renamed, deleted by its project, or named again.  ``security_group_rules``
shows the group's rules (naas.lib.definitions.securitygroup_rule).  Served
by the security group plugin (naas.plugins.securitygroups); without it, 501.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'security-group'
NAME = 'security-group'
DESCRIPTION = 'The security groups extension.'

RESOURCE_NAME = 'security_group'
COLLECTION_NAME = 'security-groups'
#: The key of a list in request and response bodies (the path has dashes).
COLLECTION_KEY = 'security_groups'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.SecurityGroupNotFound, 'id')

#: The name of each project's own group.
DEFAULT_NAME = 'default'
DEFAULT_DESCRIPTION = 'Default security group'

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    # Extension stateful-security-group (securitygroup_stateful.py).
    'stateful': {'allow_post': True, 'allow_put': True, 'default': True,
                 'convert_to': validators.convert_to_boolean,
                 'validate': (validators.validate_boolean, None),
                 'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'shared': {'allow_post': False, 'allow_put': False, 'is_visible': True},
    'security_group_rules': {'allow_post': False, 'allow_put': False,
                             'is_visible': True},
    **base.standard_attrs(),
}
