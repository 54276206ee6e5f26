"""/v2.0/quotas: per-project limits (admins change them)."""
from naas.api import decoding
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.common import policy
from naas.db import api as db_api
from naas.db import quota
from naas.lib import attributes
from naas.lib.definitions import quota as quota_def


class QuotasController:
    resource = 'quota'

    def __init__(self, counted):
        """``counted``: {resource: table} of the loaded plugins."""
        self.counted = counted

    def _check(self, ctx, action, project_id):
        policy.Checker(ctx).enforce(action, {'project_id': project_id,
                                             'tenant_id': project_id})

    def _view(self, project_id, limits):
        return dict(limits, project_id=project_id, tenant_id=project_id)

    def index(self, request):
        def _list(ctx):
            if not ctx.is_admin:
                raise exceptions.AdminRequired(reason='listing quotas of all projects')
            conn = ctx.connection
            return [self._view(p, quota.limits(conn, self.counted, p))
                    for p in quota.projects_with_quotas(conn)]
        quotas = db_api.retry(_list, request.environ['naas.context'], writer=False)
        return wsgi_utils.json_response({'quotas': quotas})

    def show(self, request, id):
        def _show(ctx):
            self._check(ctx, 'get_quota', id)
            return quota.limits(ctx.connection, self.counted, id)
        limits = db_api.retry(_show, request.environ['naas.context'], writer=False)
        return wsgi_utils.json_response({'quota': limits})

    def defaults(self, request, id):
        return wsgi_utils.json_response({'quota': quota.defaults(self.counted)})

    def details(self, request, id):
        def _details(ctx):
            self._check(ctx, 'get_quota', id)
            return quota.details(ctx.connection, self.counted, id)
        details = db_api.retry(_details, request.environ['naas.context'], writer=False)
        return wsgi_utils.json_response({'quota': details})

    def update(self, request, id):
        body = decoding.json_body(request)
        if not isinstance(body, dict) or set(body) != {'quota'}:
            raise exceptions.BadRequest(resource='quota',
                                        msg='Unable to find quota in request body')
        attr_map = {k: v for k, v in quota_def.RESOURCE_ATTRIBUTE_MAP.items()
                    if k in quota.defaults(self.counted)}
        values = attributes.prepare_update('quota', attr_map, body['quota'])

        def _update(ctx):
            self._check(ctx, 'update_quota', id)
            quota.set_limits(ctx.connection, id, values)
            return quota.limits(ctx.connection, self.counted, id)
        limits = db_api.retry(_update, request.environ['naas.context'])
        return wsgi_utils.json_response({'quota': limits})

    def delete(self, request, id):
        def _delete(ctx):
            self._check(ctx, 'delete_quota', id)
            quota.reset(ctx.connection, id)
        db_api.retry(_delete, request.environ['naas.context'])
        return wsgi_utils.empty_response()
