"""API extension ``qos-default``: a project's default QoS policy
(``is_default`` on qos/policies, see qos.py; at most one per project)."""

ALIAS = 'qos-default'
NAME = 'QoS default policy'
DESCRIPTION = 'Expose the QoS default policy per project'
