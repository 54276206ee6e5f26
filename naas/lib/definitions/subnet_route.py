"""The subnet-routes resource (NaaS extension ``subnet-routes``): a route
between two subnets of one project, in one network or in two.

POST /v2.0/subnet-routes {"subnet_route": {"subnet_ids": [A, B]}} answers
201 with the route's id.  Served by an L3 service plugin
(naas.plugins.l3.subnet_routes says how it is realised); without one, 501.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'subnet-routes'
NAME = 'NaaS routes between subnets'
DESCRIPTION = ('Routes between two subnets of one project, in one network or in two '
               '(NaaS extension).')

RESOURCE_NAME = 'subnet_route'
COLLECTION_NAME = 'subnet-routes'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.SubnetRouteNotFound, 'id')


def validate_subnet_pair(value, _arg=None):
    msg = validators.validate_uuid_list(value)
    if msg:
        return msg
    if len(value) != 2:
        return "'%s' must name exactly two distinct subnets" % (value,)
    return None


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'subnet_ids': {'allow_post': True, 'allow_put': False,
                   'validate': (validate_subnet_pair, None),
                   'is_visible': True, 'is_filter': True},
    'status': {'allow_post': False, 'allow_put': False, 'is_visible': True,
               'is_filter': True, 'is_sort_key': True},
    **base.standard_attrs(),
}
