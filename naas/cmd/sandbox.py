"""naas-sandbox: boot a "VM" (a network namespace) on a port, without nova.

How an operator checks a deployment end to end without a compute service::

    naas-sandbox --url http://127.0.0.1:9696 boot --network net1 --host hv1 \\
        [--config-file naas-agent.conf] [--name NAME] [--timeout 60]
    naas-sandbox --url http://127.0.0.1:9696 delete --instance ID \\
        [--config-file naas-agent.conf]
    naas-sandbox --url http://127.0.0.1:9696 list

``boot`` does what nova-compute would: creates a port on the network bound
to HOST (binding:host_id; device_owner compute:sandbox; device_id a new
instance UUID), a namespace ``naas-vm-<instance[:8]>`` (``--namespace-prefix``
changes ``naas-vm-``), plugs its eth0 with
naas.compute.vif (the host end goes into ``--host-namespace`` when the host
is itself a namespace, else into this machine's own namespace), sets the
port's first fixed IPv4 address (and a default route via the subnet's
gateway) statically, waits for the port to become ACTIVE and prints
``{"instance_id", "port_id", "namespace", "ip", "mac", "host"}`` as JSON.
On any failure it undoes what it did.  ``delete`` unplugs, deletes the
namespace and the port(s) of the instance.

Run it on the host itself (or, for hosts built as namespaces, on the machine
that holds them): the VIF must appear where that host's agent looks.  The
host settings are the agent's (naas.compute.vif.host_settings): give the
host's agent configuration with ``--config-file`` ([agent] namespace, [ovs]
ovsdb_connection and integration_bridge), or the flags ``--host-namespace``,
``--ovsdb-connection`` and ``--integration-bridge``, which win over the file.
Authentication: ``--token`` (or OS_TOKEN); with noauth none is needed.
"""
import argparse
import json
import os
import sys
import urllib.parse
import uuid

from naas.compute import network_info
from naas.compute import vif
from naas.host import netns

DEVICE_OWNER = 'compute:sandbox'
NAMESPACE_PREFIX = netns.PREFIX + 'vm-'


def vm_namespace(instance_id, prefix=NAMESPACE_PREFIX):
    return prefix + instance_id[:8]


def _find_network(api, ref):
    try:
        return api.get('/networks/%s' % urllib.parse.quote(ref, safe=''))['network']
    except network_info.APIError as exc:
        if exc.status != 404:
            raise
    found = api.get('/networks?' + network_info.query(name=ref))['networks']
    if len(found) != 1:
        raise SystemExit('network %r: %s' % (ref, 'not found' if not found
                                             else 'several networks have this name'))
    return found[0]


def configure_ip(namespace, port, subnets, ifname='eth0'):
    """The port's first IPv4 fixed IP on ``ifname``, default route via its
    subnet's gateway.  Returns the address (None if the port has none)."""
    for ip in port['fixed_ips']:
        subnet = subnets.get(ip['subnet_id'])
        if subnet is None or subnet['ip_version'] != 4:
            continue
        prefixlen = subnet['cidr'].split('/')[1]
        netns.add_address(namespace, ifname, '%s/%s' % (ip['ip_address'], prefixlen))
        if subnet.get('gateway_ip'):
            netns.add_route(namespace, 'default', gateway=subnet['gateway_ip'])
        for route in subnet.get('host_routes') or []:
            if ':' not in route['destination']:
                netns.add_route(namespace, route['destination'], gateway=route['nexthop'])
        return ip['ip_address']
    return None


def boot(api, network, host, host_namespace=None, name=None, timeout=60,
         instance_id=None, namespace_prefix=NAMESPACE_PREFIX, ovsdb_connection=None,
         integration_bridge=None):
    """Boot a sandbox VM; returns the dict ``naas-sandbox boot`` prints.
    ``api`` is a naas.compute.network_info.APIClient; the host settings are
    those of naas.compute.vif.plug."""
    net = _find_network(api, network)
    instance_id = instance_id or str(uuid.uuid4())
    namespace = vm_namespace(instance_id, namespace_prefix)
    port = api.post('/ports', {'port': {
        'network_id': net['id'], 'binding:host_id': host,
        'device_owner': DEVICE_OWNER, 'device_id': instance_id,
        'name': name or 'sandbox-%s' % instance_id[:8]}})['port']
    try:
        if port.get('binding:vif_type') not in vif.PLUGGABLE_VIF_TYPES:
            raise RuntimeError('port %s on host %s: binding:vif_type %s (is an agent '
                               'alive on %s, able to realise %s networks?)' % (
                                   port['id'], host, port.get('binding:vif_type'), host,
                                   net.get('provider:network_type')))
        netns.create(namespace)
        vif.plug(port, host_namespace, namespace, mtu=net.get('mtu'),
                 ovsdb_connection=ovsdb_connection, integration_bridge=integration_bridge)
        subnet_ids = sorted({ip['subnet_id'] for ip in port['fixed_ips']})
        subnets = {}
        if subnet_ids:
            subnets = {s['id']: s for s in api.get(
                '/subnets?' + network_info.query(id=subnet_ids))['subnets']}
        address = configure_ip(namespace, port, subnets)
        network_info.wait_for_vif_plugged(api, [port['id']], timeout=timeout)
    except BaseException:
        _teardown(api, [port], namespace, host_namespace, ovsdb_connection)
        raise
    return {'instance_id': instance_id, 'port_id': port['id'], 'namespace': namespace,
            'ip': address, 'mac': port['mac_address'], 'host': host,
            'network_id': net['id']}


def _teardown(api, ports, namespace, host_namespace, ovsdb_connection=None):
    errors = []
    for port in ports:
        try:
            vif.unplug(port, host_namespace, namespace, ovsdb_connection=ovsdb_connection)
        except Exception as exc:
            errors.append('unplug %s: %s' % (port['id'], exc))
    try:
        netns.delete(namespace)
    except Exception as exc:
        errors.append('namespace %s: %s' % (namespace, exc))
    for port in ports:
        try:
            api.delete('/ports/%s' % port['id'])
        except network_info.APIError as exc:
            if exc.status != 404:
                errors.append('port %s: %s' % (port['id'], exc))
    return errors


def delete(api, instance_id=None, port_id=None, host_namespace=None,
           namespace_prefix=NAMESPACE_PREFIX, ovsdb_connection=None):
    """Unplug and delete a sandbox VM (by instance, or by one of its ports)."""
    if port_id and not instance_id:
        instance_id = api.get('/ports/%s' % port_id)['port']['device_id']
    if not instance_id:
        raise ValueError('an instance id or a port id is needed')
    ports = api.get('/ports?' + network_info.query(device_id=instance_id))['ports']
    namespace = vm_namespace(instance_id, namespace_prefix)
    errors = _teardown(api, ports, namespace, host_namespace, ovsdb_connection)
    if errors:
        raise RuntimeError('; '.join(errors))
    return {'instance_id': instance_id, 'ports': [p['id'] for p in ports],
            'namespace': namespace}


def list_sandboxes(api, namespace_prefix=NAMESPACE_PREFIX):
    ports = api.get('/ports?' + network_info.query(device_owner=DEVICE_OWNER))['ports']
    return [{'instance_id': p['device_id'], 'port_id': p['id'],
             'namespace': vm_namespace(p['device_id'], namespace_prefix),
             'host': p.get('binding:host_id'), 'status': p['status'],
             'ip': [ip['ip_address'] for ip in p['fixed_ips']],
             'plugged': netns.exists(vm_namespace(p['device_id'], namespace_prefix))}
            for p in ports]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='naas-sandbox', description=__doc__.split('\n')[0])
    parser.add_argument('--url', default=os.environ.get('NAAS_URL', 'http://127.0.0.1:9696'),
                        help='NaaS API base URL (default $NAAS_URL or %(default)s)')
    parser.add_argument('--token', default=os.environ.get('OS_TOKEN'),
                        help='Keystone token (default $OS_TOKEN; noauth needs none)')
    parser.add_argument('--namespace-prefix', default=NAMESPACE_PREFIX,
                        help='VM namespaces are <prefix><instance[:8]> (default '
                             '%(default)s; a test run uses its own prefix)')
    host = argparse.ArgumentParser(add_help=False)
    host.add_argument('--config-file', action='append', default=[],
                      help='the host\'s agent configuration (repeatable): its [agent] '
                           'namespace and [ovs] ovsdb_connection, integration_bridge')
    host.add_argument('--host-namespace', help='the host\'s namespace, for hosts built as '
                                               'namespaces (default [agent] namespace)')
    host.add_argument('--ovsdb-connection',
                      help='the host\'s OVSDB (default [ovs] ovsdb_connection)')
    host.add_argument('--integration-bridge',
                      help='the OVS bridge of VIFs when the port names none '
                           '(default [ovs] integration_bridge)')
    sub = parser.add_subparsers(dest='command', required=True)
    b = sub.add_parser('boot', parents=[host],
                       help='create a port on HOST and a VM namespace plugged into it')
    b.add_argument('--network', required=True, help='network id or name')
    b.add_argument('--host', required=True, help='binding:host_id (the agent\'s host name)')
    b.add_argument('--name', help='port name (default sandbox-<instance[:8]>)')
    b.add_argument('--timeout', type=float, default=60,
                   help='seconds to wait for the port to become ACTIVE')
    d = sub.add_parser('delete', parents=[host],
                       help='unplug and delete a sandbox VM and its port(s)')
    who = d.add_mutually_exclusive_group(required=True)
    who.add_argument('--instance', help='instance id (as printed by boot)')
    who.add_argument('--port', help='one of its port ids')
    sub.add_parser('list', help='sandbox ports and their namespaces')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    api = network_info.APIClient(args.url, token=args.token)
    try:
        if args.command != 'list':
            settings = vif.host_settings(args.config_file, host_namespace=args.host_namespace,
                                         ovsdb_connection=args.ovsdb_connection,
                                         integration_bridge=args.integration_bridge)
        if args.command == 'boot':
            out = boot(api, args.network, args.host, settings['host_namespace'], args.name,
                       args.timeout, namespace_prefix=args.namespace_prefix,
                       ovsdb_connection=settings['ovsdb_connection'],
                       integration_bridge=settings['integration_bridge'])
        elif args.command == 'delete':
            out = delete(api, args.instance, args.port, settings['host_namespace'],
                         namespace_prefix=args.namespace_prefix,
                         ovsdb_connection=settings['ovsdb_connection'])
        else:
            out = list_sandboxes(api, args.namespace_prefix)
    except (network_info.APIError, RuntimeError, TimeoutError, LookupError) as exc:
        print('naas-sandbox: %s' % exc, file=sys.stderr)
        return 1
    print(json.dumps(out, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
