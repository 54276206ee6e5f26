"""Request bodies checked and completed by an attribute map
(naas.lib.definitions): what the API does to a create or update body, and
what a plugin does to the body of a resource it creates for itself (a
router's port, a DHCP port), so that both go through the same checks.
"""
from naas.common import exceptions
from naas.lib.definitions import base


def _bad(resource, msg):
    return exceptions.BadRequest(resource=resource, msg=msg)


def convert(name, spec, value):
    """``value`` through the attribute's converter (InvalidInput if it fails)."""
    if 'convert_to' in spec:
        try:
            value = spec['convert_to'](value)
        except exceptions.InvalidInput:
            raise
        except (ValueError, TypeError, AttributeError) as e:
            raise exceptions.InvalidInput(
                error_message="Invalid input for %s. Reason: %s." % (name, e))
    return value


def _check_value(name, spec, value):
    value = convert(name, spec, value)
    validate = spec.get('validate')
    if validate is not None:
        validator, arg = validate
        msg = validator(value, arg)
        if msg:
            raise exceptions.InvalidInput(
                error_message="Invalid input for %s. Reason: %s." % (name, msg))
    return value


def prepare_create(resource, attr_map, body):
    """Validate a create body; fill defaults; ATTR_NOT_SPECIFIED where none."""
    if not isinstance(body, dict):
        raise _bad(resource, 'Resource body required')
    out = _check_body(resource, attr_map, body, 'allow_post',
                      "Attribute '%s' not allowed in POST")
    for name, spec in attr_map.items():
        if name in out or not spec.get('allow_post'):
            continue
        if 'default' not in spec:
            if name in ('project_id', 'tenant_id'):
                continue
            raise _bad(resource, "Failed to parse request. Required attribute "
                                 "'%s' not specified" % name)
        default = spec['default']
        out[name] = default if default is base.ATTR_NOT_SPECIFIED else _copy(default)
    return out


def prepare_update(resource, attr_map, body):
    """Validate an update body: only attributes that allow_put."""
    if not isinstance(body, dict) or not body:
        raise _bad(resource, 'Resource body required')
    return _check_body(resource, attr_map, body, 'allow_put',
                       "Cannot update read-only attribute %s")


def _check_body(resource, attr_map, body, allowed, refusal):
    """Each attribute of ``body`` known, ``allowed`` ('allow_post' or
    'allow_put'; else ``refusal`` % name), converted and validated."""
    out = {}
    for name, value in body.items():
        spec = attr_map.get(name)
        if spec is None:
            raise _bad(resource, "Unrecognized attribute(s) '%s'" % name)
        if not spec.get(allowed):
            raise _bad(resource, refusal % name)
        out[name] = _check_value(name, spec, value)
    return out


def _copy(value):
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
