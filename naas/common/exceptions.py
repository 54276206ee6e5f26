"""Exceptions a client can see.

Each carries the HTTP status it maps to; its class name is the ``type`` of
the ``NeutronError`` body, as in the OpenStack Networking API.
"""


class NaasException(Exception):
    """Base of every error the API turns into a NeutronError body."""
    code = 500
    message = 'An unknown exception occurred.'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.message % kwargs
            except (KeyError, TypeError):
                message = self.message
        self.msg = message
        super().__init__(message)

    @property
    def type(self):
        return type(self).__name__

    def __str__(self):
        return self.msg


class BadRequest(NaasException):
    code = 400
    message = 'Bad %(resource)s request: %(msg)s.'


class InvalidInput(BadRequest):
    message = 'Invalid input for operation: %(error_message)s.'


class MalformedRequestBody(BadRequest):
    message = 'Malformed request body: %(reason)s.'


class InvalidAllocationPool(BadRequest):
    message = 'The allocation pool %(pool)s is not valid.'


class InvalidIpForSubnet(BadRequest):
    message = 'IP address %(ip_address)s is not a valid IP for the specified subnet.'


class InvalidIpForNetwork(BadRequest):
    message = 'IP address %(ip_address)s is not a valid IP for any of the subnets on the specified network.'


class NotAuthorized(NaasException):
    code = 403
    message = 'Not authorized.'


class PolicyNotAuthorized(NotAuthorized):
    message = "(rule:%(action)s) is disallowed by policy"


class AdminRequired(NotAuthorized):
    message = 'User does not have admin privileges: %(reason)s.'


class NotFound(NaasException):
    code = 404
    message = 'An unknown exception occurred.'


class ResourceNotFound(NotFound):
    message = 'The resource could not be found.'


class NetworkNotFound(NotFound):
    message = 'Network %(net_id)s could not be found.'


class SubnetNotFound(NotFound):
    message = 'Subnet %(subnet_id)s could not be found.'


class SubnetPoolNotFound(NotFound):
    message = 'Subnet pool %(subnetpool_id)s could not be found.'


class PortNotFound(NotFound):
    message = 'Port %(port_id)s could not be found.'


class TagNotFound(NotFound):
    message = 'Tag %(tag)s could not be found for %(resource)s %(resource_id)s.'


class ExtensionNotFound(NotFound):
    message = 'Extension %(alias)s could not be found.'


class AgentNotFound(NotFound):
    message = 'Agent %(id)s could not be found.'


class HTTPUnauthorized(NaasException):
    """No valid identity (keystone pipeline)."""
    code = 401
    message = ('The request you have made requires a project-scoped or '
               'system-scoped token.')


class HTTPNotFound(NaasException):
    """No route matches the path (as Neutron names it)."""
    code = 404
    message = 'The resource could not be found.'


class HTTPMethodNotAllowed(NaasException):
    """The path exists; the method does not (as Neutron names it)."""
    code = 405
    message = 'The method %(method)s is not allowed for this resource.'


class NotImplementedError_(NaasException):
    """The request names something no loaded plugin implements (501)."""
    code = 501
    message = 'The server has no plugin that implements %(what)s.'

    @property
    def type(self):
        return 'NotImplemented'


class Conflict(NaasException):
    code = 409
    message = 'A conflict occurred: %(msg)s.'


class InUse(Conflict):
    message = 'The resource is in use.'


class NetworkInUse(InUse):
    message = 'Unable to complete operation on network %(net_id)s. There are one or more ports still in use on the network.'


class SubnetInUse(InUse):
    message = 'Unable to complete operation on subnet %(subnet_id)s: %(reason)s.'


class SubnetPoolInUse(InUse):
    message = 'Unable to complete operation on subnet pool %(subnet_pool_id)s. %(reason)s.'


class GatewayConflictWithAllocationPools(InUse):
    message = 'Gateway ip %(ip_address)s conflicts with allocation pool %(pool)s.'


class IpAddressAlreadyAllocated(Conflict):
    message = 'IP address %(ip)s already allocated in subnet %(subnet_id)s'


class IpAddressGenerationFailure(Conflict):
    message = 'No more IP addresses available on network %(net_id)s.'


class MacAddressInUse(InUse):
    message = 'Unable to complete operation for network %(net_id)s. The mac address %(mac)s is in use.'


class MacAddressGenerationFailure(Conflict):
    message = 'Unable to generate unique mac on network %(net_id)s.'


class OverQuota(Conflict):
    message = 'Quota exceeded for resources: %(overs)s.'


class SubnetOverlap(Conflict):
    # Neutron's words: clients (tempest's create_subnet) look for
    # 'overlaps with another subnet' to try the next cidr.
    message = ('Invalid input for operation: Requested subnet with cidr: %(cidr)s for '
               'network: %(net_id)s overlaps with another subnet.')

    @property
    def type(self):
        return 'InvalidInput'

    code = 400


class RevisionNumberConstraintFailed(NaasException):
    code = 412
    message = 'Constrained to %(expected)s, but current revision is %(current)s'


class RequestEntityTooLarge(NaasException):
    code = 413
    message = 'Request is too large.'


class RequestURITooLong(NaasException):
    code = 414
    message = 'The request URI is longer than %(limit)s bytes.'


class UnsupportedMediaType(NaasException):
    code = 415
    message = 'Unsupported Content-Type %(content_type)s: send application/json.'


class NoNetworkAvailable(NaasException):
    code = 503
    message = 'Unable to create the network. No tenant network is available for allocation.'


class SegmentationIdInUse(InUse):
    message = 'Unable to create the network. The %(network_type)s %(segmentation_id)s on physical network %(physical_network)s is in use.'


class RetryLimitReached(Conflict):
    message = 'The request kept conflicting with concurrent requests; try again.'


# ---- L3 (naas.plugins.l3): Neutron's type names and messages ---------------

class RouterNotFound(NotFound):
    message = 'Router %(router_id)s could not be found'


class RouterInUse(InUse):
    message = 'Router %(router_id)s %(reason)s'

    def __init__(self, message=None, **kwargs):
        kwargs.setdefault('reason', 'still has ports')
        super().__init__(message, **kwargs)


class RouterInterfaceNotFound(NotFound):
    message = 'Router %(router_id)s does not have an interface with id %(port_id)s'


class RouterInterfaceNotFoundForSubnet(NotFound):
    message = 'Router %(router_id)s has no interface on subnet %(subnet_id)s'


class RouterInterfaceInUseByRoute(InUse):
    message = ('Router interface for subnet %(subnet_id)s on router %(router_id)s '
               'cannot be deleted, as it is required by one or more routes.')


class RouterInterfaceInUseByFloatingIP(InUse):
    message = ('Router interface for subnet %(subnet_id)s on router %(router_id)s '
               'cannot be deleted, as it is required by one or more floating IPs.')


class RouterExternalGatewayInUseByFloatingIp(InUse):
    message = ('Gateway cannot be updated for router %(router_id)s, since a gateway '
               'to external network %(net_id)s is required by one or more floating IPs.')


class InvalidRoutes(InvalidInput):
    message = 'Invalid format for routes: %(routes)s, %(reason)s'


class RoutesExhausted(BadRequest):
    message = ('Unable to complete operation for %(router_id)s. The number of '
               'routes exceeds the maximum %(quota)s.')


class FloatingIPNotFound(NotFound):
    message = 'Floating IP %(floatingip_id)s could not be found'


class ExternalGatewayForFloatingIPNotFound(NotFound):
    message = ('External network %(external_network_id)s is not reachable from '
               'subnet %(subnet_id)s.  Therefore, cannot associate Port %(port_id)s '
               'with a Floating IP.')


class FloatingIPPortAlreadyAssociated(InUse):
    message = ('Cannot associate floating IP %(floating_ip_address)s (%(fip_id)s) '
               'with port %(port_id)s using fixed IP %(fixed_ip)s, as that fixed IP '
               'already has a floating IP on external network %(net_id)s.')


class PortInUse(InUse):
    message = ('Unable to complete operation on port %(port_id)s for network '
               '%(net_id)s. Port already has an attached device %(device_id)s.')


class SubnetMismatchForPort(BadRequest):
    message = 'Subnet on port %(port_id)s does not match the requested subnet %(subnet_id)s.'


class ServicePortInUse(InUse):
    message = 'Port %(port_id)s cannot be deleted directly via the port API: %(reason)s.'


class DeviceIDNotOwnedByTenant(Conflict):
    message = ('The following device_id %(device_id)s is not owned by your tenant or '
               'matches another tenants router.')


class SubnetRouteNotFound(NotFound):
    message = 'Subnet route %(id)s could not be found.'


class SubnetRouteExists(Conflict):
    message = 'A route between subnets %(subnets)s already exists: %(id)s.'


# ---- security groups (naas.plugins.securitygroups): Neutron's type names ----

class SecurityGroupNotFound(NotFound):
    message = 'Security group %(id)s does not exist'


class SecurityGroupRuleNotFound(NotFound):
    message = 'Security group rule %(id)s does not exist'


class DefaultSecurityGroupRuleNotFound(NotFound):
    message = 'Default Security Group rule %(id)s does not exist'


class AddressGroupNotFound(NotFound):
    message = 'Address group %(address_group_id)s could not be found.'


class AddressesNotFound(NotFound):
    message = 'Addresses %(addresses)s not found in the address group %(address_group_id)s.'


class AddressesAlreadyExist(BadRequest):
    message = 'Addresses %(addresses)s already exist in the address group %(address_group_id)s.'


class SecurityGroupInUse(InUse):
    message = 'Security Group %(id)s %(reason)s.'

    def __init__(self, message=None, **kwargs):
        kwargs.setdefault('reason', 'in use')
        super().__init__(message, **kwargs)


class SecurityGroupCannotRemoveDefault(InUse):
    message = 'Insufficient rights for removing default security group.'


class SecurityGroupCannotUpdateDefault(InUse):
    message = 'Updating default security group not allowed.'


class SecurityGroupDefaultAlreadyExists(InUse):
    message = 'Default security group already exists.'


class SecurityGroupRuleExists(InUse):
    message = 'Security group rule already exists. Rule id is %(rule_id)s.'


class DuplicateSecurityGroupRuleInPost(InUse):
    message = 'Duplicate Security Group Rule in POST.'


class DefaultSecurityGroupRuleExists(InUse):
    message = 'Default Security group rule already exists. Rule id is %(rule_id)s.'


class AddressGroupInUse(InUse):
    message = ('Address group %(address_group_id)s is in use on one or more security '
               'group rules.')


class SecurityGroupConflict(Conflict):
    message = 'Error %(reason)s while attempting the operation.'


class SecurityGroupInvalidPortRange(InvalidInput):
    message = 'For TCP/UDP protocols, port_range_min must be <= port_range_max'


class SecurityGroupInvalidPortValue(InvalidInput):
    message = 'Invalid value for port %(port)s'


class SecurityGroupInvalidIcmpValue(InvalidInput):
    message = 'Invalid value for ICMP %(field)s (%(attr)s) %(value)s. It must be 0 to 255.'


class SecurityGroupMissingIcmpType(InvalidInput):
    message = ('ICMP code (port-range-max) %(value)s is provided but ICMP type '
               '(port-range-min) is missing.')


class SecurityGroupInvalidProtocolForPort(InvalidInput):
    message = ('Ports cannot be specified for protocol %(protocol)s. Ports are only '
               'supported for %(valid_port_protocols)s.')


class SecurityGroupProtocolRequiredWithPorts(InvalidInput):
    message = 'Must also specify protocol if port range is given.'


class SecurityGroupEthertypeConflictWithProtocol(InvalidInput):
    message = 'Invalid ethertype %(ethertype)s for protocol %(protocol)s.'


class SecurityGroupRuleParameterConflict(InvalidInput):
    message = 'Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s'


class SecurityGroupMultipleRemoteEntites(InvalidInput):
    message = ('Only one of remote_ip_prefix or remote_group_id or '
               'remote_address_group_id may be provided.')


class PortSecurityAndIPRequiredForSecurityGroups(InvalidInput):
    message = ('Port security must be enabled and port must have an IP address in '
               'order to use security groups.')


class PortSecurityPortHasSecurityGroup(InUse):
    message = ('Port has security group associated. Cannot disable port security or '
               'IP address until security group is removed.')


class AddressPairAndPortSecurityRequired(Conflict):
    message = ('Port Security must be enabled in order to have allowed address pairs '
               'on a port.')


class RbacPolicyNotFound(NotFound):
    message = 'RBAC policy with ID %(id)s not found.'


class RbacPolicyInUse(Conflict):
    message = ('RBAC policy on object %(object_id)s cannot be removed because other '
               'objects depend on it.\nDetails: %(details)s')


class DuplicateRbacPolicy(Conflict):
    message = 'An RBAC policy already exists with those values.'


class QosPolicyNotFound(NotFound):
    message = 'QoS policy %(policy_id)s could not be found.'


class QosRuleNotFound(NotFound):
    message = 'QoS rule %(rule_id)s could not be found.'


class QosRuleTypeNotFound(NotFound):
    message = 'QoS rule type %(rule_type)s could not be found.'


class QosPolicyInUse(InUse):
    message = 'QoS Policy %(policy_id)s is used by %(object_type)s %(object_id)s.'


class QoSPolicyDefaultAlreadyExists(Conflict):
    message = 'A default QoS policy exists for project %(project_id)s.'


class QoSRulesConflict(Conflict):
    message = ('Rule %(new_rule_type)s conflicts with rule %(rule_id)s which already '
               'exists in QoS Policy %(policy_id)s.')


class QosRuleTypeNotSupported(Conflict):
    message = ('Rule type %(rule_type)s is not supported: no alive L2 agent enforces it.')


class DBRetry(Exception):
    """Internal: the transaction lost a race and the request may be retried.

    ``final`` is what the client gets if every retry loses.
    """

    def __init__(self, final=None):
        super().__init__(str(final or 'retry'))
        self.final = final
