"""What an attribute declaration may say, and helpers shared by definitions.

An attribute map is ``{attribute_name: {key: value}}`` with these keys:

allow_post      may be given on create (else 400 if given)
allow_put       may be given on update (else 400 if given)
default         value when absent on create; ATTR_NOT_SPECIFIED = required
                (when allow_post) or left to the plugin
validate        (validator, arg): validator(value, arg) -> None or a message
convert_to      converter(value) -> stored value, raises InvalidInput
is_visible      returned to clients
is_filter       usable as a query filter on lists
is_sort_key     usable as sort_key
enforce_policy  guarded by a rule "<action>_<resource>:<attribute>"
primary_key     the resource's id

A resource definition module has RESOURCE_NAME, COLLECTION_NAME,
RESOURCE_ATTRIBUTE_MAP and NOT_FOUND (the exception for an id the caller
cannot see, and the name of its id argument), and may have ACTIONS = {action: plugin method}:
member actions, PUT /{collection}/{id}/{action} with a bare JSON object,
guarded by the policy rule named like the action (naas.api.router).

An extension is described, as in neutron-lib, by a module with ALIAS, NAME
and DESCRIPTION: the module of the resource it adds (router.py), or a
descriptor-only module (provider.py) for an extension that adds attributes
or behaviour.  Every NaaS extension has the same ``updated`` time,
UPDATED_TIMESTAMP.  A plugin declares the modules it serves
by alias (naas.plugins.core.ServicePlugin); /v2.0/extensions lists them.
"""
from naas.lib import validators

ATTR_NOT_SPECIFIED = object()

ATTRIBUTE_KEYS = {
    'allow_post': bool, 'allow_put': bool, 'default': object,
    'validate': tuple, 'convert_to': object, 'is_visible': bool,
    'is_filter': bool, 'is_sort_key': bool, 'enforce_policy': bool,
    'primary_key': bool,
}
REQUIRED_KEYS = ('allow_post', 'allow_put', 'is_visible')

UPDATED_TIMESTAMP = '2026-11-01T00:00:00-00:00'

#: Query parameters that filter on tags (standard_attrs' ``tags``).
TAG_FILTERS = ('tags', 'tags-any', 'not-tags', 'not-tags-any')


def id_attr():
    return {'allow_post': False, 'allow_put': False,
            'validate': (validators.validate_uuid, None),
            'is_visible': True, 'is_filter': True, 'is_sort_key': True,
            'primary_key': True}


def name_attr():
    return {'allow_post': True, 'allow_put': True,
            'validate': (validators.validate_string, validators.NAME_MAX_LEN),
            'default': '', 'is_visible': True, 'is_filter': True,
            'is_sort_key': True}


def description_attr():
    return {'allow_post': True, 'allow_put': True,
            'validate': (validators.validate_string,
                         validators.DESCRIPTION_MAX_LEN),
            'default': '', 'is_visible': True, 'is_filter': True,
            'is_sort_key': True}


def project_attrs():
    """project_id and its old name tenant_id: either may be sent."""
    attr = {'allow_post': True, 'allow_put': False,
            'validate': (validators.validate_string, validators.NAME_MAX_LEN),
            'is_visible': True, 'is_filter': True, 'is_sort_key': True}
    return {'project_id': dict(attr), 'tenant_id': dict(attr)}


def shared_attr(allow_put=True):
    """``shared``: a boolean the owner sets (policy decides who may), False
    by default; networks, QoS policies (``allow_put``), subnet pools (set
    once, on create)."""
    return {'allow_post': True, 'allow_put': allow_put, 'default': False,
            'convert_to': validators.convert_to_boolean,
            'validate': (validators.validate_boolean, None),
            'is_visible': True, 'is_filter': True, 'is_sort_key': True,
            'enforce_policy': True}


def admin_state_attr():
    return {'allow_post': True, 'allow_put': True, 'default': True,
            'convert_to': validators.convert_to_boolean,
            'validate': (validators.validate_boolean, None),
            'is_visible': True, 'is_filter': True, 'is_sort_key': True}


def standard_attrs():
    """Timestamps, revision and tags, which every core resource has."""
    ro = {'allow_post': False, 'allow_put': False, 'is_visible': True,
          'is_filter': True, 'is_sort_key': True}
    return {
        'created_at': dict(ro),
        'updated_at': dict(ro),
        # Converted as a filter: ?revision_number= is an integer.
        'revision_number': dict(ro, convert_to=validators.convert_to_int),
        'tags': {'allow_post': False, 'allow_put': False, 'is_visible': True,
                 'is_filter': True, 'is_sort_key': False},
    }
