"""The resource and extension definitions of the API (naas.lib.definitions.base
says what a definition holds).

RESOURCES is every collection a plugin may serve: the API routes those the
loaded plugins declare and answers 501 for the others.  The quotas resource
is not among them: the API serves it itself, over what the plugins count.
EXTENSIONS is every extension a plugin may implement, by alias.
"""
from naas.lib.definitions import address_group
from naas.lib.definitions import agent
from naas.lib.definitions import allowed_address_pairs
from naas.lib.definitions import binding
from naas.lib.definitions import binding_extended
from naas.lib.definitions import default_security_group_rule
from naas.lib.definitions import empty_string_filtering
from naas.lib.definitions import ext_gw_mode
from naas.lib.definitions import external_net
from naas.lib.definitions import extraroute
from naas.lib.definitions import filter_validation
from naas.lib.definitions import fixed_ip_substring_filtering
from naas.lib.definitions import floatingip
from naas.lib.definitions import ip_substring_filtering
from naas.lib.definitions import l3_agent_scheduler
from naas.lib.definitions import l3_ha
from naas.lib.definitions import network
from naas.lib.definitions import network_availability_zone
from naas.lib.definitions import network_config
from naas.lib.definitions import network_mtu
from naas.lib.definitions import network_mtu_writable
from naas.lib.definitions import network_statistics
from naas.lib.definitions import pagination
from naas.lib.definitions import port
from naas.lib.definitions import physical_bridge
from naas.lib.definitions import port_security
from naas.lib.definitions import port_statistics
from naas.lib.definitions import project_id
from naas.lib.definitions import provider
from naas.lib.definitions import qos
from naas.lib.definitions import qos_bandwidth_limit_rule
from naas.lib.definitions import qos_default
from naas.lib.definitions import qos_dscp_marking_rule
from naas.lib.definitions import qos_packet_rate_limit_rule
from naas.lib.definitions import qos_rule_type
from naas.lib.definitions import quota
from naas.lib.definitions import quota_details
from naas.lib.definitions import rbac_policy
from naas.lib.definitions import remote_bridge
from naas.lib.definitions import revision_if_match
from naas.lib.definitions import router
from naas.lib.definitions import securitygroup
from naas.lib.definitions import securitygroup_rule
from naas.lib.definitions import securitygroup_stateful
from naas.lib.definitions import sorting
from naas.lib.definitions import standard_attr_description
from naas.lib.definitions import standard_attr_revisions
from naas.lib.definitions import standard_attr_tag
from naas.lib.definitions import standard_attr_timestamp
from naas.lib.definitions import subnet
from naas.lib.definitions import subnet_external_network
from naas.lib.definitions import subnet_route
from naas.lib.definitions import subnetpool

#: collection -> resource definition module.
RESOURCES = {definition.COLLECTION_NAME: definition for definition in (
    network, subnet, subnetpool, port, agent, router, floatingip, subnet_route, rbac_policy,
    securitygroup, securitygroup_rule, address_group, default_security_group_rule,
    qos, qos_rule_type, qos_bandwidth_limit_rule, qos_dscp_marking_rule, l3_agent_scheduler,
    qos_packet_rate_limit_rule, port_statistics, network_statistics, remote_bridge,
    physical_bridge)}

#: alias -> extension descriptor module (ALIAS, NAME, DESCRIPTION).
EXTENSIONS = {extension.ALIAS: extension for extension in (
    address_group,
    agent,
    allowed_address_pairs,
    binding,
    binding_extended,
    default_security_group_rule,
    empty_string_filtering,
    ext_gw_mode,
    external_net,
    extraroute,
    filter_validation,
    fixed_ip_substring_filtering,
    ip_substring_filtering,
    l3_agent_scheduler,
    l3_ha,
    network_availability_zone,
    network_config,
    network_mtu,
    network_mtu_writable,
    pagination,
    physical_bridge,
    port_security,
    port_statistics,
    project_id,
    provider,
    qos,
    qos_bandwidth_limit_rule,
    qos_default,
    qos_packet_rate_limit_rule,
    qos_rule_type,
    quota,
    quota_details,
    rbac_policy,
    remote_bridge,
    revision_if_match,
    router,
    securitygroup,
    securitygroup_stateful,
    sorting,
    standard_attr_description,
    standard_attr_revisions,
    standard_attr_tag,
    standard_attr_timestamp,
    subnet_external_network,
    subnet_route,
    subnetpool,)}
