"""Constants that the server and the agents both use (written once)."""

#: agent_type of each kind of agent (the ``agents`` table, /v2.0/agents).
AGENT_TYPE_LINUXBRIDGE = 'NaaS Linux bridge agent'
AGENT_TYPE_OVS = 'NaaS Open vSwitch agent'
AGENT_TYPE_L3 = 'NaaS L3 agent'

#: Network types realised as tunnels between hosts (L2 population announces their ports).
OVERLAY_NETWORK_TYPES = ('vxlan', 'gre')

#: device_owner values with a meaning to NaaS.
DEVICE_OWNER_NETWORK_PREFIX = 'network:'  # every port a service makes
DEVICE_OWNER_DHCP = 'network:dhcp'
DEVICE_OWNER_ROUTER_INTF = 'network:router_interface'
DEVICE_OWNER_ROUTER_GW = 'network:router_gateway'
DEVICE_OWNER_ROUTER_HA_INTF = 'network:router_ha_interface'  # VRRP port of an HA router
DEVICE_OWNER_FLOATINGIP = 'network:floatingip'
