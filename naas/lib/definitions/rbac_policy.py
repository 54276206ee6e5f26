"""The rbac-policies resource (Neutron's ``rbac-policies`` extension): an
entry grants ``target_tenant`` (a project, or ``*`` for every project) an
``action`` on one object (``object_type``, ``object_id``).

Served by the core plugin (naas.plugins.l2; naas.db.rbac holds the entries
and the object types a plugin registers: 'network' with access_as_shared
and access_as_external, and those of the service plugins loaded).  The
object type and the action are checked against that registry, as Neutron
checks them against its RBAC models.  Unlike Neutron, a target project id
need not be a UUID: project ids here are whatever the token carries.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'rbac-policies'
NAME = 'RBAC Policies'
DESCRIPTION = ('Allows creation and modification of policies that control tenant '
               'access to resources.')

RESOURCE_NAME = 'rbac_policy'
COLLECTION_NAME = 'rbac-policies'
#: The key of its lists in bodies.
COLLECTION_KEY = 'rbac_policies'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.RbacPolicyNotFound, 'id')

ACCESS_SHARED = 'access_as_shared'
ACCESS_EXTERNAL = 'access_as_external'
WILDCARD = '*'


def validate_target(value, _arg=None):
    """A project id or '*'."""
    msg = validators.validate_string(value, validators.NAME_MAX_LEN)
    if msg:
        return msg
    if not value.strip() or value != value.strip():
        return "'%s' is not a valid target project ID; expected a project ID or '*'" % (
            validators.excerpt(value),)
    return None


def _string(max_len, **keys):
    return dict({'allow_post': True, 'allow_put': False,
                 'validate': (validators.validate_string, max_len),
                 'is_visible': True, 'is_filter': True, 'is_sort_key': True}, **keys)


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    **base.project_attrs(),
    'object_type': _string(validators.NAME_MAX_LEN),
    'object_id': {'allow_post': True, 'allow_put': False,
                  'validate': (validators.validate_uuid, None),
                  'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'target_tenant': {'allow_post': True, 'allow_put': True,
                      'validate': (validate_target, None),
                      'is_visible': True, 'is_filter': True, 'is_sort_key': True,
                      'enforce_policy': True},
    'action': _string(validators.DESCRIPTION_MAX_LEN),
}
