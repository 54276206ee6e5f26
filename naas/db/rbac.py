"""RBAC entries: which projects may use an object they do not own
(Neutron's rbac-policies: neutron/db/rbac_db_mixin.py, neutron/objects/rbac_db.py).

An entry grants ``target_tenant`` (a project, or ``*``: every project) an
``action`` on one object.  One table holds the entries of every object
type; object ids are UUIDs, so (object_id, target_tenant, action) is unique
and is the index every visibility query probes.

Object types are registered (ObjectTypes, held by the core plugin): the
core plugin registers 'network' (access_as_shared, access_as_external); a
service plugin registers its own ('security_group', 'qos_policy':
access_as_shared) from its attach.  An ObjectType says whose an object is
as the caller sees it, whether a project that loses an access still uses
the object (then the change is refused: RbacPolicyInUse), and what to do
after the entries of an object change (a network's ``shared`` and
``router:external`` columns follow its '*' entries).

Visibility (LP#1918145: a join of objects to entries returned 1.4 million
rows for 10 external networks): ``granted(id_column, actions)`` is an
EXISTS on that index, one probe per object row, never a join; an object
with a thousand entries is still one row.
"""
import uuid

import sqlalchemy as sa

from naas.common import exceptions
from naas.db import common
from naas.db import models
from naas.db import query
from naas.lib.definitions import rbac_policy as rbac_def

ACCESS_SHARED = rbac_def.ACCESS_SHARED
ACCESS_EXTERNAL = rbac_def.ACCESS_EXTERNAL
WILDCARD = rbac_def.WILDCARD

entries = sa.Table(
    'rbac_entries', models.metadata,
    sa.Column('id', models.UUID, primary_key=True),
    # The project that made the entry (the object's owner, or an admin's).
    sa.Column('project_id', models.NAME, nullable=False, index=True),
    sa.Column('object_type', sa.String(64), nullable=False),
    sa.Column('object_id', models.UUID, nullable=False),
    sa.Column('target_tenant', models.NAME, nullable=False),
    sa.Column('action', sa.String(255), nullable=False),
    sa.UniqueConstraint('object_id', 'target_tenant', 'action'),
)

COLUMNS = query.column_map(entries, renames={'tenant_id': 'project_id'})


class ObjectType:
    """What RBAC knows of one object type.

    ``owner(context, object_id)``: the object's project if the context may
    see it, else raise the type's NotFound.
    ``in_use(context, object_id, action, projects, all_but)``: whether
    projects losing ``action`` still use the object: those of ``projects``
    (a set) or, when ``projects`` is None, every project but ``all_but``;
    returns a reason (str) or None.
    ``changed(context, object_id)``: after the object's entries changed.
    """

    def __init__(self, name, actions, owner, in_use, changed=None):
        self.name = name
        self.actions = tuple(actions)
        self.owner = owner
        self.in_use = in_use
        self.changed = changed or (lambda context, object_id: None)


class ObjectTypes:
    """The registry of object types (one per core plugin)."""

    def __init__(self):
        self._types = {}

    def register(self, object_type):
        if object_type.name in self._types:
            raise RuntimeError('RBAC object type %s registered twice' % object_type.name)
        self._types[object_type.name] = object_type

    def get(self, name):
        try:
            return self._types[name]
        except KeyError:
            raise exceptions.InvalidInput(
                error_message="'%s' is not a valid RBAC object type" % name) from None


# ---- visibility --------------------------------------------------------------

def granted(id_column, actions):
    """WHERE clause: an entry gives the context (CTX_PROJECT) or every
    project one of ``actions`` on the object ``id_column`` (EXISTS).  The
    actions are bound one by one: a list of plain values would be an
    expanding IN, whose SQL is rendered again at every execution."""
    return sa.exists().where(entries.c.object_id == id_column,
                             entries.c.target_tenant.in_([WILDCARD, common.CTX_PROJECT]),
                             entries.c.action.in_([sa.literal(a) for a in actions]))


def granted_to_project(conn, object_ids, action, project_id):
    """The ids among ``object_ids`` on which ``project_id`` (or '*') has
    ``action``."""
    out = set()
    for chunk in common.chunks(set(object_ids)):
        out.update(conn.execute(sa.select(entries.c.object_id).where(
            entries.c.object_id.in_(chunk), entries.c.action == action,
            entries.c.target_tenant.in_([WILDCARD, project_id]))).scalars())
    return out


def has_entry(conn, object_id, action, target=None):
    """Whether the object has an entry for ``action`` (to ``target`` if given)."""
    stmt = sa.select(entries.c.id).where(entries.c.object_id == object_id,
                                         entries.c.action == action)
    if target is not None:
        stmt = stmt.where(entries.c.target_tenant == target)
    return conn.execute(stmt.limit(1)).first() is not None


# ---- the entries -------------------------------------------------------------

def _visible(context):
    """Entries are seen by the project that made them, and by admins."""
    return common.owned_by(context, entries)


def get_row(context, id):
    return common.visible_row(context, entries, id, _visible(context),
                              exceptions.RbacPolicyNotFound(id=id))


def select(context, filters, sorts=(), limit=None, marker=None, page_reverse=False):
    stmt = sa.select(entries).where(_visible(context))
    return query.list_rows(context, stmt, entries, COLUMNS, dict(filters or {}), sorts,
                           limit, marker, page_reverse, get_row)


def to_dict(row):
    return {'id': row.id, 'project_id': row.project_id, 'tenant_id': row.project_id,
            'object_type': row.object_type, 'object_id': row.object_id,
            'target_tenant': row.target_tenant, 'action': row.action}


def create(context, types, body):
    """A new entry from the validated request ``body``: only the object's
    owner (or an admin) shares it (InvalidInput otherwise, as Neutron, and
    the same answer whether or not the object exists); a duplicate is 409."""
    object_type = types.get(body['object_type'])
    action = body['action']
    if action not in object_type.actions:
        raise exceptions.InvalidInput(
            error_message="Action '%s' is not supported for RBAC object type %s"
                          % (action, object_type.name))
    _owner_for_change(context, object_type, body['object_id'])
    if has_entry(context.connection, body['object_id'], action, body['target_tenant']):
        raise exceptions.DuplicateRbacPolicy()
    row_id = insert(context.connection, object_type.name, body['object_id'], action,
                    body['target_tenant'], body['project_id'])
    object_type.changed(context, body['object_id'])
    return row_id


def insert(conn, object_type, object_id, action, target, project_id):
    row_id = str(uuid.uuid4())
    conn.execute(entries.insert().values(
        id=row_id, project_id=project_id, object_type=object_type, object_id=object_id,
        target_tenant=target, action=action))
    return row_id


def _owner_for_change(context, object_type, object_id):
    try:
        owner = object_type.owner(context, object_id)
    except exceptions.NotFound:
        if context.is_admin:
            raise
        owner = None
    if not context.is_admin and owner != context.project_id:
        raise exceptions.InvalidInput(
            error_message='Only admins can manipulate policies on objects they do not own')
    return owner


def update(context, types, id, target):
    """Retarget an entry; refused while the project losing it uses the object."""
    row = get_row(context, id)
    if target == row.target_tenant:
        return
    object_type = types.get(row.object_type)
    owner = _owner_for_change(context, object_type, row.object_id)
    if has_entry(context.connection, row.object_id, row.action, target):
        raise exceptions.DuplicateRbacPolicy()
    reason = _still_used(context, object_type, row, owner, new_target=target)
    if reason:
        raise exceptions.RbacPolicyInUse(object_id=row.object_id, details=reason)
    context.connection.execute(entries.update().where(entries.c.id == id)
                               .values(target_tenant=target))
    object_type.changed(context, row.object_id)


def delete(context, types, id):
    """Delete an entry; refused while the project losing it uses the object."""
    row = get_row(context, id)
    object_type = types.get(row.object_type)
    owner = object_type.owner(context.elevated(), row.object_id)
    reason = _still_used(context, object_type, row, owner)
    if reason:
        raise exceptions.RbacPolicyInUse(object_id=row.object_id, details=reason)
    context.connection.execute(entries.delete().where(entries.c.id == id))
    object_type.changed(context, row.object_id)


def set_wildcard(context, object_type, object_id, owner, action, on):
    """Add or remove the '*' entry of ``action`` (a network's ``shared`` and
    ``router:external``); returns the reason it cannot be removed, or None."""
    conn = context.connection
    row = conn.execute(sa.select(entries).where(
        entries.c.object_id == object_id, entries.c.action == action,
        entries.c.target_tenant == WILDCARD)).first()
    if on and row is None:
        insert(conn, object_type.name, object_id, action, WILDCARD, owner)
    elif not on and row is not None:
        reason = _still_used(context, object_type, row, owner)
        if reason:
            return reason
        conn.execute(entries.delete().where(entries.c.id == row.id))
    return None


def delete_all(conn, object_id, action=None):
    """Drop the entries of an object (being deleted), or of one action."""
    stmt = entries.delete().where(entries.c.object_id == object_id)
    if action is not None:
        stmt = stmt.where(entries.c.action == action)
    conn.execute(stmt)


def _still_used(context, object_type, row, owner, new_target=None):
    """Why the projects that lose ``row``'s access (after its deletion, or
    its retargeting to ``new_target``) cannot lose it, or None: as
    Neutron's ensure_no_project_ports_on_network, the owner and the
    projects another entry (or '*') still covers lose nothing."""
    target = row.target_tenant
    if target == owner:
        return None
    remaining = set(context.connection.execute(sa.select(entries.c.target_tenant).where(
        entries.c.object_id == row.object_id, entries.c.action == row.action,
        entries.c.id != row.id)).scalars())
    if new_target is not None:
        remaining.add(new_target)
    if target == WILDCARD:
        return object_type.in_use(context, row.object_id, row.action, None,
                                  (remaining - {WILDCARD}) | {owner})
    if WILDCARD in remaining:
        return None
    return object_type.in_use(context, row.object_id, row.action, {target}, None)
