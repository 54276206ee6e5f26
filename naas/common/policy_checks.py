"""Policy check kinds of NaaS's rules, registered with oslo.policy.

oslo.policy parses a rule when its RuleDefault is built, so a check kind
must be registered before naas.common.policies builds its rules: a rule
naming an unregistered kind silently becomes a GenericCheck that never
matches.  policies.py imports this module first.
"""
import re

from oslo_policy import policy


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
