"""oslo.policy enforcement, with the checks NaaS's rules use.

``field:RESOURCE:ATTR=VALUE`` (or ``=~REGEX``) compares an attribute of the
target, as Neutron's field check does.

A list request checks ``get_<resource>`` for every item.  Evaluating the
rule tree thousands of times is the slow part of a big list, so
``Checker`` evaluates each rule once per distinct value of the target keys
the rule can read (found by walking the rule tree); for 10,000 ports of one
project that is one evaluation.  A rule with a check whose inputs cannot be
known (an unknown check kind) is evaluated per item, as before.
"""
import re
import threading

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy

from naas.common import exceptions
from naas.common import policies

_ENFORCER = None
_LOCK = threading.Lock()


@policy.register('field')
class FieldCheck(policy.Check):
    """``field:networks:shared=True``: the target's attribute has a value."""

    def __init__(self, kind, match):
        resource, field_value = match.split(':', 1)
        field, value = field_value.split('=', 1)
        super().__init__(kind, '%s:%s:%s' % (resource, field, value))
        self.field = field
        if value.startswith('~'):
            self.regex = re.compile(value[1:])
            self.value = None
        else:
            self.regex = None
            self.value = value

    def __call__(self, target, creds, enforcer, current_rule=None):
        if self.field not in target:
            return False
        actual = target[self.field]
        if self.regex is not None:
            return bool(self.regex.match(str(actual or '')))
        if isinstance(actual, bool):
            return str(actual) == self.value
        return str(actual) == self.value


def get_enforcer():
    """The process-wide Enforcer (also the oslo.policy.enforcer entry point)."""
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            _ENFORCER = policy.Enforcer(cfg.CONF)
            _ENFORCER.register_defaults(policies.list_rules())
            _ENFORCER.load_rules()
    return _ENFORCER


def reset():
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def check_is_admin(context):
    enforcer = get_enforcer()
    return enforcer.enforce('context_is_admin', {},
                            _creds(context, admin=False))


def _creds(context, admin=None):
    creds = context.to_policy_values()
    if admin is not None:
        creds['is_admin'] = admin
    return creds


_KEY_RE = re.compile(r'%\((.+?)\)s')


def _target_keys(check, rules, seen):
    """The target keys ``check`` reads, or None if that cannot be known."""
    if isinstance(check, (_checks.AndCheck, _checks.OrCheck)):
        keys = set()
        for sub in check.rules:
            sub_keys = _target_keys(sub, rules, seen)
            if sub_keys is None:
                return None
            keys |= sub_keys
        return keys
    if isinstance(check, _checks.NotCheck):
        return _target_keys(check.rule, rules, seen)
    if isinstance(check, _checks.RuleCheck):
        if check.match in seen:
            return set()
        seen.add(check.match)
        sub = rules.get(check.match)
        return set() if sub is None else _target_keys(sub, rules, seen)
    if isinstance(check, (_checks.TrueCheck, _checks.FalseCheck,
                          _checks.RoleCheck)):
        return set()
    if isinstance(check, FieldCheck):
        return {check.field}
    if type(check) is _checks.GenericCheck:
        return set(_KEY_RE.findall(check.match))
    return None


class Checker:
    """Policy checks for one request, memoised on what each rule reads."""

    def __init__(self, context):
        self.context = context
        self.enforcer = get_enforcer()
        self.creds = _creds(context)
        self._keys = {}
        self._memo = {}

    def _rule_keys(self, action):
        if action not in self._keys:
            rule = self.enforcer.rules.get(action)
            self._keys[action] = (None if rule is None else
                                  _target_keys(rule, self.enforcer.rules, set()))
        return self._keys[action]

    def has_rule(self, action):
        return action in self.enforcer.rules

    def check(self, action, target):
        keys = self._rule_keys(action)
        if keys is None:
            return self.enforcer.enforce(action, target, self.creds)
        memo_key = (action,) + tuple(
            (k, _hashable(target.get(k))) for k in sorted(keys))
        result = self._memo.get(memo_key)
        if result is None:
            result = self.enforcer.enforce(action, target, self.creds)
            self._memo[memo_key] = result
        return result

    def enforce(self, action, target):
        if not self.check(action, target):
            raise exceptions.PolicyNotAuthorized(action=action)


def _hashable(value):
    if isinstance(value, (list, dict)):
        return repr(value)
    return value
