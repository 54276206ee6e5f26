"""Default policy rules, in code; a deployer's policy.yaml overrides any.

Roles: ``admin`` (any project), ``member`` (writes in its own project),
``reader`` (reads in its own project); admin implies member implies reader.
Shared and external networks are readable by every project, and a network's
owner sees the ports and subnets on it.

Only an administrator creates anything for another project: every create
rule holds the item's project_id to the caller's (``admin_or_member``), so
nothing is charged to another project's quota.  A subnet goes on the
caller's own network, a port on its own network or a shared one (Neutron's
create_port; an external network that is not shared is not the caller's
to plug into: 403).  Neutron checks the same in code
(_validate_network_project_ownership, which its own comment would rather
see folded into policy); here the rules are the one place, checked by the
API before quota.
"""
from oslo_policy import policy

from naas.common import policy_checks  # noqa: F401  (field: before the rules below)

ADMIN = 'rule:context_is_admin'
PROJECT_MEMBER = 'role:member and project_id:%(project_id)s'
PROJECT_READER = 'role:reader and project_id:%(project_id)s'
NET_OWNER_MEMBER = 'role:member and project_id:%(network:project_id)s'
NET_OWNER_READER = 'role:reader and project_id:%(network:project_id)s'

BASE_RULES = [
    policy.RuleDefault('context_is_admin', 'role:admin',
                       'Who counts as a cloud administrator.'),
    policy.RuleDefault('admin_only', ADMIN, 'Administrators only.'),
    policy.RuleDefault('shared', 'field:networks:shared=True',
                       'The network is shared with every project.'),
    policy.RuleDefault('external', 'field:networks:router:external=True',
                       'The network is an external network.'),
    policy.RuleDefault('admin_or_member', '%s or (%s)' % (ADMIN, PROJECT_MEMBER),
                       'An administrator, or a member of the owning project.'),
    policy.RuleDefault('admin_or_reader', '%s or (%s)' % (ADMIN, PROJECT_READER),
                       'An administrator, or a reader of the owning project.'),
    policy.RuleDefault('admin_or_network_owner',
                       '%s or (%s)' % (ADMIN, NET_OWNER_MEMBER),
                       'An administrator, or a member of the project that '
                       'owns the network.'),
]


def _crud(resource, create, get, update, delete):
    rules = []
    for op, check in (('create', create), ('get', get), ('update', update),
                      ('delete', delete)):
        rules.append(policy.RuleDefault('%s_%s' % (op, resource), check,
                                        '%s a %s.' % (op.capitalize(), resource)))
    return rules


def _attr(action, check):
    return policy.RuleDefault(action, check, 'Who may use %s.' % action)


NETWORK_RULES = _crud(
    'network',
    create='rule:admin_or_member',
    get='rule:admin_or_reader or rule:shared or rule:external',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    _attr('create_network:shared', 'rule:admin_only'),
    _attr('update_network:shared', 'rule:admin_only'),
    _attr('create_network:router:external', 'rule:admin_only'),
    _attr('update_network:router:external', 'rule:admin_only'),
    _attr('create_network:provider:network_type', 'rule:admin_only'),
    _attr('create_network:provider:physical_network', 'rule:admin_only'),
    _attr('create_network:provider:segmentation_id', 'rule:admin_only'),
    _attr('update_network:provider:network_type', 'rule:admin_only'),
    _attr('update_network:provider:physical_network', 'rule:admin_only'),
    _attr('update_network:provider:segmentation_id', 'rule:admin_only'),
    _attr('get_network:provider:network_type', 'rule:admin_only'),
    _attr('get_network:provider:physical_network', 'rule:admin_only'),
    _attr('get_network:provider:segmentation_id', 'rule:admin_only'),
]

SUBNET_RULES = _crud(
    'subnet',
    create='rule:admin_or_member and rule:admin_or_network_owner',
    get='rule:admin_or_reader or rule:shared or rule:external or (%s)'
        % NET_OWNER_READER,
    update='rule:admin_or_network_owner',
    delete='rule:admin_or_network_owner')

PORT_RULES = _crud(
    'port',
    create='rule:admin_or_member and (rule:admin_or_network_owner or rule:shared)',
    get='rule:admin_or_reader or (%s)' % NET_OWNER_READER,
    update='rule:admin_or_member or rule:admin_or_network_owner',
    delete='rule:admin_or_member or rule:admin_or_network_owner') + [
    _attr('create_port:mac_address', 'rule:admin_or_network_owner'),
    _attr('create_port:fixed_ips:ip_address', 'rule:admin_or_network_owner'),
    _attr('update_port:fixed_ips:ip_address', 'rule:admin_or_network_owner'),
    _attr('update_port:mac_address', 'rule:admin_only'),
    _attr('create_port:device_owner',
          'not rule:network_device or rule:admin_or_network_owner'),
    _attr('update_port:device_owner',
          'not rule:network_device or rule:admin_or_network_owner'),
    policy.RuleDefault('network_device', 'field:port:device_owner=~^network:',
                       'The port belongs to a network service.'),
] + [
    _attr('%s_port:%s' % (op, attr), 'rule:admin_only')
    for op in ('create', 'update', 'get')
    for attr in ('binding:host_id', 'binding:profile', 'binding:vif_type',
                 'binding:vif_details')
]

# L3 (naas.plugins.l3), Neutron's defaults: members create routers and
# floating IPs in their project; SNAT, chosen gateway and floating addresses
# are an administrator's.
ROUTER_RULES = _crud(
    'router',
    create='rule:admin_or_member',
    get='rule:admin_or_reader',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    _attr('%s_router:external_gateway_info%s' % (op, sub), check)
    for op in ('create', 'update')
    for sub, check in (('', 'rule:admin_or_member'),
                       (':network_id', 'rule:admin_or_member'),
                       (':enable_snat', 'rule:admin_only'),
                       (':external_fixed_ips', 'rule:admin_only'))
] + [
    _attr('add_router_interface', 'rule:admin_or_member'),
    _attr('remove_router_interface', 'rule:admin_or_member'),
] + [
    # l3-ha and the L3 agents of a router (with their ha_state): Neutron's.
    _attr('%s_router:ha' % op, 'rule:admin_only') for op in ('create', 'update', 'get')
] + [
    _attr('get_router_l3_agent', 'rule:admin_only'),
]

FLOATINGIP_RULES = _crud(
    'floatingip',
    create='rule:admin_or_member',
    get='rule:admin_or_reader',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    _attr('create_floatingip:floating_ip_address', 'rule:admin_only'),
]

# Subnet pools: members make their project's; a shared pool is readable (and
# usable for subnets) by every project, and only an administrator shares one
# or makes one the default.
SUBNETPOOL_RULES = _crud(
    'subnetpool',
    create='rule:admin_or_member',
    get='rule:admin_or_reader or rule:shared_subnetpools',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    policy.RuleDefault('shared_subnetpools', 'field:subnetpools:shared=True',
                       'The subnet pool is shared with every project.'),
    _attr('create_subnetpool:shared', 'rule:admin_only'),
    _attr('create_subnetpool:is_default', 'rule:admin_only'),
    _attr('update_subnetpool:is_default', 'rule:admin_only'),
]

SUBNET_ROUTE_RULES = _crud(
    'subnet_route',
    create='rule:admin_or_member',
    get='rule:admin_or_reader',
    update='rule:admin_or_member',
    delete='rule:admin_or_member')

# Security groups (naas.plugins.securitygroups), Neutron's defaults: members
# manage their project's groups, rules and address groups (a rule belongs to
# its group's project); the template of new groups' rules is an
# administrator's, readable by all.
SECURITY_GROUP_RULES = _crud(
    'security_group',
    create='rule:admin_or_member',
    get='rule:admin_or_reader or rule:shared_security_group',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    policy.RuleDefault('shared_security_group', 'field:security_groups:shared=True',
                       'The security group is shared with the project (RBAC).'),
    _attr('create_security_group_rule', 'rule:admin_or_member'),
    _attr('get_security_group_rule', 'rule:admin_or_reader'),
    _attr('delete_security_group_rule', 'rule:admin_or_member'),
    _attr('create_default_security_group_rule', 'rule:admin_only'),
    _attr('get_default_security_group_rule', ''),
    _attr('delete_default_security_group_rule', 'rule:admin_only'),
] + _crud(
    'address_group',
    create='rule:admin_or_member',
    get='rule:admin_or_reader',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    _attr('add_addresses', 'rule:admin_or_member'),
    _attr('remove_addresses', 'rule:admin_or_member'),
]

# RBAC entries: an entry is its maker's (the object's owner, or an admin);
# only an admin shares with every project ('*'), as in Neutron.
NOT_WILDCARD = 'rule:admin_only or not field:rbac_policy:target_tenant=*'
RBAC_POLICY_RULES = _crud(
    'rbac_policy',
    create='rule:admin_or_member',
    get='rule:admin_or_reader',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    _attr('create_rbac_policy:target_tenant', NOT_WILDCARD),
    _attr('update_rbac_policy:target_tenant', NOT_WILDCARD),
]

# QoS (naas.plugins.qos): members manage their project's policies and the
# policies' rules (a rule belongs to its policy's project; the API gives the
# policy's attributes as policy:ATTR); a shared policy is readable by every
# project, and only an administrator shares one.  The rule types are
# readable by all.
QOS_POLICY_RULES = _crud(
    'policy',
    create='rule:admin_or_member',
    get='rule:admin_or_reader or rule:shared_qos_policy',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    policy.RuleDefault('shared_qos_policy', 'field:policies:shared=True',
                       'The QoS policy is shared with every project.'),
    _attr('create_policy:shared', 'rule:admin_only'),
    _attr('update_policy:shared', 'rule:admin_only'),
    _attr('get_rule_type', ''),
] + [
    rule
    for resource in ('bandwidth_limit_rule', 'dscp_marking_rule', 'packet_rate_limit_rule')
    for rule in _crud(
        'policy_' + resource,
        create='rule:admin_or_member',
        get='rule:admin_or_reader or field:policies:policy:shared=True',
        update='rule:admin_or_member',
        delete='rule:admin_or_member')
]

AGENT_RULES = [
    _attr('get_agent', 'rule:admin_only'),
    _attr('update_agent', 'rule:admin_only'),
    _attr('delete_agent', 'rule:admin_only'),
]

QUOTA_RULES = [
    _attr('get_quota', 'rule:admin_or_reader'),
    _attr('update_quota', 'rule:admin_only'),
    _attr('delete_quota', 'rule:admin_only'),
]

# Statistics (naas.plugins.statistics), read only: a port's statistics are
# seen by whoever sees the port (its project, its network's owner); a
# network's sums only by the network's owner, as they include the traffic of
# every project's ports on it (a shared network's too).  The host of a port
# is an administrator's, as binding:host_id.
STATISTICS_RULES = [
    _attr('get_port_statistic', 'rule:admin_or_reader or (%s)' % NET_OWNER_READER),
    _attr('get_port_statistic:host', 'rule:admin_only'),
    _attr('get_network_statistic', 'rule:admin_or_reader'),
]

# Remote-site bridges (naas.plugins.bridges): members manage their project's
# bridges (the plugin also holds the network to the bridge's project: a
# bridge exposes every frame of the network); only an administrator names
# the bridging host.
BRIDGE_RULES = _crud(
    'remote_bridge',
    create='rule:admin_or_member',
    get='rule:admin_or_reader',
    update='rule:admin_or_member',
    delete='rule:admin_or_member') + [
    _attr('create_remote_bridge:host', 'rule:admin_only'),
] + _crud(
    'physical_bridge',
    create='rule:admin_only',
    get='rule:admin_only',
    update='rule:admin_only',
    delete='rule:admin_only')

TAG_RULES = [
    _attr('%s_%s_tags' % (op, res), 'rule:admin_or_member')
    for op in ('create', 'update', 'delete')
    for res in ('network', 'subnet', 'subnetpool', 'port', 'router', 'floatingip', 'subnet_route',
                'security_group', 'address_group', 'policy')
]


def list_rules():
    return (BASE_RULES + NETWORK_RULES + SUBNET_RULES + PORT_RULES + RBAC_POLICY_RULES +
            ROUTER_RULES + FLOATINGIP_RULES + SUBNET_ROUTE_RULES + SECURITY_GROUP_RULES +
            QOS_POLICY_RULES + AGENT_RULES + QUOTA_RULES + TAG_RULES +
            SUBNETPOOL_RULES + STATISTICS_RULES + BRIDGE_RULES)
