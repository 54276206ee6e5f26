"""Physical-network bridge rows: the physical_bridges table, the checks a
new bridge passes, the API view and what the agents get in port details.

A physical bridge joins a network to (physical network, VLAN or flat)
through one host an administrator names (the host that has the physical
network: its L2 agent's bridge_mappings); it is not scheduled and never
moves (failover would need the same physical network on another host;
when the host's agent is dead the bridge shows DOWN, see plugin.py).

Checks (each a clear 4xx, before anything is written; the policy makes
every action administrator-only):

- the network: visible (404 NetworkNotFound), and not bridged to the same
  physical network on the same host already (409: both would map one local
  VLAN to two physical VLANs);
- ``host`` and ``physical_network``: the host has an L2 agent whose
  bridge_mappings name the physical network (400);
- ``segmentation_id`` (VLAN, 1 through 4094, or null: flat): not the same
  (host, physical network, VLAN) as another bridge (409
  PhysicalBridgeInUse), not a network's own segment on that physical
  network (409: the VLAN or the flat traffic is that network's already).
  It is taken out of the tenant VLAN pool of the physical network while a
  bridge uses it (naas.plugins.l2.segments.add_reservations), so that no
  VLAN network is given it afterwards either.
"""
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from naas.common import exceptions
from naas.db import agents as agents_db
from naas.db import common
from naas.db import query
from naas.lib.definitions import physical_bridge as physical_bridge_def
from naas.plugins.bridges import models
from naas.plugins.bridges import remote_bridges
from naas.plugins.l2 import segments

physical_bridges = models.physical_bridges
COLUMNS = query.column_map(physical_bridges, renames={'tenant_id': 'project_id'})
#: The stored segmentation_id of a flat (untagged) bridge.
FLAT = 0


class PhysicalBridgeInUse(exceptions.Conflict):
    message = ('Physical network %(physical_network)s %(vlan)s on host %(host)s is '
               'in use by %(user)s.')


def _bad(msg):
    return exceptions.BadRequest(resource='physical_bridge', msg=msg)


def _visible(context):
    return common.owned_by(context, physical_bridges)


def get_row(context, id, lock=False):
    return common.visible_row(context, physical_bridges, id, _visible(context),
                              physical_bridge_def.PhysicalBridgeNotFound(id=id), lock)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    stmt = sa.select(physical_bridges).where(_visible(context))
    return query.list_rows(context, stmt, physical_bridges, COLUMNS, dict(filters or {}),
                           sorts, limit, marker, page_reverse, get_row)


def to_dicts(rows):
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d.update(network_id=r.network_id, host=r.host, physical_network=r.physical_network,
                 segmentation_id=r.segmentation_id or None, status=r.status)
        out.append(d)
    return out


def _vlan_text(vlan):
    return 'VLAN %d' % vlan if vlan else 'untagged (flat)'


def pool_of(physical_network, vlan):
    """The segments pool a bridge's id belongs to (vlan:P, or flat:P)."""
    return ('vlan:' if vlan else 'flat:') + physical_network


# ---- checks ------------------------------------------------------------------

def check(conn, network_id, host, physical_network, vlan):
    """The checks of the module docstring (the network is visible already)."""
    if not any(physical_network in common.loads(row.configurations, {}).get(
            'bridge_mappings', {}) for row in agents_db.of_types(
                conn, remote_bridges.L2_AGENT_TYPES, host)):
        raise _bad('host %s has no L2 agent with a bridge mapping for physical network %s'
                   % (host, physical_network))
    where = sa.and_(physical_bridges.c.host == host,
                    physical_bridges.c.physical_network == physical_network)
    other = conn.execute(sa.select(physical_bridges.c.id).where(
        where, physical_bridges.c.segmentation_id == vlan)).scalar()
    if other is not None:
        raise PhysicalBridgeInUse(physical_network=physical_network, vlan=_vlan_text(vlan),
                                  host=host, user='physical bridge %s' % other)
    same_network = conn.execute(sa.select(physical_bridges.c.id).where(
        where, physical_bridges.c.network_id == network_id)).scalar()
    if same_network is not None:
        raise exceptions.Conflict(msg='network %s is bridged to physical network %s on host '
                                  '%s already (physical bridge %s)'
                                  % (network_id, physical_network, host, same_network))
    segment = conn.execute(sa.select(segments.segments.c.network_id).where(
        segments.segments.c.network_type == ('vlan' if vlan else 'flat'),
        segments.segments.c.physical_network == physical_network,
        segments.segments.c.segmentation_id == vlan)).scalar()
    if segment is not None:
        raise PhysicalBridgeInUse(physical_network=physical_network, vlan=_vlan_text(vlan),
                                  host=host, user='network %s' % segment)


def reservations(conn, pool_id):
    """{VLAN: who} of ``pool_id`` ('vlan:P' or 'flat:P') that bridges use
    (naas.plugins.l2.segments.add_reservations)."""
    kind, _, physical_network = pool_id.partition(':')
    if kind not in ('vlan', 'flat'):
        return {}
    column = physical_bridges.c.segmentation_id
    stmt = sa.select(column, sa.func.min(physical_bridges.c.id)).where(
        physical_bridges.c.physical_network == physical_network,
        column != FLAT if kind == 'vlan' else column == FLAT).group_by(column)
    return {vlan: 'physical bridge %s' % bridge_id for vlan, bridge_id in conn.execute(stmt)}


# ---- changes -------------------------------------------------------------------

def insert(conn, body):
    vlan = body['segmentation_id'] or FLAT
    row = common.new_standard(body)
    row.update(network_id=body['network_id'], host=body['host'],
               physical_network=body['physical_network'], segmentation_id=vlan,
               status='DOWN')
    segments.sync_pools(conn)
    shared = conn.execute(sa.select(physical_bridges.c.id).where(
        physical_bridges.c.physical_network == body['physical_network'],
        physical_bridges.c.segmentation_id == vlan)).first() is not None
    remote_bridges.take_from_pool(conn, pool_of(body['physical_network'], vlan), vlan, shared)
    try:
        conn.execute(physical_bridges.insert().values(**row))
    except sa_exc.IntegrityError as e:  # the same (host, physnet, VLAN), meanwhile
        raise exceptions.DBRetry() from e
    return row['id']


def update(conn, id, body, expected_revision=None):
    cols = {k: body[k] for k in ('name', 'description') if k in body}
    common.bump(conn, physical_bridges, id, cols, expected_revision)


def delete(conn, row):
    common.delete_tags(conn, row.id)
    conn.execute(physical_bridges.delete().where(physical_bridges.c.id == row.id))
    still = conn.execute(sa.select(physical_bridges.c.id).where(
        physical_bridges.c.physical_network == row.physical_network,
        physical_bridges.c.segmentation_id == row.segmentation_id)).first()
    if still is None:
        remote_bridges.give_back_to_pool(
            conn, pool_of(row.physical_network, row.segmentation_id), row.segmentation_id)


def of_network(conn, network_id):
    return conn.execute(sa.select(physical_bridges).where(
        physical_bridges.c.network_id == network_id)).all()


def set_status(conn, host, statuses):
    """Statuses an agent reported for bridges of its host."""
    for status in sorted(set(statuses.values()) & set(physical_bridge_def.STATUSES)):
        ids = sorted(i for i, s in statuses.items() if s == status)
        conn.execute(physical_bridges.update().where(
            physical_bridges.c.id.in_(ids), physical_bridges.c.host == host,
            physical_bridges.c.status != status).values(status=status))


# ---- what the agents get ---------------------------------------------------------

def for_details(conn, details):
    """``physical_bridges`` in each port's details: the physical bridges of
    its network through its host, [{id, physical_network, segmentation_id
    (None: flat)}] sorted by id (empty for every other port, so that an
    agent sees a bridge go)."""
    network_ids = sorted({d['network_id'] for d in details})
    by_key = {}
    for chunk in common.chunks(network_ids):
        for r in conn.execute(sa.select(physical_bridges).where(
                physical_bridges.c.network_id.in_(chunk)).order_by(physical_bridges.c.id)):
            by_key.setdefault((r.network_id, r.host), []).append({
                'id': r.id, 'physical_network': r.physical_network,
                'segmentation_id': r.segmentation_id or None})
    for d in details:
        d['physical_bridges'] = by_key.get((d['network_id'], d.get('host')), [])

