"""The rule types the dataplane enforces: those some alive L2 agent reports
in configurations.qos_rule_types (naas.agent.agent.Agent.report_state, from
its driver's naas.agent.l2.hooks.QoS).  /v2.0/qos/rule-types lists them;
a rule of another type is refused (QosRuleTypeNotSupported, 409) rather
than stored and never applied.  With no alive L2 agent nothing enforces
any rule, so every type is refused.
"""
from naas.common import exceptions
from naas.db import agents
from naas.db import common
from naas.lib import constants
from naas.lib.definitions import qos_rule_type

L2_AGENT_TYPES = (constants.AGENT_TYPE_LINUXBRIDGE, constants.AGENT_TYPE_OVS)


def _parameter(name, spec):
    """A rule parameter as Neutron's rule type details describe it."""
    validator, arg = spec['validate']
    if isinstance(arg, tuple) and len(arg) == 2 and all(isinstance(v, int) for v in arg):
        return {'parameter_name': name, 'parameter_type': 'range',
                'parameter_values': {'start': arg[0], 'end': arg[1]}}
    return {'parameter_name': name, 'parameter_type': 'choices',
            'parameter_values': list(arg)}


def supported(conn):
    """{rule type: sorted agent types enforcing it} over the alive L2 agents."""
    out = {}
    for row in agents.of_types(conn, L2_AGENT_TYPES):
        if not agents.is_alive(row):
            continue
        configurations = common.loads(row.configurations, {})
        for rule_type in configurations.get('qos_rule_types') or ():
            if rule_type in qos_rule_type.RULE_DEFINITIONS:
                out.setdefault(rule_type, set()).add(row.agent_type)
    return {rule_type: sorted(types) for rule_type, types in out.items()}


def check(conn, rule_type):
    if rule_type not in supported(conn):
        raise exceptions.QosRuleTypeNotSupported(rule_type=rule_type)


def to_dict(rule_type, agent_types):
    definition = qos_rule_type.RULE_DEFINITIONS[rule_type]
    parameters = [_parameter(name, spec)
                  for name, spec in sorted(definition.RESOURCE_ATTRIBUTE_MAP.items())
                  if name != 'id']
    return {'id': rule_type, 'type': rule_type,
            'drivers': [{'name': agent_type, 'supported_parameters': parameters}
                        for agent_type in agent_types]}


def get(conn, rule_type):
    agent_types = supported(conn).get(rule_type)
    if agent_types is None:
        raise exceptions.QosRuleTypeNotFound(rule_type=rule_type)
    return to_dict(rule_type, agent_types)


def select(conn, filters):
    """The supported types, as Neutron lists them (type only)."""
    wanted = set((filters or {}).get('type') or qos_rule_type.RULE_DEFINITIONS)
    return [{'id': rule_type, 'type': rule_type}
            for rule_type in sorted(supported(conn)) if rule_type in wanted]
