"""/v2.0/extensions: the API extensions the loaded plugins implement."""
from naas.api import wsgi_utils
from naas.common import exceptions

UPDATED = '2026-11-01T00:00:00-00:00'

#: alias -> (name, description) of every extension a NaaS plugin may claim.
KNOWN = {
    'provider': ('Provider Network', 'Expose mapping of virtual networks to physical networks'),
    'external-net': ('Neutron external network', 'Adds external network attribute to network resource.'),
    'network-mtu': ('Network MTU', 'Provides MTU attribute for a network resource.'),
    'network-mtu-writable': ('Network MTU (writable)', 'Provides a writable MTU attribute for a network resource.'),
    'port-security': ('Port Security', 'Provides port security'),
    'binding': ('Port Binding', 'Expose port bindings of a virtual port to external application'),
    'binding-extended': ('Port Bindings Extended', 'Expose port bindings of a virtual port to external application'),
    'allowed-address-pairs': ('Allowed Address Pairs', 'Provides allowed address pairs'),
    'standard-attr-tag': ('Tag support for resources with standard attribute: subnet, port, network', 'Enables to set tag on resources with standard attribute.'),
    'standard-attr-revisions': ('Resource revision numbers', 'This extension will display the revision number of neutron resources.'),
    'standard-attr-timestamp': ('Resource timestamps', 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.'),
    'standard-attr-description': ('standard-attr-description', 'Extension to add descriptions to standard attributes'),
    'project-id': ('project_id field enabled', 'Extension that indicates that project_id field is enabled.'),
    'quotas': ('Quota management support', 'Expose functions for quotas management per project'),
    'quota_details': ('Quota details management support', 'Expose functions for quotas usage statistics per project'),
    'pagination': ('Pagination support', 'Extension that indicates that pagination is enabled.'),
    'sorting': ('Sorting support', 'Extension that indicates that sorting is enabled.'),
    'filter-validation': ('Filter parameters validation', 'Provides validation on filter parameters.'),
    'fixed-ip-substring-filtering': ('IP address substring filtering on fixed_ips', 'Provides IP address substring filtering when listing ports'),
    'ip-substring-filtering': ('IP address substring filtering', 'Provides IP address substring filtering when listing ports'),
    'empty-string-filtering': ('Empty String Filtering Extension', 'Allow filtering by attributes with empty string value'),
    'revision-if-match': ('If-Match constraints based on revision_number', "Extension indicating that If-Match based on revision_number is supported."),
    'default-subnetpools': ('Default Subnetpools', 'Provides ability to mark and use a subnetpool as the default.'),
    'subnet_allocation': ('Subnet Allocation', 'Enables allocation of subnets from a subnet pool'),
    'dns-integration': ('DNS Integration', 'Provides integration with DNS.'),
    'availability_zone': ('Availability Zone', 'The availability zone extension.'),
    'network_availability_zone': ('Network Availability Zone', 'Availability zone support for network.'),
    'router': ('Neutron L3 Router', 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.'),
    'ext-gw-mode': ('Neutron L3 Configurable external gateway mode', 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway'),
    'extraroute': ('Neutron Extra Route', 'Extra routes configuration for L3 router'),
    'subnet-routes': ('NaaS routes between subnets', 'Routes between two subnets of one project, in one network or in two (NaaS extension).'),
    'agent': ('agent', 'The agent management extension.'),
    'network-config': ('NaaS network configuration', 'The static network configuration of a port or an instance as cloud-init network-config v2 or config drive network_data.json (NaaS extension).'),
}


class ExtensionsController:
    def __init__(self, manager):
        self.manager = manager

    def _view(self, alias):
        name, description = KNOWN.get(alias, (alias, alias))
        return {'alias': alias, 'name': name, 'description': description,
                'updated': UPDATED, 'links': []}

    def index(self, request):
        return wsgi_utils.json_response(
            {'extensions': [self._view(a) for a in sorted(self.manager.extension_aliases())]})

    def show(self, request, id):
        if id not in self.manager.extension_aliases():
            raise exceptions.ExtensionNotFound(alias=id)
        return wsgi_utils.json_response({'extension': self._view(id)})
