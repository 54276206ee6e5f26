"""The floatingips resource (Neutron's router extension).

Part of the ``router`` extension (naas.lib.definitions.router.ALIAS), as
in Neutron.  Served by an L3 service plugin (naas.plugins.l3); without
one, 501.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base


RESOURCE_NAME = 'floatingip'
COLLECTION_NAME = 'floatingips'
#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (exceptions.FloatingIPNotFound, 'floatingip_id')


def _attr(post, put, validate=None, default=base.ATTR_NOT_SPECIFIED, visible=True,
          sort=True, **extra):
    spec = {'allow_post': post, 'allow_put': put, 'is_visible': visible,
            'is_filter': visible, **extra}
    if sort and visible:
        spec['is_sort_key'] = True
    if validate is not None:
        spec['validate'] = (validate, None)
    if default is not base.ATTR_NOT_SPECIFIED:
        spec['default'] = default
    return spec


RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'floating_ip_address': _attr(True, False, validators.validate_ip_address_or_none,
                                 default=None, enforce_policy=True),
    'subnet_id': _attr(True, False, validators.validate_uuid_or_none, default=None,
                       visible=False),
    'floating_network_id': _attr(True, False, validators.validate_uuid),
    'router_id': _attr(False, False),
    'port_id': _attr(True, True, validators.validate_uuid_or_none, default=None),
    'fixed_ip_address': _attr(True, True, validators.validate_ip_address_or_none,
                              default=None),
    'status': _attr(False, False),
    **base.standard_attrs(),
}
