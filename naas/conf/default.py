"""Options of the [DEFAULT] group: the API server and the plugins it loads."""
import socket

from oslo_config import cfg

OPTS = [
    cfg.HostAddressOpt('bind_host', default='0.0.0.0',
                       help='Address the API server listens on.'),
    cfg.PortOpt('bind_port', default=9696,
                help='Port the API server listens on.'),
    cfg.IntOpt('api_workers', min=1,
               help='Number of API server processes. Defaults to the '
                    'number of CPUs.'),
    cfg.IntOpt('api_threads', default=8, min=1,
               help='Requests each API server process serves at once (native '
                    'threads; eventlet only reads and writes the HTTP).'),
    cfg.StrOpt('api_paste_config', default='api-paste.ini',
               help='The paste.deploy file of the API pipelines; relative '
                    'paths are looked up beside the config files.'),
    cfg.StrOpt('auth_strategy', default='noauth',
               choices=['noauth', 'keystone'],
               help='Which pipeline of api_paste_config serves /v2.0: '
                    'noauth takes the identity from X-Project-Id, X-User-Id '
                    'and X-Roles headers; keystone validates tokens with '
                    'keystonemiddleware.'),
    cfg.StrOpt('noauth_admin_project',
               help='With auth_strategy = noauth, the project of a request '
                    'without X-Project-Id (an administrator), e.g. for the '
                    'openstack CLI, which cannot name a project without '
                    'Keystone. Unset, such a request has no project and what '
                    'it creates must name one (project_id), as in Neutron.'),
    cfg.StrOpt('state_path', default='/var/lib/naas',
               help='Where NaaS keeps its state (the embedded SQLite '
                    'database among it).'),
    cfg.StrOpt('core_plugin', default='l2',
               help='Entry point name (naas.core_plugins) of the core '
                    'plugin.'),
    cfg.ListOpt('service_plugins', default=[],
                help='Entry point names (naas.service_plugins) of the '
                     'service plugins, e.g. "router" for L3. Without an L3 '
                     'plugin every L3 request answers 501.'),
    cfg.StrOpt('base_mac', default='fa:16:3e:00:00:00',
               help='Base of generated MAC addresses: the bytes that are '
                    'not 00 are kept, the 00 bytes are random.'),
    cfg.IntOpt('pagination_max_limit', default=-1,
               help='Largest page a list request returns; -1 is no limit.'),
    cfg.IntOpt('global_physnet_mtu', default=1500, min=68,
               help='MTU of the underlying physical network.'),
    cfg.IntOpt('max_fixed_ips_per_port', default=16, min=1,
               help='Most fixed IPs one port can have.'),
    cfg.IntOpt('max_dns_nameservers', default=5, min=0,
               help='Most DNS nameservers one subnet can have.'),
    cfg.IntOpt('max_subnet_host_routes', default=20, min=0,
               help='Most host routes one subnet can have.'),
    cfg.IntOpt('max_allowed_address_pair', default=10, min=0,
               help='Most allowed address pairs one port can have.'),
    cfg.IntOpt('max_tags', default=50, min=0,
               help='Most tags one resource can have.'),
    cfg.IntOpt('max_request_body_size', default=114688, min=1,
               help='Largest request body accepted, in bytes; larger is '
                    '413.'),
    cfg.IntOpt('db_retries', default=10, min=0,
               help='How often a request is retried after a deadlock or '
                    'a lost race on a unique key.'),
    cfg.HostDomainOpt('host', default=socket.gethostname(),
                      sample_default='example.domain',
                      help='Name of this host: an agent reports under it and '
                           'receives the casts addressed to it.'),
    cfg.BoolOpt('local_agent', default=False,
                help='Run an agent for this host inside naas-server: the '
                     'one-machine setup, with the in-process transport.'),
    cfg.IntOpt('agent_down_time', default=75,
               help='Seconds after the last heartbeat an agent counts as '
                    'dead.'),
    cfg.IntOpt('dhcp_agents_per_network', default=1, min=1,
               help='How many DHCP agents serve each network that has a '
                    'DHCP-enabled subnet.'),
    cfg.BoolOpt('allow_automatic_dhcp_failover', default=True,
                help='Move the networks of a DHCP agent dead for agent_down_time '
                     'to alive DHCP agents (docs/ha.md).'),
    cfg.BoolOpt('allow_automatic_l3agent_failover', default=True,
                help='Move the routers of an L3 agent dead for agent_down_time '
                     'to an alive L3 agent (docs/ha.md).'),
]

DATABASE_OPTS = [
    cfg.StrOpt('connection', secret=True,
               help='SQLAlchemy URL of the NaaS database. Defaults to '
                    'SQLite in state_path.'),
    cfg.IntOpt('max_pool_size', default=10,
               help='Connections kept open per process.'),
    cfg.IntOpt('max_overflow', default=50,
               help='Connections beyond the pool under load.'),
    cfg.BoolOpt('connection_debug', default=False,
                help='Log every SQL statement.'),
]


def register_opts(conf):
    conf.register_opts(OPTS)
    conf.register_opts(DATABASE_OPTS, group='database')


def list_opts():
    return [('DEFAULT', OPTS), ('database', DATABASE_OPTS)]
