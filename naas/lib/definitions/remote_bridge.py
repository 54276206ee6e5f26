"""The remote-bridges resource (NaaS extension ``remote-bridges``): a
project's network joined, at layer 2, to a network at a remote site through
a tunnel from one NaaS host to the remote site's VTEP (a switch, a router
or a Linux box that speaks VXLAN: nothing of NaaS runs there).

networking-l2gw's l2-gateway-connection (network_id, segmentation_id) was
the model, without its gateway object: the remote end is an address, not a
device NaaS manages.  POST /v2.0/remote-bridges
{"remote_bridge": {"network_id", "remote_ip", "segmentation_id"}} answers
201; ``encapsulation`` is ``vxlan`` (UDP 4789; the only one both L2 drivers
realise), ``host`` the NaaS host that terminates the tunnel (chosen by the
server among the alive L2 agents that can, or by an administrator),
``remote_entries`` [{mac_address, ip_address}] the remote site's hosts
known in advance (the rest is learned), ``status`` what the bridging
host's agent reports (DOWN until it has made the tunnel, ACTIVE, ERROR).
Served by the bridges plugin (naas.plugins.bridges); without it, 501.
"""
from naas.common import exceptions
from naas.lib import validators
from naas.lib.definitions import base

ALIAS = 'remote-bridges'
NAME = 'Remote-site bridges'
DESCRIPTION = ('Layer-2 bridges between a network and a remote site over a VXLAN '
               'tunnel to a remote VTEP (NaaS extension).')

RESOURCE_NAME = 'remote_bridge'
COLLECTION_NAME = 'remote-bridges'
#: The key of its lists in bodies (the path has a dash).
COLLECTION_KEY = 'remote_bridges'


class RemoteBridgeNotFound(exceptions.NotFound):
    message = 'Remote bridge %(id)s could not be found.'


#: The error for an id the caller cannot see: (exception, its id argument).
NOT_FOUND = (RemoteBridgeNotFound, 'id')

ENCAPSULATIONS = ('vxlan',)
#: A VXLAN network identifier (24 bits; 0 is reserved).
MAX_VNI = 2 ** 24 - 1
#: Static remote entries one bridge may have.
MAX_REMOTE_ENTRIES = 256
STATUSES = ('DOWN', 'ACTIVE', 'ERROR')

_validate_entry = validators.validate_dict_of({
    'mac_address': (True, validators.validate_mac_address),
    'ip_address': (False, validators.validate_ip_address_or_none),
})
validate_remote_entries = validators.validate_list_of(_validate_entry, MAX_REMOTE_ENTRIES)

RESOURCE_ATTRIBUTE_MAP = {
    'id': base.id_attr(),
    'name': base.name_attr(),
    'description': base.description_attr(),
    **base.project_attrs(),
    'network_id': {'allow_post': True, 'allow_put': False,
                   'validate': (validators.validate_uuid, None),
                   'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'remote_ip': {'allow_post': True, 'allow_put': False,
                  'validate': (validators.validate_ip_address, None),
                  'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'segmentation_id': {'allow_post': True, 'allow_put': False,
                        'convert_to': validators.convert_to_int,
                        'validate': (validators.validate_range, (1, MAX_VNI)),
                        'is_visible': True, 'is_filter': True, 'is_sort_key': True},
    'encapsulation': {'allow_post': True, 'allow_put': False, 'default': 'vxlan',
                      'validate': (validators.validate_values, ENCAPSULATIONS),
                      'is_visible': True, 'is_filter': True},
    # Chosen by the server unless an administrator names it (policy
    # create_remote_bridge:host).
    'host': {'allow_post': True, 'allow_put': False, 'default': None,
             'validate': (validators.validate_string_or_none, validators.NAME_MAX_LEN),
             'is_visible': True, 'is_filter': True, 'enforce_policy': True},
    'remote_entries': {'allow_post': True, 'allow_put': True, 'default': [],
                       'convert_to': validators.convert_none_to_empty_list,
                       'validate': (validate_remote_entries, None),
                       'is_visible': True},
    'status': {'allow_post': False, 'allow_put': False, 'is_visible': True,
               'is_filter': True, 'is_sort_key': True},
    **base.standard_attrs(),
}
