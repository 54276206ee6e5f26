"""Network info of an instance, over the REST API, in nova's shape.

``get_network_info(api, instance_id)`` returns what nova keeps as an
instance's network_info (nova.network.model): one VIF per port whose
device_id is the instance::

    {'id': <port id>, 'address': <mac>, 'type': <binding:vif_type>,
     'details': <binding:vif_details>, 'devname': 'tap' + id[:11],
     'ovs_interfaceid': <port id> (ovs) or None, 'vnic_type', 'profile',
     'active': status == 'ACTIVE', 'preserve_on_delete': False, 'meta': {},
     'network': {'id', 'bridge': brq<net[:11]> (bridge) / br-int (ovs),
                 'label': <network name>,
                 'meta': {'mtu', 'tenant_id', 'injected': False,
                          'physical_network', 'tunneled'},
                 'subnets': [{'cidr', 'version', 'meta': {'dhcp_server'?},
                              'gateway': {'address', 'type': 'gateway',
                                          'version'} or None,
                              'dns': [{'address', 'type': 'dns', 'version'}],
                              'routes': [{'cidr', 'gateway': {...}}],
                              'ips': [{'address', 'type': 'fixed', 'version',
                                       'floating_ips': []}]}]}}

``api`` is the API's base URL (e.g. ``http://127.0.0.1:9696``; the token,
if any, as ``token=``), an :class:`APIClient`, or a keystoneauth1 Adapter
such as ``openstack.connect(...).network`` (anything with ``get(path)``
returning a response with ``json()``).  Four GETs whatever the number of
ports: ports, then their networks and subnets in one request each (plus
floating IPs when the API has them).

The same data is also served over RPC to compute hosts
(naas.rpc.server_api.ServerAPI.get_instance_network_info); this module is
for compute hosts that speak REST only, as nova does.
"""
import http.client
import json
import time
import urllib.parse

ACTIVE = 'ACTIVE'


class APIError(Exception):
    def __init__(self, status, body, method=None, path=None):
        self.status = status
        self.body = body
        super().__init__('%s %s: %s %s' % (method, path, status, body))


class APIClient:
    """A minimal JSON client of the NaaS API (http.client, keep-alive).

    ``token``: sent as X-Auth-Token (Keystone); with noauth, no token makes
    the caller an administrator.  Not thread-safe: one per thread.
    """

    def __init__(self, url, token=None, timeout=30, headers=None):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ('http', 'https'):
            raise ValueError('not an http(s) URL: %s' % url)
        self.scheme, self.netloc = parsed.scheme, parsed.netloc
        self.prefix = parsed.path.rstrip('/')
        if not self.prefix.endswith('/v2.0'):
            self.prefix += '/v2.0'
        self.timeout = timeout
        self.headers = {'Accept': 'application/json'}
        if token:
            self.headers['X-Auth-Token'] = token
        self.headers.update(headers or {})
        self._conn = None

    def _connection(self):
        if self._conn is None:
            cls = (http.client.HTTPSConnection if self.scheme == 'https'
                   else http.client.HTTPConnection)
            self._conn = cls(self.netloc, timeout=self.timeout)
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None):
        """Parsed JSON of ``method`` on ``path`` (under /v2.0); APIError on
        a status >= 400."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self.prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                # A keep-alive connection the server closed: once more, anew.
                self.close()
                if attempt == 2:
                    raise
        if resp.status >= 400:
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = raw.decode(errors='replace')
            raise APIError(resp.status, detail, method, path)
        return json.loads(raw) if raw else None

    def get(self, path):
        return self.request('GET', path)

    def post(self, path, body):
        return self.request('POST', path, body)

    def put(self, path, body):
        return self.request('PUT', path, body)

    def delete(self, path):
        return self.request('DELETE', path)


def client(api, token=None):
    """An object with ``get(path) -> parsed JSON`` for any ``api`` form."""
    if isinstance(api, str):
        return APIClient(api, token=token)
    if isinstance(api, APIClient):
        return api
    return _AdapterClient(api)


class _AdapterClient:
    """keystoneauth1 Adapter / openstacksdk proxy: ``get`` returns a
    response; paths are relative to the network endpoint (with /v2.0)."""

    def __init__(self, adapter):
        self.adapter = adapter

    def get(self, path):
        resp = self.adapter.get(path)
        if getattr(resp, 'status_code', 200) >= 400:
            raise APIError(resp.status_code, resp.text, 'GET', path)
        return resp.json()


def query(**params):
    """A query string; list values repeat the key (id=a&id=b)."""
    pairs = []
    for key, value in params.items():
        for v in (value if isinstance(value, (list, tuple, set)) else [value]):
            pairs.append((key, v))
    return urllib.parse.urlencode(pairs)


def _ip(address, kind, version=None, **extra):
    if not address:
        return None
    version = version or (6 if ':' in address else 4)
    return dict({'address': address, 'type': kind, 'version': version, 'meta': {}},
                **extra)


def build_vif(port, network, subnets, floating_ips=()):
    """One VIF of network_info from API dicts (port, its network, the
    subnets of its fixed IPs by id, its floating IPs)."""
    vif_type = port.get('binding:vif_type')
    fips = {}
    for fip in floating_ips:
        fips.setdefault(fip.get('fixed_ip_address'), []).append(
            _ip(fip['floating_ip_address'], 'floating'))
    vif_subnets = []
    for sid in dict.fromkeys(ip['subnet_id'] for ip in port.get('fixed_ips', [])):
        s = subnets.get(sid)
        if s is None:
            continue
        version = s['ip_version']
        vif_subnets.append({
            'cidr': s['cidr'], 'version': version,
            'gateway': _ip(s.get('gateway_ip'), 'gateway', version),
            'dns': [_ip(d, 'dns', version) for d in s.get('dns_nameservers') or []],
            'routes': [{'cidr': r['destination'], 'meta': {},
                        'gateway': _ip(r['nexthop'], 'gateway', version)}
                       for r in s.get('host_routes') or []],
            'ips': [_ip(ip['ip_address'], 'fixed', version,
                        floating_ips=fips.get(ip['ip_address'], []))
                    for ip in port['fixed_ips'] if ip['subnet_id'] == sid],
            'meta': {'enable_dhcp': s.get('enable_dhcp'),
                     'ipv6_address_mode': s.get('ipv6_address_mode'),
                     'ipv6_ra_mode': s.get('ipv6_ra_mode')},
        })
    network = network or {'id': port['network_id']}
    ntype = network.get('provider:network_type')
    if vif_type == 'ovs':
        bridge = (port.get('binding:vif_details') or {}).get('bridge_name', 'br-int')
    elif vif_type == 'bridge':
        bridge = ('brq' + port['network_id'])[:14]
    else:
        bridge = None
    return {
        'id': port['id'], 'address': port['mac_address'], 'type': vif_type,
        'details': port.get('binding:vif_details') or {},
        'devname': ('tap' + port['id'])[:14],
        'ovs_interfaceid': port['id'] if vif_type == 'ovs' else None,
        'vnic_type': port.get('binding:vnic_type', 'normal'),
        'profile': port.get('binding:profile') or {},
        'active': port.get('status') == ACTIVE, 'preserve_on_delete': False,
        'qbh_params': None, 'qbg_params': None, 'meta': {},
        'network': {
            'id': network['id'], 'bridge': bridge, 'label': network.get('name'),
            'subnets': vif_subnets,
            'meta': {'mtu': network.get('mtu'),
                     'tenant_id': network.get('project_id', network.get('tenant_id')),
                     'injected': False,
                     'physical_network': network.get('provider:physical_network'),
                     'tunneled': ntype in ('vxlan', 'gre', 'geneve')},
        },
    }


def get_network_info(api, instance_id, token=None):
    """[VIF] of instance ``instance_id`` (see the module docstring)."""
    c = client(api, token)
    ports = c.get('/ports?' + query(device_id=instance_id))['ports']
    if not ports:
        return []
    ports.sort(key=lambda p: (p.get('created_at') or '', p['id']))
    net_ids = sorted({p['network_id'] for p in ports})
    subnet_ids = sorted({ip['subnet_id'] for p in ports for ip in p.get('fixed_ips', [])})
    networks = {n['id']: n for n in c.get('/networks?' + query(id=net_ids))['networks']}
    subnets = {}
    if subnet_ids:
        subnets = {s['id']: s for s in c.get('/subnets?' + query(id=subnet_ids))['subnets']}
    fips = []
    try:
        fips = c.get('/floatingips?' + query(port_id=[p['id'] for p in ports]))['floatingips']
    except APIError as exc:
        if exc.status not in (404, 501):   # no L3 plugin: no floating IPs
            raise
    return [build_vif(p, networks.get(p['network_id']), subnets,
                      [f for f in fips if f.get('port_id') == p['id']]) for p in ports]


def wait_for_vif_plugged(api, port_ids, timeout=60, token=None, initial=0.05,
                         factor=1.5, max_interval=1.0):
    """Wait until every port of ``port_ids`` is ACTIVE (its host's agent
    wired it), as nova waits for network-vif-plugged.

    Polls ``GET /v2.0/ports?id=...&fields=id&fields=status`` (one request for
    all ports) every ``initial`` seconds, the interval growing by ``factor``
    up to ``max_interval``.  Returns {port_id: 'ACTIVE'}.  Raises
    TimeoutError (naming the ports and their last status) after ``timeout``
    seconds, LookupError if a port was deleted, and RuntimeError at once for
    a port whose binding failed (no agent on its host can wire it: it would
    never become ACTIVE).
    """
    port_ids = list(port_ids)
    c = client(api, token)
    deadline = time.monotonic() + timeout
    interval = initial
    status = {}
    while True:
        rows = c.get('/ports?' + query(id=port_ids, fields=['id', 'status',
                                                           'binding:vif_type']))['ports']
        status = {p['id']: p.get('status') for p in rows}
        missing = [p for p in port_ids if p not in status]
        if missing:
            raise LookupError('ports deleted while waiting for them: %s' % missing)
        failed = [p['id'] for p in rows if p.get('binding:vif_type') == 'binding_failed']
        if failed:
            raise RuntimeError('binding failed for ports %s: no alive agent on their '
                               'host can realise their network' % failed)
        if all(s == ACTIVE for s in status.values()):
            return status
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError('ports not ACTIVE after %ss: %s' % (
                timeout, {p: s for p, s in status.items() if s != ACTIVE}))
        time.sleep(min(interval, deadline - now))
        interval = min(interval * factor, max_interval)
