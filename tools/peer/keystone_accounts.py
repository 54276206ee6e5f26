"""Create, if missing, the accounts that keystone-up.sh promises.

    python keystone_accounts.py KEYSTONE_URL [NETWORK_URL]

KEYSTONE_URL is the Identity v3 root (http://127.0.0.1:PORT/v3).  Logs in as
admin / secret (made by ``keystone-manage bootstrap``) and makes sure that
project ``service`` exists and that user ``netsvc`` (password ``svcpw``) has
the admin role in it: the service user keystonemiddleware logs in with.
With NETWORK_URL, the ``network`` service's endpoints in RegionOne are
replaced by public, internal and admin endpoints at that URL.

Only the Python standard library: it runs with Keystone's virtualenv.
"""
import json
import sys
import urllib.error
import urllib.request

DOMAIN = 'default'
ADMIN = ('admin', 'secret', 'admin')          # user, password, project
SERVICE = ('netsvc', 'svcpw', 'service')
REGION = 'RegionOne'


class Identity(object):
    """A few Identity v3 calls with an admin token."""

    def __init__(self, url):
        self.url = url.rstrip('/')
        user, password, project = ADMIN
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': user, 'password': password,
                'domain': {'id': DOMAIN}}}},
            'scope': {'project': {'name': project,
                                  'domain': {'id': DOMAIN}}}}}
        self.token = None
        self.token = self.call('POST', '/auth/tokens', body,
                               header='X-Subject-Token')

    def call(self, method, path, body=None, header=None):
        """The parsed JSON answer, or the named response header."""
        request = urllib.request.Request(
            self.url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={'Content-Type': 'application/json',
                     'Accept': 'application/json'})
        if self.token:
            request.add_header('X-Auth-Token', self.token)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                if header:
                    return response.headers[header]
                raw = response.read()
        except urllib.error.HTTPError as e:
            raise SystemExit('%s %s: %s %s' % (method, path, e.code,
                                               e.read()[:500]))
        return json.loads(raw) if raw else None

    def find(self, collection, **filters):
        """The first object of COLLECTION matching FILTERS, or None."""
        query = '&'.join('%s=%s' % item for item in filters.items())
        found = self.call('GET', '/%s?%s' % (collection, query))[collection]
        return found[0] if found else None

    def ensure(self, collection, member, attrs, **filters):
        """The object matching FILTERS, created from ATTRS if missing."""
        return (self.find(collection, **filters) or
                self.call('POST', '/' + collection, {member: attrs})[member])


def main(keystone_url, network_url=''):
    identity = Identity(keystone_url)
    user_name, password, project_name = SERVICE
    project = identity.ensure('projects', 'project',
                              {'name': project_name, 'domain_id': DOMAIN},
                              name=project_name, domain_id=DOMAIN)
    user = identity.ensure('users', 'user',
                           {'name': user_name, 'password': password,
                            'domain_id': DOMAIN},
                           name=user_name, domain_id=DOMAIN)
    admin_role = identity.find('roles', name='admin')
    identity.call('PUT', '/projects/%s/users/%s/roles/%s'
                  % (project['id'], user['id'], admin_role['id']))
    print('service user %s has admin in project %s'
          % (user_name, project_name))
    if network_url:
        service = identity.ensure('services', 'service',
                                  {'type': 'network', 'name': 'naas'},
                                  type='network')
        endpoints = identity.call(
            'GET', '/endpoints?service_id=%s' % service['id'])['endpoints']
        for endpoint in endpoints:
            if endpoint['region_id'] == REGION:
                identity.call('DELETE', '/endpoints/%s' % endpoint['id'])
        for interface in ('public', 'internal', 'admin'):
            identity.call('POST', '/endpoints', {'endpoint': {
                'service_id': service['id'], 'interface': interface,
                'region_id': REGION, 'url': network_url}})
        print('network endpoints: %s' % network_url)


if __name__ == '__main__':
    if not 2 <= len(sys.argv) <= 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
