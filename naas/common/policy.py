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
import time

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy

from naas.common import exceptions
from naas.common import policies
from naas.common.policy_checks import FieldCheck

_ENFORCER = None
_LOCK = threading.Lock()


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
    _State.rules, _State.keys, _State.results, _State.last_load = None, {}, {}, 0.0
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def check_is_admin(context):
    creds = _creds(context, admin=False)
    return _decide(_fresh_enforcer(), 'context_is_admin', {}, creds, _freeze(creds))


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


class _State:
    """Process-wide: rule key sets and decisions, dropped when rules change."""
    rules = None
    keys = {}
    results = {}
    last_load = 0.0


RELOAD_INTERVAL = 5.0  # seconds between looks at policy.yaml for changes
MAX_CACHED = 100000


def _fresh_enforcer():
    enforcer = get_enforcer()
    now = time.monotonic()
    if now - _State.last_load > RELOAD_INTERVAL:
        enforcer.load_rules()
        _State.last_load = now
    if enforcer.rules is not _State.rules:
        _State.rules, _State.keys, _State.results = enforcer.rules, {}, {}
    return enforcer


def _freeze(creds):
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                        for k, v in creds.items()))


def _rule_keys(enforcer, action):
    """The sorted target keys a rule reads; None if that is unknowable."""
    try:
        return _State.keys[action]
    except KeyError:
        rule = enforcer.rules.get(action)
        keys = None if rule is None else _target_keys(rule, enforcer.rules, set())
        keys = None if keys is None else tuple(sorted(keys))
        _State.keys[action] = keys
        return keys


def _decide(enforcer, action, target, creds, creds_key):
    """enforcer.enforce, remembered by (action, identity, what the rule reads).

    The same question with the same answer comes back on every request (is
    this member of project P allowed get_port on a port of project P?); the
    rule tree is evaluated once per process instead, until the rules change.
    """
    keys = _rule_keys(enforcer, action)
    if keys is None:
        return enforcer.enforce(action, target, creds)
    values = tuple([target.get(k) for k in keys])
    key = (action, creds_key, values)
    try:
        return _State.results[key]
    except KeyError:
        pass
    except TypeError:  # a list or dict value: key on its repr
        key = (action, creds_key, repr(values))
        if key in _State.results:
            return _State.results[key]
    result = enforcer.enforce(action, target, creds)
    if len(_State.results) > MAX_CACHED:
        _State.results = {}
    _State.results[key] = result
    return result


class Checker:
    """The policy checks of one request (see _decide for the caching)."""

    def __init__(self, context):
        self.context = context
        self.enforcer = _fresh_enforcer()
        self.creds = _creds(context)
        self.creds_key = _freeze(self.creds)

    def reads_target(self, action):
        """False when the rule's outcome cannot depend on the target."""
        return _rule_keys(self.enforcer, action) != ()

    def has_rule(self, action):
        return action in self.enforcer.rules

    def check(self, action, target):
        return _decide(self.enforcer, action, target, self.creds, self.creds_key)

    def enforce(self, action, target):
        if not self.check(action, target):
            raise exceptions.PolicyNotAuthorized(action=action)
