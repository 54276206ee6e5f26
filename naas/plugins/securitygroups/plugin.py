"""The security group service plugin (entry point ``security-group``):
security groups and their rules, address groups, the template of new
groups' rules, and ports' ``security_groups`` (an extender of the core
plugin's ports, port_groups.py), with what the L2 agents need to filter
ports (port details, get_security_group_info) and the casts that tell them
of changes (notify.py).

The plugin methods are thin (the shape of naas.plugins.core): each runs in
the API request's transaction and hands over to the module that owns the
rows (groups.py, rules.py, address_groups.py, port_groups.py).
"""
from naas.common import exceptions
from naas.db import rbac
from naas.lib.definitions import address_group as address_group_def
from naas.lib.definitions import default_security_group_rule as template_def
from naas.lib.definitions import securitygroup as group_def
from naas.lib.definitions import securitygroup_rule as rule_def
from naas.plugins import core
from naas.plugins.securitygroups import address_groups
from naas.plugins.securitygroups import groups
from naas.plugins.securitygroups import models
from naas.plugins.securitygroups import notify
from naas.plugins.securitygroups import port_groups
from naas.plugins.securitygroups import rules


class SecurityGroupPlugin(core.ServicePlugin):
    resources = (group_def, rule_def, address_group_def, template_def)
    extensions = ('security-group', 'stateful-security-group', 'address-group',
                  'security-groups-default-rules')
    quota_resources = {'security_group': models.security_groups,
                       'security_group_rule': models.security_group_rules}

    def __init__(self):
        self.core = None
        self.notifier = notify.Notifier()
        self.ports = port_groups.PortGroups(self)

    def attach(self, core_plugin):
        super().attach(core_plugin)
        core_plugin.add_extender(self.ports)
        core_plugin.add_delete_hook('port', self.ports.before_port_delete)
        core_plugin.rbac.register(rbac.ObjectType(
            'security_group', (rbac.ACCESS_SHARED,),
            owner=lambda context, id: groups.get_row(context, id, shared=True).project_id,
            in_use=port_groups.rbac_in_use))

    # ---- security groups -----------------------------------------------------

    def create_security_group(self, context, security_group):
        if security_group['name'] == group_def.DEFAULT_NAME:
            raise exceptions.SecurityGroupDefaultAlreadyExists()
        groups.ensure_default(context, security_group['project_id'])
        return groups.insert(context.connection, security_group)

    def get_security_group(self, context, id):
        row = groups.get_row(context, id, shared=True, columns=groups.VIEW_COLUMNS)
        return groups.to_dicts(context.connection, [row])[0]

    def get_security_groups(self, context, filters=None, sorts=(), limit=None,
                            marker=None, page_reverse=False):
        """The project asked for (or the caller's) gets its default group
        first, as in Neutron."""
        filters = filters or {}
        project = (filters.get('project_id') or filters.get('tenant_id') or
                   [context.project_id])[0]
        groups.ensure_default(context, project)
        rows = groups.select(context, filters, sorts, limit, marker, page_reverse)
        return groups.to_dicts(context.connection, rows)

    def update_security_group(self, context, id, security_group, expected_revision=None):
        conn = context.connection
        row = groups.get_row(context, id, lock=True)
        if 'name' in security_group and groups.is_default(conn, id):
            raise exceptions.SecurityGroupCannotUpdateDefault()
        if security_group.get('name') == group_def.DEFAULT_NAME:
            raise exceptions.SecurityGroupDefaultAlreadyExists()
        if 'stateful' in security_group and security_group['stateful'] != row.stateful \
                and port_groups.in_use(conn, id):
            raise exceptions.SecurityGroupInUse(id=id)
        groups.update(conn, id, {k: security_group[k] for k in
                                 ('name', 'description', 'stateful') if k in security_group},
                      expected_revision)
        return self.get_security_group(context, id)

    def delete_security_group(self, context, id):
        conn = context.connection
        groups.get_row(context, id, lock=True)
        if port_groups.in_use(conn, id):
            raise exceptions.SecurityGroupInUse(id=id)
        if groups.is_default(conn, id) and not context.is_admin:
            raise exceptions.SecurityGroupCannotRemoveDefault()
        # The rules of other groups naming it go with it.
        self.notifier.rules_changed(context, rules.naming_groups(conn, [id]) - {id})
        groups.delete(conn, id)

    # ---- security group rules --------------------------------------------------

    def create_security_group_rule(self, context, security_group_rule):
        conn = context.connection
        rule = dict(security_group_rule)
        rules.check(rule)  # (first, as Neutron: its normal form is the key)
        group = groups.get_row(context, rule['security_group_id'], lock=True,
                               columns=(groups.IS_DEFAULT, rules.WITH_KEY),
                               rule_key=rules.key(rule))
        if rule['remote_group_id']:
            groups.get_row(context, rule['remote_group_id'])
        if rule['remote_address_group_id']:
            address_groups.get_row(context, rule['remote_address_group_id'])
        if group.rule_with_key is not None:
            raise exceptions.SecurityGroupRuleExists(rule_id=group.rule_with_key)
        new_rules = rules.insert(conn, [rule], group.id, group.project_id, group.is_default)
        groups.update(conn, group.id, {})
        self.notifier.rules_changed(context, [group.id])
        return rules.to_dicts(new_rules)[0]

    def get_security_group_rule(self, context, id):
        return rules.to_dicts([rules.get_row(context, id, view=True)])[0]

    def get_security_group_rules(self, context, filters=None, sorts=(), limit=None,
                                 marker=None, page_reverse=False):
        return rules.to_dicts(rules.select(context, filters, sorts, limit, marker,
                                           page_reverse))

    def delete_security_group_rule(self, context, id):
        conn = context.connection
        row = rules.get_row(context, id, lock=True)
        rules.delete(conn, id)
        groups.update(conn, row.security_group_id, {})
        self.notifier.rules_changed(context, [row.security_group_id])

    # ---- the template of new groups' rules --------------------------------------

    def create_default_security_group_rule(self, context, default_security_group_rule):
        rule = dict(default_security_group_rule)
        rules.check(rule)
        return self.get_default_security_group_rule(
            context, rules.template_insert(context.connection, rule))

    def get_default_security_group_rule(self, context, id):
        return rules.template_to_dicts([rules.template_get_row(context, id)])[0]

    def get_default_security_group_rules(self, context, filters=None, sorts=(),
                                         limit=None, marker=None, page_reverse=False):
        return rules.template_to_dicts(rules.template_select(
            context, filters, sorts, limit, marker, page_reverse))

    def delete_default_security_group_rule(self, context, id):
        rules.template_get_row(context, id)
        rules.template_delete(context.connection, id)

    # ---- address groups ------------------------------------------------------

    def create_address_group(self, context, address_group):
        conn = context.connection
        id = address_groups.insert(conn, address_group)
        if address_group['addresses']:
            address_groups.add(conn, id, address_groups.requested(
                {'addresses': address_group['addresses']}))
        return self.get_address_group(context, id)

    def get_address_group(self, context, id):
        return address_groups.to_dicts(context.connection,
                                       [address_groups.get_row(context, id)])[0]

    def get_address_groups(self, context, filters=None, sorts=(), limit=None,
                           marker=None, page_reverse=False):
        rows = address_groups.select(context, filters, sorts, limit, marker, page_reverse)
        return address_groups.to_dicts(context.connection, rows)

    def update_address_group(self, context, id, address_group, expected_revision=None):
        address_groups.get_row(context, id, lock=True)
        address_groups.update(context.connection, id,
                              {k: address_group[k] for k in ('name', 'description')
                               if k in address_group}, expected_revision)
        return self.get_address_group(context, id)

    def delete_address_group(self, context, id):
        conn = context.connection
        address_groups.get_row(context, id, lock=True)
        if rules.naming_address_group(conn, id):
            raise exceptions.AddressGroupInUse(address_group_id=id)
        address_groups.delete(conn, id)

    def add_addresses(self, context, id, body):
        return self._change_addresses(context, id, body, address_groups.add)

    def remove_addresses(self, context, id, body):
        return self._change_addresses(context, id, body, address_groups.remove)

    def _change_addresses(self, context, id, body, change):
        conn = context.connection
        address_groups.get_row(context, id, lock=True)
        change(conn, id, address_groups.requested(body))
        address_groups.update(conn, id, {})
        self.notifier.address_group_changed(context, id)
        return {'address_group': self.get_address_group(context, id)}
