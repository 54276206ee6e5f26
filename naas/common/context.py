"""The request context: who is asking, and the request's DB transaction."""
from oslo_context import context as oslo_context

# Keystone's default implied roles: admin implies member implies reader.
_IMPLIED_ROLES = {'admin': ('member', 'reader'), 'member': ('reader',)}


def expand_roles(roles):
    out = []
    for role in roles:
        role = role.strip().lower()
        for r in (role,) + _IMPLIED_ROLES.get(role, ()):
            if r and r not in out:
                out.append(r)
    return out


class Context(oslo_context.RequestContext):
    """A RequestContext with is_admin decided by policy and a DB connection.

    ``connection`` is the SQLAlchemy connection of the request's one
    transaction (see naas.db.api.transaction); plugins use it for every
    statement so that a failed request leaves nothing behind.
    """

    def __init__(self, *args, is_admin=None, **kwargs):
        kwargs.setdefault('roles', [])
        kwargs['roles'] = expand_roles(kwargs['roles'])
        super().__init__(*args, is_admin=False, **kwargs)
        if is_admin is None:
            from naas.common import policy
            is_admin = policy.check_is_admin(self)
        self.is_admin = is_admin
        self.connection = None
        self.after_commit = []

    @property
    def tenant_id(self):
        return self.project_id

    def elevated(self):
        ctx = Context(user_id=self.user_id, project_id=self.project_id,
                      roles=list(self.roles) + ['admin'], is_admin=True,
                      request_id=self.request_id)
        ctx.connection = self.connection
        ctx.after_commit = self.after_commit
        return ctx

    def to_policy_values(self):
        values = super().to_policy_values()
        values['tenant_id'] = self.project_id
        values['is_admin'] = self.is_admin
        return values


def get_admin_context():
    return Context(user_id=None, project_id=None, roles=['admin'], is_admin=True)
