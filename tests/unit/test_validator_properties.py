"""Every attribute's converter and validator (naas.lib.definitions through
naas.lib.attributes) answers any JSON value with a value or InvalidInput,
never another exception (which the API would answer with a 500).  Values
are drawn by hypothesis: any JSON, and strings shaped like what the
validators parse (MAC addresses, IP addresses, CIDRs)."""
import hypothesis
from hypothesis import strategies as st
import testtools

from naas.common import exceptions
from naas.lib import attributes
from naas.lib import definitions

_HEX2 = st.text('0123456789abcdefABCDEF', min_size=2, max_size=2)
MAC_LIKE = st.builds(lambda parts, seps: ''.join(p + s for p, s in zip(parts, seps)) + parts[-1],
                     st.lists(_HEX2, min_size=6, max_size=6),
                     st.lists(st.sampled_from(':-.'), min_size=5, max_size=5))
ADDRESS_LIKE = st.one_of(
    MAC_LIKE, st.ip_addresses().map(str),
    st.builds('{}/{}'.format, st.ip_addresses(), st.integers(-1, 200)))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | ADDRESS_LIKE,
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.sampled_from(['ip_address', 'mac_address', 'subnet_id', 'start', 'end',
                                     'destination', 'nexthop', 'network_id']) | st.text(),
                    children, max_size=4),
    max_leaves=8)
ATTRIBUTES = sorted((definition.RESOURCE_NAME, name, spec)
                    for definition in definitions.RESOURCES.values()
                    for name, spec in definition.RESOURCE_ATTRIBUTE_MAP.items()
                    if 'validate' in spec or 'convert_to' in spec)


class TestValidators(testtools.TestCase):

    @hypothesis.settings(max_examples=400, deadline=None, derandomize=True, database=None)
    @hypothesis.given(attribute=st.sampled_from(ATTRIBUTES), value=JSON)
    def test_any_value_is_accepted_or_invalid_input(self, attribute, value):
        resource, name, spec = attribute
        try:
            attributes.prepare_update(resource, {name: spec}, {name: value})
        except exceptions.BadRequest:
            pass   # InvalidInput is a BadRequest

    @hypothesis.settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @hypothesis.given(mac=MAC_LIKE, attribute=st.sampled_from(['mac_address',
                                                               'allowed_address_pairs']))
    def test_mac_address_accepted_or_invalid_input(self, mac, attribute):
        """The port's MAC and the MACs of its address pairs: separators
        mixed, wrong, or multicast."""
        value = mac if attribute == 'mac_address' else [
            {'ip_address': '10.0.0.5', 'mac_address': mac}]
        port = definitions.RESOURCES['ports'].RESOURCE_ATTRIBUTE_MAP
        try:
            attributes.prepare_update('port', port, {attribute: value})
        except exceptions.BadRequest:
            pass
