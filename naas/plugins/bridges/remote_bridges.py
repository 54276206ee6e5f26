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
  deployment) nor a vxlan network's own segment (409).  While a bridge
  has it, a VNI inside ``[l2] vni_ranges`` is out of the tenant VNI pool
  (taken from the free list; naas.plugins.l2.segments.add_reservations
  keeps it out of a refill and refuses it to a provider network, 409): so
  a VXLAN network is never given a bridge's VNI, and the kernel or OVS of
  the bridging host never sees two tunnels with one VNI;
- ``host``: an administrator may name it; it must have an L2 agent that
  reports the encapsulation in ``remote_tunnels`` and a tunnel_ip of the
  remote's IP version (400).  Otherwise the server chooses among the alive,
  enabled such agents: first those with ports of the network (the bridge
  needs the network's bridge on the host), then the one with the fewest
  bridges, then by name (409 NoBridgingHost when none can).

Failover (``[bridges] allow_automatic_failover``, on by default; started
by plugin.py like the L3 failover, naas.common.periodic): the bridges of a
host whose L2 agents are all dead for agent_down_time move to another host
chosen as above (an administrator's choice of host included: a remote
bridge needs any host that can terminate the tunnel, not that one), status
DOWN until the new host's agent reports it.  The remote site must then send
to the new host's tunnel address (docs/bridges.md).
"""
import ipaddress

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.conf import CONF
from naas.db import agents as agents_db
from naas.db import common
from naas.db import freelist
from naas.db import ports as ports_db
from naas.db import query
from naas.lib import constants
from naas.lib.definitions import remote_bridge as remote_bridge_def
from naas.plugins.bridges import models
from naas.plugins.l2 import segments

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


# ---- the tenant pools (naas.plugins.l2.segments) ---------------------------------

def _in_configured_range(pool_id, value):
    return any(low <= value <= high
               for low, high in segments.configured_pools().get(pool_id, ()))


def take_from_pool(conn, pool_id, value, shared=False):
    """Take ``value`` out of a tenant pool while a bridge uses it (nothing
    when it is outside the configured ranges).  Not free and not
    ``shared`` (held by another bridge already): a network took it since
    the checks, DBRetry (the retry's checks answer 409)."""
    if (_in_configured_range(pool_id, value) and not freelist.take(conn, pool_id, value)
            and not shared):
        raise exceptions.DBRetry()


def give_back_to_pool(conn, pool_id, value):
    if _in_configured_range(pool_id, value):
        freelist.give_back(conn, pool_id, value)


def reservations(conn, pool_id):
    """{VNI: who} of the vxlan pool that remote bridges use."""
    if pool_id != 'vxlan':
        return {}
    return {vni: 'remote bridge %s' % bridge_id for vni, bridge_id in conn.execute(
        sa.select(remote_bridges.c.segmentation_id, remote_bridges.c.id))}


# ---- changes -------------------------------------------------------------------

def insert(conn, body, host):
    row = common.new_standard(body)
    row.update(network_id=body['network_id'], remote_ip=body['remote_ip'],
               segmentation_id=body['segmentation_id'],
               encapsulation=body['encapsulation'], host=host,
               remote_entries=common.dumps(normalized_entries(body['remote_entries'])),
               status='DOWN')
    segments.sync_pools(conn)
    take_from_pool(conn, 'vxlan', body['segmentation_id'])
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


def delete(conn, row):
    common.delete_tags(conn, row.id)
    conn.execute(remote_bridges.delete().where(remote_bridges.c.id == row.id))
    give_back_to_pool(conn, 'vxlan', row.segmentation_id)


def of_network(conn, network_id):
    return conn.execute(sa.select(remote_bridges).where(
        remote_bridges.c.network_id == network_id)).all()


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


# ---- failover ----------------------------------------------------------------------

def dead_hosts(conn, table=remote_bridges):
    """Hosts of the bridges of ``table`` with no alive L2 agent (dead for
    agent_down_time, or deleted)."""
    hosts = set(conn.execute(sa.select(table.c.host).distinct()).scalars())
    alive = {row.host for row in agents_db.of_types(conn, L2_AGENT_TYPES)
             if agents_db.is_alive(row)}
    return sorted(hosts - alive)


def move_from(conn, host):
    """Move the remote bridges of ``host`` (a dead one) to hosts chosen as a
    new bridge's; [(bridge row, new host)].  A bridge no alive host can
    terminate stays where it is."""
    moved = []
    for row in conn.execute(sa.select(remote_bridges).where(
            remote_bridges.c.host == host).order_by(remote_bridges.c.id)).all():
        try:
            new_host = choose_host(conn, row.network_id, row.remote_ip, row.encapsulation)
        except NoBridgingHost:
            continue
        common.bump(conn, remote_bridges, row.id, {'host': new_host, 'status': 'DOWN'})
        moved.append((row, new_host))
    return moved


def mark_down(conn, table, hosts):
    """The bridges of ``table`` left on ``hosts`` (without an alive L2
    agent) are DOWN."""
    if hosts:
        conn.execute(table.update().where(table.c.host.in_(list(hosts)),
                                          table.c.status != 'DOWN').values(status='DOWN'))
