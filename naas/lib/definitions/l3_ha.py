"""API extension ``l3-ha`` (Neutron's): the routers' ``ha`` attribute.

An HA router runs on several L3 agents at once, keepalived VRRP choosing
which instance routes (naas.plugins.l3.ha, docs/ha.md).  Only an
administrator sets or sees ``ha`` (Neutron's policy); unset on create, it is
``[DEFAULT] l3_ha``.  It can change only while the router's admin_state_up
is false.
"""
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'l3-ha'
NAME = 'HA Router extension'
DESCRIPTION = 'Adds HA capability to routers.'

HA = 'ha'


def convert_ha(value):
    return value if value is base.ATTR_NOT_SPECIFIED else validators.convert_to_boolean(value)


#: collection -> attributes this extension adds to it.
EXTENDED_ATTRIBUTES = {
    'routers': {HA: {'allow_post': True, 'allow_put': True,
                     'default': base.ATTR_NOT_SPECIFIED,
                     'convert_to': convert_ha,
                     'is_visible': True, 'enforce_policy': True}},
}
