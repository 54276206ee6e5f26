"""API extension ``stateful-security-group`` (descriptor only): the
``stateful`` attribute of security groups (naas.lib.definitions
.securitygroup).  A stateless group's rules match each packet alone: its
replies need rules of their own."""

ALIAS = 'stateful-security-group'
NAME = 'Stateful security group'
DESCRIPTION = 'Indicates if the security group is stateful or not'
