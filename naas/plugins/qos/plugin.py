"""The QoS service plugin (entry point ``qos``): QoS policies with
bandwidth limit, DSCP marking and packet rate limit rules, the rule types
the agents enforce, and ``qos_policy_id`` on networks and ports.

The plugin methods are thin (the shape of naas.plugins.core): policies.py
owns the policies and project defaults, rules.py the rules of every type,
rule_types.py what the alive L2 agents enforce, bindings.py the networks'
and ports' policies (a ResourceExtender of the core plugin: their API
attribute and the agents' ``qos_policy`` in port details), notify.py the
casts after commit.  The rule methods are named as Neutron's
(create_policy_bandwidth_limit_rule, with the policy's id): the API serves
rules as sub-resources of a policy (naas.api.base).
"""
import functools

from naas.common import exceptions
from naas.db import rbac
from naas.lib.definitions import qos as qos_def
from naas.lib.definitions import qos_rule_type as rule_type_def
from naas.plugins import core as core_plugin
from naas.plugins.qos import bindings
from naas.plugins.qos import notify
from naas.plugins.qos import policies
from naas.plugins.qos import rule_types
from naas.plugins.qos import rules


class QoSPlugin(core_plugin.ServicePlugin):
    resources = (qos_def, rule_type_def) + tuple(rule_type_def.RULE_DEFINITIONS.values())
    extensions = ('qos', 'qos-default', 'qos-bw-limit-direction', 'qos-pps',
                  'qos-rule-type-details')

    def __init__(self):
        self.core = None
        self.notifier = notify.Notifier()
        for rule_type, definition in rule_type_def.RULE_DEFINITIONS.items():
            self._add_rule_methods(rule_type, definition.RESOURCE_NAME,
                                   definition.COLLECTION_NAME)

    def attach(self, core_plugin):
        super().attach(core_plugin)
        core_plugin.add_extender(bindings.QoSExtender())
        self.rbac_type = rbac.ObjectType(
            'qos_policy', (rbac.ACCESS_SHARED,),
            owner=lambda context, id: policies.get_row(context, id).project_id,
            in_use=bindings.rbac_in_use,
            changed=lambda context, id: policies.sync_shared(context.connection, id))
        core_plugin.rbac.register(self.rbac_type)

    # ---- policies --------------------------------------------------------------

    def create_policy(self, context, policy):
        policy_id = policies.insert(context.connection, policy)
        self._set_shared(context, policy_id, policy['project_id'], policy['shared'])
        return self.get_policy(context, policy_id)

    def get_policy(self, context, id):
        return policies.to_dicts(context.connection, [policies.get_row(context, id)],
                                 context.project_id)[0]

    def get_policies(self, context, filters=None, sorts=(), limit=None,
                     marker=None, page_reverse=False):
        rows = policies.select(context, filters, sorts, limit, marker, page_reverse)
        return policies.to_dicts(context.connection, rows, context.project_id)

    def update_policy(self, context, id, policy, expected_revision=None):
        conn = context.connection
        row = policies.get_row(context, id, lock=True)
        if 'is_default' in policy:
            policies.set_default(conn, id, row.project_id, policy['is_default'])
        if 'shared' in policy:
            self._set_shared(context, id, row.project_id, policy['shared'])
        cols = {k: policy[k] for k in ('name', 'description', 'shared') if k in policy}
        policies.update(conn, id, cols, expected_revision)
        return self.get_policy(context, id)

    def _set_shared(self, context, id, owner, shared):
        """``shared`` is the policy's '*' access_as_shared RBAC entry."""
        reason = rbac.set_wildcard(context, self.rbac_type, id, owner, rbac.ACCESS_SHARED, shared)
        if reason:
            raise exceptions.RbacPolicyInUse(object_id=id, details=reason)

    def delete_policy(self, context, id):
        conn = context.connection
        policies.get_row(context, id, lock=True)
        user = bindings.user_of(conn, id)
        if user is not None:
            raise exceptions.QosPolicyInUse(policy_id=id, object_type=user[0],
                                            object_id=user[1])
        policies.delete(conn, id)

    # ---- rules (one set of methods per rule type, see _add_rule_methods) ------

    def _create_rule(self, rule_type, context, rule, policy_id):
        conn = context.connection
        policies.get_row(context, policy_id, lock=True)
        rule_types.check(conn, rule_type)
        rule_id = rules.insert(conn, rule_type, policy_id, rule)
        self._policy_changed(context, policy_id)
        return rules.get(conn, rule_type, policy_id, rule_id)

    def _get_rule(self, rule_type, context, id, policy_id):
        policies.get_row(context, policy_id)
        return rules.get(context.connection, rule_type, policy_id, id)

    def _get_rules(self, rule_type, context, policy_id, filters=None, sorts=(), limit=None,
                   marker=None, page_reverse=False):
        policies.get_row(context, policy_id)
        return rules.select(context, rule_type, policy_id, filters, sorts, limit, marker,
                            page_reverse)

    def _update_rule(self, rule_type, context, id, rule, policy_id, expected_revision=None):
        """(A rule has no revision of its own: If-Match names the policy's.)"""
        conn = context.connection
        policies.get_row(context, policy_id, lock=True)
        rules.update(conn, rule_type, policy_id, id, rule)
        self._policy_changed(context, policy_id, expected_revision)
        return rules.get(conn, rule_type, policy_id, id)

    def _delete_rule(self, rule_type, context, id, policy_id):
        policies.get_row(context, policy_id, lock=True)
        rules.delete(context.connection, rule_type, policy_id, id)
        self._policy_changed(context, policy_id)

    def _add_rule_methods(self, rule_type, resource, collection):
        """create_/get_/update_/delete_policy_<resource> and
        get_policy_<collection>, as the API controller calls them."""
        for op, method in (('create', self._create_rule), ('get', self._get_rule),
                           ('update', self._update_rule), ('delete', self._delete_rule)):
            setattr(self, '%s_policy_%s' % (op, resource), functools.partial(method, rule_type))
        setattr(self, 'get_policy_%s' % collection, functools.partial(self._get_rules, rule_type))

    def _policy_changed(self, context, policy_id, expected_revision=None):
        """A rule changed: the policy's revision moves on, its ports' hosts
        re-read them."""
        policies.update(context.connection, policy_id, {}, expected_revision)
        self.notifier.policies_changed(context, [policy_id])

    # ---- rule types ------------------------------------------------------------

    def get_rule_type(self, context, id):
        return rule_types.get(context.connection, id)

    def get_rule_types(self, context, filters=None, sorts=(), limit=None,
                       marker=None, page_reverse=False):
        return rule_types.select(context.connection, filters)
