"""Address group rows: the address_groups table, their addresses (one row
each, kept as the network they name) and the API view."""
import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import query
from naas.lib import validators
from naas.lib.definitions import address_group as address_group_def
from naas.plugins.securitygroups import models

address_groups = models.address_groups
addresses = models.address_group_addresses
COLUMNS = query.column_map(address_groups, renames={'tenant_id': 'project_id'})


def visible(context):
    return common.owned_by(context, address_groups)


def get_row(context, id, lock=False):
    return common.visible_row(context, address_groups, id, visible(context),
                              exceptions.AddressGroupNotFound(address_group_id=id), lock)


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    stmt = sa.select(address_groups).where(visible(context))
    return query.list_rows(context, stmt, address_groups, COLUMNS, dict(filters or {}),
                           sorts, limit, marker, page_reverse, get_row)


def addresses_of(conn, ids):
    """{address group id: [address]} of ``ids``."""
    out = {}
    for chunk in common.chunks(ids):
        for row in conn.execute(sa.select(addresses).where(
                addresses.c.address_group_id.in_(chunk))
                .order_by(addresses.c.address_group_id, addresses.c.address)):
            out.setdefault(row.address_group_id, []).append(row.address)
    return out


def to_dicts(conn, rows):
    by_group = addresses_of(conn, [r.id for r in rows])
    out = []
    for r in rows:
        d = common.standard_dict(r)
        d['addresses'] = by_group.get(r.id, [])
        out.append(d)
    return out


def insert(conn, body):
    row = common.new_standard(body)
    conn.execute(address_groups.insert().values(**row))
    return row['id']


def update(conn, id, cols, expected_revision=None):
    common.bump(conn, address_groups, id, cols, expected_revision)


def delete(conn, id):
    common.delete_tags(conn, id)
    conn.execute(address_groups.delete().where(address_groups.c.id == id))


def requested(body):
    """The normal form of the addresses of a member action's body
    {"addresses": [...]}; InvalidInput if there are none or one is bad."""
    values = body.get('addresses') if isinstance(body, dict) else None
    msg = address_group_def.validate_addresses(values)
    if msg is None and not values:
        msg = 'no addresses'
    if msg is None and set(body) != {'addresses'}:
        msg = "Unexpected keys in %s" % validators.excerpt(body)
    if msg:
        raise exceptions.InvalidInput(error_message='Invalid input for addresses. '
                                                    'Reason: %s.' % msg)
    return sorted({address_group_def.normalize_address(v) for v in values})


def add(conn, id, wanted):
    """Add ``wanted`` (normal form); AddressesAlreadyExist if one is there."""
    present = set(addresses_of(conn, [id]).get(id, [])) & set(wanted)
    if present:
        raise exceptions.AddressesAlreadyExist(addresses=sorted(present),
                                               address_group_id=id)
    if wanted:
        conn.execute(addresses.insert(), [{'address_group_id': id, 'address': a}
                                          for a in wanted])


def remove(conn, id, wanted):
    """Remove ``wanted``; AddressesNotFound if one is not there."""
    missing = set(wanted) - set(addresses_of(conn, [id]).get(id, []))
    if missing:
        raise exceptions.AddressesNotFound(addresses=sorted(missing), address_group_id=id)
    conn.execute(addresses.delete().where(addresses.c.address_group_id == id,
                                          addresses.c.address.in_(list(wanted))))
