"""The plugin interfaces (ServicePlugin, CorePluginBase: networks, subnets
and ports) and the one shape every plugin follows.

The API controllers call these methods with a request context whose
``connection`` holds the request's transaction, and with bodies already
validated and filled with defaults from the attribute maps
(naas/lib/definitions).  Methods return plain dicts keyed by API attribute
names; extra keys of the form ``network:ATTR`` are the parent network's
attributes, there for policy checks, and never shown to clients.

The shape of a plugin (naas/plugins/l2, naas/plugins/l3):

- ``plugin.py``: the plugin class declares what it serves (``resources``,
  ``extensions``, ``quota_resources``: data the plugin manager collects)
  and has one thin method per API operation: it hands over to the
  resource modules, then queues the casts (``self.notifier``, sent after
  commit).  No SQL in the class.
- One module per resource, owning its tables (``routers.py``: the routers
  table; ``segments.py``; the core tables are owned by naas.db.networks,
  subnets and ports, the agents table by naas.db.agents).  Functions take
  ``(context, ...)`` or ``(conn, ...)``; one that needs another resource's
  behaviour or the casts takes the plugin first (``l3.core``,
  ``l3.notifier``).  ``models.py`` declares the plugin's tables.
- Across plugins: a service plugin changes networks, subnets and ports, and
  reads what depends on the core plugin (segments), through the core
  plugin's interface below (``self.core``, set by attach); for bulk reads
  of the core tables it uses the query functions of naas.db.ports, subnets
  and networks, never the tables themselves and never another plugin's
  tables.  Its own ports (router interfaces, floating IPs) it makes with
  create_service_port.
- ``notify.py``: the casts after commit; ``agents.py`` / ``sync.py``: what
  the plugin's agents ask over RPC (each call in a transaction of its own).
"""
import abc

from naas.common import exceptions
from naas.lib import attributes
from naas.lib.definitions import base
from naas.lib.definitions import port as port_def


class ServicePlugin(abc.ABC):
    """What every plugin has: the resources and extensions it serves,
    declared as data that the plugin manager collects (naas.plugins.manager
    .Registry); loading a plugin changes no module-level state."""

    #: Resource definitions it serves (naas.lib.definitions modules): the
    #: API routes their collections to this plugin.
    resources = ()

    #: Aliases of the API extensions it implements (described in
    #: naas.lib.definitions.EXTENSIONS; /v2.0/extensions lists them).
    extensions = ()

    #: Quota resource -> the table (or subquery) whose rows with the
    #: project's project_id count against its quota.
    quota_resources = {}

    def start_rpc_listeners(self):
        """Start the plugin's RPC servers, if it has any (naas-server)."""
        return []

    def attach(self, core_plugin):
        """Called by the plugin manager once every plugin is loaded: a
        service plugin reaches networks, subnets and ports through the core
        plugin (and may add delete hooks to it, see add_delete_hook)."""
        self.core = core_plugin


class ResourceExtender:
    """What a service plugin adds to networks and ports (as ML2's extension
    drivers do): attributes of its own, kept in its own tables (a port's
    security groups, a network's QoS policy), and what the agents get in a
    port's details.  The core plugin calls every extender added with
    add_extender, in the request's transaction; each method is a no-op
    here, an extender overrides what it needs.  ``resource`` is 'network'
    or 'port'."""

    def before_create(self, context, resource, body):
        """Before the insert, from the validated request ``body``: check the
        extender's attributes and put in ``body`` what the core row keeps a
        copy of (a port's ``security_groups``), so that the insert writes it
        (raise a NaasException to refuse)."""

    def process_create(self, context, resource, body, result):
        """After the insert of ``result`` (the new object's core attributes,
        without any extender's) from the validated request ``body``: check
        and store the extender's attributes; raise a NaasException to refuse
        (the transaction rolls back)."""

    def process_update(self, context, resource, body, current):
        """Before the update of ``current`` (its dict) with the request
        ``body``: check and store; raise to refuse."""

    def extend_dicts(self, context, resource, dicts):
        """Add the extender's attributes to these API dicts (one query for
        all of them, not one per dict)."""

    def extend_created(self, context, resource, body, result):
        """Add the extender's attributes to the dict of the object just
        created (after process_create): as a read would, unless the
        extender knows them from ``body`` without a query."""
        self.extend_dicts(context, resource, [result])

    def extend_port_details(self, conn, details):
        """Add what the agents need to these port details (one query)."""


class CorePluginBase(ServicePlugin):
    def add_extender(self, extender):
        """Add a ResourceExtender (from a service plugin's attach)."""
        self.__dict__.setdefault('_extenders', []).append(extender)

    @property
    def extenders(self):
        return self.__dict__.get('_extenders', ())

    def add_delete_hook(self, resource, hook):
        """``hook(context, item)`` runs in the transaction of every delete of
        a ``resource`` ('port'), before it: it raises to refuse (a router's
        port: ServicePortInUse) or clears what refers to the item (the
        floating IPs of a port)."""
        self.__dict__.setdefault('_delete_hooks', {}).setdefault(resource, []).append(hook)

    def run_delete_hooks(self, context, resource, item):
        for hook in self.__dict__.get('_delete_hooks', {}).get(resource, ()):
            hook(context, item)

    def add_device_owner(self, device_owners, project_of):
        """A service plugin names the devices its ports belong to: for a
        port with a device_owner of ``device_owners`` (a router's
        interfaces and gateway), ``project_of(context, device_id)`` is the
        project of that device, or None if there is none."""
        devices = self.__dict__.setdefault('_device_projects', {})
        devices.update(dict.fromkeys(device_owners, project_of))

    def check_device_owner(self, context, project_id, device_owner, device_id):
        """The one ownership check of a port's device, on create and on
        update (Neutron's _enforce_device_owner_not_router_intf_or_device_id):
        unless an administrator asks, a port of ``project_id`` may not name
        as its device another project's router (an interface or a gateway
        planted in it would block its deletion, replace its gateway and
        widen its routes): DeviceIDNotOwnedByTenant.  A device id that
        names no device passes, as in Neutron."""
        if context.is_admin or not device_id:
            return
        project_of = self.__dict__.get('_device_projects', {}).get(device_owner)
        if project_of is None:
            return
        owner = project_of(context, device_id)
        if owner is not None and owner != project_id:
            raise exceptions.DeviceIDNotOwnedByTenant(device_id=device_id)

    def device_project(self, context, device_owner, device_id):
        """The project of the device a port of ``device_owner`` belongs to
        (add_device_owner), or None (unknown owner or device)."""
        project_of = self.__dict__.get('_device_projects', {}).get(device_owner)
        return None if project_of is None else project_of(context, device_id)

    def create_service_port(self, context, project_id, values):
        """A port a plugin makes for itself (a DHCP port; a router's
        interface or gateway, a floating IP's port): ``values`` are checked
        and completed by the ports attribute map, as an API request's would
        be, and the port is created with an admin context, bypassing policy
        and quota as Neutron's plugin-to-plugin calls do."""
        values = {k: v for k, v in values.items() if v is not base.ATTR_NOT_SPECIFIED}
        body = attributes.prepare_create('port', port_def.RESOURCE_ATTRIBUTE_MAP,
                                         dict(values, admin_state_up=True))
        body['project_id'] = body['tenant_id'] = project_id
        return self.create_port(context.elevated(), body)

    def delete_service_port(self, context, port_id):
        """Delete a port a plugin made, without the delete hooks (which
        refuse the deletion of a service port through the API)."""
        self.delete_port(context.elevated(), port_id, run_hooks=False)

    def get_network_policy_target(self, context, id):
        """What policy rules read of a network (project_id, shared,
        router:external), whoever asks; NetworkNotFound if there is none."""
        net = self.get_network(context.elevated(), id)
        return {k: net[k] for k in ('project_id', 'tenant_id', 'shared', 'router:external')}

    @abc.abstractmethod
    def create_network(self, context, network):
        """Create a network; ``network`` is the validated request body."""

    @abc.abstractmethod
    def get_network(self, context, id):
        """A network, or NetworkNotFound."""

    @abc.abstractmethod
    def get_networks(self, context, filters=None, sorts=(), limit=None,
                     marker=None, page_reverse=False):
        """The networks the context may see, filtered, sorted and paged."""

    @abc.abstractmethod
    def update_network(self, context, id, network):
        """Change a network's attributes."""

    @abc.abstractmethod
    def delete_network(self, context, id):
        """Delete a network; NetworkInUse while it has non-service ports."""

    @abc.abstractmethod
    def create_subnet(self, context, subnet):
        """Create a subnet and its IPAM pool."""

    @abc.abstractmethod
    def get_subnet(self, context, id):
        """A subnet, or SubnetNotFound."""

    @abc.abstractmethod
    def get_subnets(self, context, filters=None, sorts=(), limit=None,
                    marker=None, page_reverse=False):
        """The subnets the context may see."""

    @abc.abstractmethod
    def update_subnet(self, context, id, subnet):
        """Change a subnet (name, gateway, pools, DNS, routes, DHCP)."""

    @abc.abstractmethod
    def delete_subnet(self, context, id):
        """Delete a subnet; SubnetInUse while ports have addresses on it."""

    @abc.abstractmethod
    def create_port(self, context, port):
        """Create a port: MAC, fixed IPs from IPAM, binding."""

    @abc.abstractmethod
    def get_port(self, context, id):
        """A port, or PortNotFound."""

    @abc.abstractmethod
    def get_ports(self, context, filters=None, sorts=(), limit=None,
                  marker=None, page_reverse=False):
        """The ports the context may see."""

    @abc.abstractmethod
    def update_port(self, context, id, port):
        """Change a port (fixed IPs re-allocated, binding re-done)."""

    @abc.abstractmethod
    def delete_port(self, context, id, run_hooks=True):
        """Delete a port and give its addresses back; with ``run_hooks``
        (an API request) after the delete hooks (add_delete_hook)."""

    @abc.abstractmethod
    def get_network_segments(self, context, network_ids):
        """{network_id: {network_type, physical_network, segmentation_id}}
        of the networks ``network_ids``: how each is realised, for the
        agents of service plugins (a router's ports)."""
