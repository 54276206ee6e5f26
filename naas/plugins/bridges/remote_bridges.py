"""Remote-site bridge rows: the remote_bridges table, the checks a new
bridge passes, the choice of its host, the API view and what the agents
get in port details.

Checks (each a clear 4xx, before anything is written):

- the network: visible to the caller (else 404, from the API's policy
  target) and, unless the caller is an administrator, of the caller's
  project (a bridge carries every frame of the network to the remote site:
  the owner of a shared network decides, not its users): else 404
  NetworkNotFound, as if it did not exist;
- ``remote_ip``: a unicast address (not loopback, multicast, link-local,
  unspecified or broadcast), inside one of ``[bridges]
  allowed_remote_cidrs``, and not a NaaS host's own tunnel_ip (400);
- ``segmentation_id``: 1 through 2^24-1 (the attribute map), not another
  bridge's (409 RemoteBridgeVniInUse: one bridge per VNI on the whole
  deployment) nor a vxlan network's own segment (409);
- ``host``: an administrator may name it; it must have an L2 agent that
  reports the encapsulation in ``remote_tunnels`` and a tunnel_ip of the
  remote's IP version (400).  Otherwise the server chooses among the alive,
  enabled such agents: first those with ports of the network (the bridge
  needs the network's bridge on the host), then the one with the fewest
  bridges, then by name (409 NoBridgingHost when none can).
"""
import ipaddress

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.conf import CONF
from naas.db import agents as agents_db
from naas.db import common
from naas.db import ports as ports_db
from naas.db import query
from naas.lib import constants
from naas.lib.definitions import remote_bridge as remote_bridge_def
from naas.plugins.bridges import models

remote_bridges = models.remote_bridges
COLUMNS = query.column_map(remote_bridges, renames={'tenant_id': 'project_id'})
L2_AGENT_TYPES = (constants.AGENT_TYPE_LINUXBRIDGE, constants.AGENT_TYPE_OVS)


class RemoteBridgeVniInUse(exceptions.Conflict):
    message = 'Segmentation id %(vni)s is in use by %(user)s.'


class NoBridgingHost(exceptions.Conflict):
    message = ('No alive L2 agent can terminate a %(encapsulation)s tunnel to '
               '%(remote_ip)s (none reports it in remote_tunnels with a tunnel_ip '
               'of that IP version).')


def _bad(msg):
    return exceptions.BadRequest(resource='remote_bridge', msg=msg)


def _visible(context):
    return common.owned_by(context, remote_bridges)


def get_row(context, id, lock=False):
    return common.visible_row(context, remote_bridges, id, _visible(context),
                              remote_bridge_def.RemoteBridgeNotFound(id=id), lock)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    stmt = sa.select(remote_bridges).where(_visible(context))
    return query.list_rows(context, stmt, remote_bridges, COLUMNS, dict(filters or {}),
                           sorts, limit, marker, page_reverse, get_row)


def to_dicts(rows):
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d.update(network_id=r.network_id, remote_ip=r.remote_ip,
                 segmentation_id=r.segmentation_id, encapsulation=r.encapsulation,
                 host=r.host, remote_entries=common.loads(r.remote_entries, []),
                 status=r.status)
        out.append(d)
    return out


# ---- checks ------------------------------------------------------------------

def check_remote_ip(conn, value):
    """The remote endpoint, normalised; BadRequest when it is not one a
    tunnel may go to."""
    address = ipaddress.ip_address(value)
    if (address.is_loopback or address.is_multicast or address.is_link_local
            or address.is_unspecified or value == '255.255.255.255'):
        raise _bad('remote_ip %s is not a unicast address a tunnel can reach '
                   '(loopback, multicast, link-local and unspecified are refused)' % value)
    allowed = [ipaddress.ip_network(cidr, strict=False)
               for cidr in CONF.bridges.allowed_remote_cidrs]
    if not any(address.version == net.version and address in net for net in allowed):
        raise _bad('remote_ip %s is outside the allowed remote prefixes (%s)'
                   % (value, ', '.join(CONF.bridges.allowed_remote_cidrs) or 'none'))
    for row in agents_db.of_types(conn, L2_AGENT_TYPES):
        if row.tunnel_ip and ipaddress.ip_address(row.tunnel_ip) == address:
            raise _bad('remote_ip %s is the tunnel address of NaaS host %s'
                       % (value, row.host))
    return str(address)


def check_vni(core, context, vni):
    conn = context.connection
    other = conn.execute(sa.select(remote_bridges.c.id).where(
        remote_bridges.c.segmentation_id == vni)).scalar()
    if other is not None:
        raise RemoteBridgeVniInUse(vni=vni, user='remote bridge %s' % other)
    networks = core.get_networks(context.elevated(), filters={
        'provider:network_type': ['vxlan'], 'provider:segmentation_id': [vni]})
    if networks:
        raise RemoteBridgeVniInUse(vni=vni, user='a network')


def _can_bridge(row, encapsulation, version):
    configurations = common.loads(row.configurations, {})
    return (encapsulation in configurations.get('remote_tunnels', ())
            and bool(row.tunnel_ip)
            and ipaddress.ip_address(row.tunnel_ip).version == version)


def choose_host(conn, network_id, remote_ip, encapsulation, host=None):
    """The host that terminates the bridge (see the module docstring)."""
    version = ipaddress.ip_address(remote_ip).version
    if host is not None:
        if not any(_can_bridge(row, encapsulation, version)
                   for row in agents_db.of_types(conn, L2_AGENT_TYPES, host)):
            raise _bad('host %s has no L2 agent that terminates %s tunnels over IPv%d'
                       % (host, encapsulation, version))
        return host
    candidates = {row.host for row in agents_db.of_types(conn, L2_AGENT_TYPES)
                  if row.admin_state_up and agents_db.is_alive(row)
                  and _can_bridge(row, encapsulation, version)}
    if not candidates:
        raise NoBridgingHost(encapsulation=encapsulation, remote_ip=remote_ip)
    with_ports = set(conn.execute(sa.select(ports_db.ports.c.binding_host_id).distinct().where(
        ports_db.ports.c.network_id == network_id)).scalars())
    load = dict(conn.execute(sa.select(remote_bridges.c.host, sa.func.count())
                             .group_by(remote_bridges.c.host)).all())
    return min(candidates, key=lambda h: (h not in with_ports, load.get(h, 0), h))


def normalized_entries(entries):
    """Static remote entries with lower-case MACs and no duplicate MAC."""
    out, seen = [], set()
    for entry in entries or ():
        mac = entry['mac_address'].lower().replace('-', ':')
        if mac in seen:
            raise _bad('remote_entries name MAC %s twice' % mac)
        seen.add(mac)
        out.append({'mac_address': mac, 'ip_address': entry.get('ip_address')})
    return out


# ---- changes -------------------------------------------------------------------

def insert(conn, body, host):
    row = common.new_standard(body)
    row.update(network_id=body['network_id'], remote_ip=body['remote_ip'],
               segmentation_id=body['segmentation_id'],
               encapsulation=body['encapsulation'], host=host,
               remote_entries=common.dumps(normalized_entries(body['remote_entries'])),
               status='DOWN')
    try:
        conn.execute(remote_bridges.insert().values(**row))
    except sa_exc.IntegrityError as e:  # the same VNI, meanwhile: 409 on retry
        raise exceptions.DBRetry() from e
    return row['id']


def update(conn, id, body, expected_revision=None):
    cols = {k: body[k] for k in ('name', 'description') if k in body}
    if 'remote_entries' in body:
        cols['remote_entries'] = common.dumps(normalized_entries(body['remote_entries']))
    common.bump(conn, remote_bridges, id, cols, expected_revision)


def delete(conn, id):
    common.delete_tags(conn, id)
    conn.execute(remote_bridges.delete().where(remote_bridges.c.id == id))


def set_status(conn, host, statuses):
    """Statuses an agent reported for bridges it terminates (others' are
    ignored: a bridge moved away meanwhile)."""
    for status in sorted(set(statuses.values()) & set(remote_bridge_def.STATUSES)):
        ids = sorted(i for i, s in statuses.items() if s == status)
        conn.execute(remote_bridges.update().where(
            remote_bridges.c.id.in_(ids), remote_bridges.c.host == host,
            remote_bridges.c.status != status).values(status=status))


# ---- what the agents get ---------------------------------------------------------

def remotes_for_details(conn, details):
    """``remotes`` in each port's details: the bridges of its network that
    its host terminates, [{id, remote_ip, type, segmentation_id,
    entries: [{mac_address, ip_address}]}] sorted by id (empty for every
    other port, so that an agent sees a bridge go)."""
    network_ids = sorted({d['network_id'] for d in details})
    by_key = {}
    for chunk in common.chunks(network_ids):
        for r in conn.execute(sa.select(remote_bridges).where(
                remote_bridges.c.network_id.in_(chunk)).order_by(remote_bridges.c.id)):
            by_key.setdefault((r.network_id, r.host), []).append({
                'id': r.id, 'remote_ip': r.remote_ip, 'type': r.encapsulation,
                'segmentation_id': r.segmentation_id,
                'entries': common.loads(r.remote_entries, [])})
    for d in details:
        d['remotes'] = by_key.get((d['network_id'], d.get('host')), [])
