"""/v2.0/{collection}/{id}/tags: the tags of a network, subnet or port."""
from naas.lib import validators
from naas.api import decoding
from naas.api import wsgi_utils
from naas.common import exceptions
from naas.common import policy
from naas.conf import CONF
from naas.db import api as db_api
from naas.db import common
from naas.db import models


class TagsController:
    def __init__(self, parent):
        """``parent`` is the collection's Controller (naas.api.base)."""
        self.parent = parent
        self.resource = parent.resource

    def _parent(self, ctx, checker, parent_id, action=None):
        item = self.parent._fetch(ctx, checker, parent_id)
        if action:
            checker.enforce('%s_%s_tags' % (action, self.resource), item)
        return item

    def _bump(self, ctx, parent_id):
        """The parent's tags column and revision follow the change."""
        # networks, ports, ... and the service plugins' tables (routers,
        # floatingips, subnet_routes), all in the one MetaData.
        # (qos/policies: the table qos_policies)
        table = models.metadata.tables[
            self.parent.collection.replace('/', '_').replace('-', '_')]
        common.write_tags(ctx.connection, table, parent_id)
        common.bump(ctx.connection, table, parent_id)

    def index(self, request, parent_id):
        def _list(ctx):
            return self._parent(ctx, policy.Checker(ctx), parent_id)['tags']
        tags = db_api.retry(_list, request.environ['naas.context'], writer=False)
        return wsgi_utils.json_response({'tags': tags})

    def show(self, request, parent_id, id):
        def _show(ctx):
            if id not in self._parent(ctx, policy.Checker(ctx), parent_id)['tags']:
                raise exceptions.TagNotFound(tag=validators.excerpt(id),
                                             resource=self.resource,
                                             resource_id=parent_id)
        db_api.retry(_show, request.environ['naas.context'], writer=False)
        return wsgi_utils.empty_response()

    def update(self, request, parent_id, id):
        msg = validators.validate_tag(id)
        if msg:
            raise exceptions.InvalidInput(error_message=msg)

        def _add(ctx):
            item = self._parent(ctx, policy.Checker(ctx), parent_id, 'create')
            if id not in item['tags'] and len(item['tags']) >= CONF.max_tags:
                raise exceptions.InvalidInput(
                    error_message='%s %s has %d tags, the limit (max_tags)' % (
                        self.resource, parent_id, len(item['tags'])))
            if id not in item['tags']:
                common.add_tag(ctx.connection, parent_id, id)
                self._bump(ctx, parent_id)
        db_api.retry(_add, request.environ['naas.context'])
        return wsgi_utils.empty_response(201)

    def update_all(self, request, parent_id):
        body = decoding.json_body(request)
        tags = body.get('tags') if isinstance(body, dict) else None
        msg = validators.validate_tags(tags)
        if msg:
            raise exceptions.InvalidInput(error_message=msg)

        def _replace(ctx):
            self._parent(ctx, policy.Checker(ctx), parent_id, 'update')
            common.set_tags(ctx.connection, parent_id, tags)
            self._bump(ctx, parent_id)
        db_api.retry(_replace, request.environ['naas.context'])
        return wsgi_utils.json_response({'tags': sorted(set(tags))})

    def delete(self, request, parent_id, id):
        def _remove(ctx):
            self._parent(ctx, policy.Checker(ctx), parent_id, 'delete')
            if not common.remove_tag(ctx.connection, parent_id, id):
                raise exceptions.TagNotFound(tag=validators.excerpt(id),
                                             resource=self.resource,
                                             resource_id=parent_id)
            self._bump(ctx, parent_id)
        db_api.retry(_remove, request.environ['naas.context'])
        return wsgi_utils.empty_response()

    def delete_all(self, request, parent_id):
        def _clear(ctx):
            self._parent(ctx, policy.Checker(ctx), parent_id, 'delete')
            common.set_tags(ctx.connection, parent_id, [])
            self._bump(ctx, parent_id)
        db_api.retry(_clear, request.environ['naas.context'])
        return wsgi_utils.empty_response()
