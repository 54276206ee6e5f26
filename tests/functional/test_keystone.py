"""auth_strategy = keystone against a real Keystone.

A real Keystone (from PyPI, started by ``tools/peer/keystone-up.sh``)
issues Fernet tokens; naas-server runs the ``keystone`` pipeline of
etc/naas/api-paste.ini (keystonemiddleware's auth_token, configured from
[keystone_authtoken] in naas.conf, then NaaS's KeystoneContext).  The tests
show that

* the ``openstack`` CLI with a password login (OS_AUTH_URL, OS_USERNAME...)
  finds NaaS in the Keystone catalog and creates, lists and shows a network;
* no token, a random token, an altered Fernet token, an unscoped token, an
  expired token and a revoked token are 401;
* projects are isolated as tempest.api.network expects: another project's
  network is 404 (show, update, delete) and absent from lists, an admin sees
  every project, a shared network is visible to all (and 403 to change).

Keystone: with KEYSTONE_URL set (e.g. ``http://127.0.0.1:15000/v3``, started
by bin/run-tests with keystone-up.sh) that Keystone is used, with the accounts
keystone-up.sh creates (admin/secret in project admin, netsvc/svcpw with
admin in project service).  Otherwise the class starts a private Keystone
with keystone-up.sh (KEYSTONE_ROOT in a temporary directory, on a free port)
and stops it afterwards; the Keystone virtualenv (KEYSTONE_VENV, default
/tmp/naas-keystone/venv) is installed from PyPI the first time, which takes
minutes.  The tests are skipped only if that virtualenv cannot be installed.

Every object the tests create in Keystone (projects, users, a region with
NaaS's network endpoint) has a unique name and is deleted at the end, so
several runs can share one Keystone.

Run:  .venv/bin/stestr --test-path tests/functional --top-dir ./ run test_keystone
"""
import base64
import datetime
import fcntl
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

import fixtures

from tools.harness import servers
from tests.functional import base

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PEER_DIR = os.path.join(REPO_DIR, 'tools', 'peer')
KEYSTONE_VENV = os.environ.get('KEYSTONE_VENV', '/tmp/naas-keystone/venv')
OPENSTACK_CLI = os.path.join(os.path.dirname(sys.executable), 'openstack')

# The accounts keystone-up.sh creates.
ADMIN = ('admin', 'secret', 'admin')
SERVICE = ('netsvc', 'svcpw', 'service')
DOMAIN = 'Default'

KEYSTONE_START_TIMEOUT = 300
KEYSTONE_INSTALL_TIMEOUT = 1800
CLI_TIMEOUT = 120


def http_request(url, method='GET', body=None, headers=None, timeout=60):
    """One HTTP request: (status, headers, parsed JSON body or raw text)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                      timeout=timeout)
    hdrs = {'Accept': 'application/json'}
    hdrs.update(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs['Content-Type'] = 'application/json'
    try:
        path = parts.path + ('?' + parts.query if parts.query else '')
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        resp_headers = resp.headers     # case-insensitive
    finally:
        conn.close()
    parsed = None
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode('utf-8', 'replace')
    return resp.status, resp_headers, parsed


class Keystone(object):
    """Just enough of the Identity v3 API to set up and tear down the tests."""

    def __init__(self, url):
        self.url = url.rstrip('/')
        if not self.url.endswith('/v3'):
            self.url += '/v3'
        self.root = self.url[:-len('/v3')]
        self.admin_token = self.token(*ADMIN)[0]
        self._cleanups = []

    def token(self, user, password, project=None, system=False):
        """(token, token body) of a password login; unscoped without scope."""
        auth = {'identity': {'methods': ['password'], 'password': {
            'user': {'name': user, 'domain': {'name': DOMAIN},
                     'password': password}}}}
        if project:
            auth['scope'] = {'project': {'name': project,
                                         'domain': {'name': DOMAIN}}}
        elif system:
            auth['scope'] = {'system': {'all': True}}
        return self._token({'auth': auth})

    def app_credential_token(self, cred_id, secret):
        return self._token({'auth': {'identity': {
            'methods': ['application_credential'],
            'application_credential': {'id': cred_id, 'secret': secret}}}})

    def _token(self, body):
        status, headers, data = http_request(self.url + '/auth/tokens',
                                             'POST', body)
        if status != 201:
            raise AssertionError('Keystone login failed: %s %s'
                                 % (status, data))
        return headers['X-Subject-Token'], data['token']

    def call(self, method, path, body=None, token=None, expect=(200, 201, 204)):
        status, _, data = http_request(
            self.url + path, method, body,
            {'X-Auth-Token': token or self.admin_token})
        if status not in expect:
            raise AssertionError('Keystone %s %s: %s %s'
                                 % (method, path, status, data))
        return data

    def validate(self, token):
        """Keystone's own answer for a token (200 valid, 404 not)."""
        return http_request(self.url + '/auth/tokens', 'GET', None,
                            {'X-Auth-Token': self.admin_token,
                             'X-Subject-Token': token})[0]

    # -- objects the tests create, deleted by cleanup()

    def _create(self, collection, member, attrs):
        obj = self.call('POST', '/' + collection, {member: attrs})[member]
        self._cleanups.append(('/%s/%s' % (collection, obj['id'])))
        return obj

    def create_project(self, name):
        return self._create('projects', 'project',
                            {'name': name, 'domain_id': 'default'})

    def create_user(self, name, password):
        # No default project: a login without a scope stays unscoped.
        return self._create('users', 'user', {
            'name': name, 'password': password, 'domain_id': 'default'})

    def grant(self, project, user, role_name):
        roles = self.call('GET', '/roles?name=%s' % role_name)['roles']
        self.call('PUT', '/projects/%s/users/%s/roles/%s'
                  % (project['id'], user['id'], roles[0]['id']))

    def register_network_endpoint(self, region, url):
        """NaaS as the ``network`` service, in a region of its own."""
        self._create('regions', 'region', {'id': region})
        services = self.call('GET', '/services?type=network')['services']
        if services:
            service = services[0]
        else:
            # Not removed at cleanup: test classes running at the same time
            # on one Keystone (stestr workers) share it, and deleting a
            # service deletes every class's endpoints with it.  Its
            # endpoints and regions are each class's own and are removed.
            service = self.call('POST', '/services', {'service': {
                'type': 'network', 'name': 'naas'}})['service']
        for interface in ('public', 'internal', 'admin'):
            self._create('endpoints', 'endpoint', {
                'service_id': service['id'], 'interface': interface,
                'region_id': region, 'url': url})

    def cleanup(self):
        # Newest first: endpoints before their region, users before projects.
        while self._cleanups:
            path = self._cleanups.pop()
            try:
                self.call('DELETE', path, expect=(204, 404))
            except Exception as e:  # best effort; keep deleting the rest
                print('keystone cleanup of %s failed: %s' % (path, e))


class KeystoneNaasServer(servers.NaasServer):
    """NaasServer whose readiness probe expects 401: every /v2.0 request
    without a token is refused by auth_token, which is what shows that the
    keystone pipeline is the one loaded."""

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError('naas-server exited with %s during start; '
                               'log:\n%s' % (self.process.returncode,
                                             self.log_tail()))
        banner = 'listening on %s/' % self.url
        try:
            with open(self.log_file, 'rb') as f:
                f.seek(self._log_offset)
                if banner.encode() not in f.read():
                    return False
        except OSError:
            return False
        try:
            status = http_request(self.endpoint + '/networks?limit=1',
                                  timeout=5)[0]
        except (OSError, http.client.HTTPException):
            return False
        return status == 401


def authtoken_options(keystone_root, **extra):
    """[keystone_authtoken] of naas.conf for this Keystone (see
    docs/keystone.md)."""
    opts = {
        'www_authenticate_uri': keystone_root,
        'auth_url': keystone_root,
        'auth_type': 'password',
        'username': SERVICE[0],
        'password': SERVICE[1],
        'project_name': SERVICE[2],
        'user_domain_name': DOMAIN,
        'project_domain_name': DOMAIN,
        'service_token_roles_required': True,
    }
    opts.update(extra)
    return {'keystone_authtoken': opts}


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _tail(path, lines=30):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError as e:
        return '(%s)' % e


class KeystoneTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super(KeystoneTest, cls).setUpClass()
        url = os.environ.get('KEYSTONE_URL') or cls._start_keystone()
        cls.keystone = Keystone(url)
        cls.addClassCleanup(cls.keystone.cleanup)

        cls.server = KeystoneNaasServer(
            auth_strategy='keystone', api_workers=2,
            options=authtoken_options(cls.keystone.root))
        cls.server.setUp()
        cls.addClassCleanup(cls.server.cleanUp)

        ks = cls.keystone
        cls.suffix = uuid.uuid4().hex[:8]
        cls.region = 'naas-test-' + cls.suffix
        ks.register_network_endpoint(cls.region, cls.server.url)

        cls.project_a = ks.create_project('naas-a-' + cls.suffix)
        cls.project_b = ks.create_project('naas-b-' + cls.suffix)
        cls.users = {}
        for key, project, role in (('member_a', cls.project_a, 'member'),
                                   ('member_b', cls.project_b, 'member'),
                                   ('admin_a', cls.project_a, 'admin')):
            name = 'naas-%s-%s' % (key.replace('_', '-'), cls.suffix)
            password = uuid.uuid4().hex
            user = ks.create_user(name, password)
            ks.grant(project, user, role)
            cls.users[key] = (name, password, project['name'])
        cls.tokens = {key: ks.token(*creds)[0]
                      for key, creds in cls.users.items()}
        cls.tokens['admin'] = ks.admin_token

    @classmethod
    def _start_keystone(cls):
        script = os.path.join(PEER_DIR, 'keystone-up.sh')
        if not os.path.exists(script):
            raise unittest.SkipTest('no Keystone: %s not found and '
                                    'KEYSTONE_URL not set' % script)
        root = tempfile.mkdtemp(prefix='naas-keystone-')
        port = servers.free_port()
        env = dict(os.environ, KEYSTONE_ROOT=root, KEYSTONE_VENV=KEYSTONE_VENV)
        env = {k: v for k, v in env.items() if not k.startswith('OS_')}
        cls.addClassCleanup(cls._stop_keystone, root, env)
        uwsgi = os.path.join(KEYSTONE_VENV, 'bin', 'uwsgi')
        installed = os.access(uwsgi, os.X_OK)
        lock_path = os.path.join(tempfile.gettempdir(),
                                 'naas-keystone-venv.lock')
        with open(lock_path, 'w') as lock:
            if not installed:
                # One test process installs; the others wait for it.
                fcntl.flock(lock, fcntl.LOCK_EX)
            proc = subprocess.run(
                ['bash', script, str(port)], env=env, cwd=root,
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=(KEYSTONE_START_TIMEOUT if installed
                         else KEYSTONE_INSTALL_TIMEOUT))
        logs = '\n'.join('--- %s\n%s' % (name, _tail(os.path.join(root, 'log',
                                                                   name)))
                         for name in ('pip.log', 'manage.log', 'uwsgi.log'))
        if not os.access(uwsgi, os.X_OK):
            pip_log = os.path.join(root, 'log', 'pip.log')
            raise unittest.SkipTest(
                'the Keystone virtualenv %s could not be installed from PyPI '
                '(keystone-up.sh exit %s): %s'
                % (KEYSTONE_VENV, proc.returncode,
                   _tail(pip_log, 5) if os.path.exists(pip_log)
                   else proc.stderr.strip()[-500:]))
        for line in proc.stdout.splitlines():
            if line.startswith('KEYSTONE_URL='):
                url = line.split('=', 1)[1]
                break
        else:
            raise RuntimeError('keystone-up.sh failed (exit %s):\n%s\n%s\n%s'
                               % (proc.returncode, proc.stdout, proc.stderr,
                                  logs))
        if proc.returncode != 0:
            raise RuntimeError('keystone-up.sh exit %s:\n%s\n%s'
                               % (proc.returncode, proc.stderr, logs))
        return url

    @staticmethod
    def _stop_keystone(root, env):
        pidfile = os.path.join(root, 'uwsgi.pid')
        pid = None
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        subprocess.run(['bash', os.path.join(PEER_DIR, 'keystone-down.sh')],
                       env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
        if pid is not None:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(root, ignore_errors=True)

    # -- helpers

    def api(self, method, path, token=None, body=None, server=None,
            headers=None):
        """(status, body) of one NaaS request; token is a key of
        self.tokens or a token string."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs['X-Auth-Token'] = self.tokens.get(token, token)
        status, _, data = http_request((server or self.server).endpoint + path,
                                       method, body, hdrs)
        return status, data

    def check(self, method, path, token, body=None, expect=200):
        status, data = self.api(method, path, token, body)
        if status != expect:
            who = (token if token in self.tokens
                   else 'token %s...' % token[:24])
            self.fail('%s %s as %s: expected %s, got %s: %s\n'
                      'naas-server log:\n%s'
                      % (method, path, who, expect, status, data,
                         self.server.log_tail(15)))
        return data

    def create_network(self, token, **attrs):
        attrs.setdefault('name', 'ks-%s' % uuid.uuid4().hex[:8])
        net = self.check('POST', '/networks', token, {'network': attrs},
                         expect=201)['network']
        self.addCleanup(self.api, 'DELETE', '/networks/' + net['id'], 'admin')
        return net

    def network_ids(self, token, query=''):
        return {n['id'] for n in
                self.check('GET', '/networks' + query, token)['networks']}

    def create_app_credential(self, token, user_id, expires):
        path = '/users/%s/application_credentials' % user_id
        cred = self.keystone.call('POST', path, {'application_credential': {
            'name': 'naas-exp-' + uuid.uuid4().hex[:8],
            'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S')}},
            token=token)['application_credential']
        # Deleted on its own before its user: deleting a user drops its
        # credentials with a bulk DELETE that leaves their role rows behind
        # on SQLite (no foreign key cascade), and the next credential that
        # reuses the row id fails on them with 409.
        self.addCleanup(self.keystone.call, 'DELETE',
                        '%s/%s' % (path, cred['id']), token=token,
                        expect=(204, 404))
        return cred

    def assert_401(self, token, path='/networks', server=None, headers=None):
        status, data = self.api('GET', path, token, server=server,
                                headers=headers)
        self.assertEqual(401, status, data)

    def cli(self, user, *args):
        """``openstack ARGS`` with a password login as ``user`` (a key of
        self.users, or 'admin'); parsed JSON with ``-f json``.  Network
        commands look for NaaS in the test's region of the catalog; the
        identity service is in RegionOne."""
        name, password, project = (ADMIN if user == 'admin'
                                   else self.users[user])
        env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
        env.update({
            'OS_AUTH_URL': self.keystone.url,
            'OS_IDENTITY_API_VERSION': '3',
            'OS_USERNAME': name,
            'OS_PASSWORD': password,
            'OS_PROJECT_NAME': project,
            'OS_USER_DOMAIN_NAME': DOMAIN,
            'OS_PROJECT_DOMAIN_NAME': DOMAIN,
            'OS_INTERFACE': 'public',
        })
        if args[0] == 'network':
            env['OS_REGION_NAME'] = self.region
        cwd = self.useFixture(fixtures.TempDir()).path  # no clouds.yaml
        proc = subprocess.run([OPENSTACK_CLI] + list(args), env=env, cwd=cwd,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=CLI_TIMEOUT)
        self.assertEqual(0, proc.returncode, 'openstack %s failed:\n%s%s'
                         % (' '.join(args), proc.stdout, proc.stderr))
        if '-f' in args and 'json' in args:
            return json.loads(proc.stdout)
        return proc.stdout

    # -- (a) the openstack CLI with a password login

    def test_cli_password_login_network_create_list_show(self):
        name = 'ks-cli-' + uuid.uuid4().hex[:8]
        net = self.cli('member_a', 'network', 'create', name, '-f', 'json')
        self.addCleanup(self.api, 'DELETE', '/networks/' + net['id'], 'admin')
        self.assertEqual(name, net['name'])
        self.assertEqual(self.project_a['id'], net['project_id'])
        listed = self.cli('member_a', 'network', 'list', '-f', 'json')
        self.assertIn(net['id'], [n['ID'] for n in listed])
        shown = self.cli('member_a', 'network', 'show', net['id'], '-f', 'json')
        self.assertEqual((net['id'], name, self.project_a['id']),
                         (shown['id'], shown['name'], shown['project_id']))
        # The catalog led the CLI to this server: the network is here.
        got = self.check('GET', '/networks/' + net['id'], 'admin')['network']
        self.assertEqual(self.project_a['id'], got['project_id'])
        self.cli('member_a', 'network', 'delete', net['id'])
        self.check('GET', '/networks/' + net['id'], 'admin', expect=404)

    # -- (b) tokens that are not (or no longer) valid

    def test_no_token_is_401(self):
        for method, path, body in (('GET', '/networks', None),
                                   ('GET', '/networks/%s' % uuid.uuid4(), None),
                                   ('POST', '/networks', {'network': {}})):
            status, headers, data = http_request(
                self.server.endpoint + path, method, body)
            self.assertEqual(401, status, data)
            # www_authenticate_uri of naas.conf reached auth_token.
            self.assertEqual('Keystone uri="%s"' % self.keystone.root,
                             headers.get('WWW-Authenticate'))
        # The version document is public, as with Neutron.
        status, _, data = http_request(self.server.url + '/')
        self.assertEqual(200, status, data)

    def test_random_tokens_are_401(self):
        for forged in (uuid.uuid4().hex, 'gAAAAA' + uuid.uuid4().hex * 4,
                       base64.urlsafe_b64encode(os.urandom(180)).decode()):
            self.assert_401(forged)

    def test_altered_fernet_token_is_401(self):
        token = self.tokens['member_a']
        self.check('GET', '/networks', token)
        # Still a well-formed Fernet token (base64url, version byte 0x80),
        # one character of its ciphertext changed: the HMAC no longer fits.
        i = len(token) // 2
        altered = token[:i] + ('A' if token[i] != 'A' else 'B') + token[i + 1:]
        raw = base64.urlsafe_b64decode(altered + '=' * (-len(altered) % 4))
        self.assertEqual(0x80, raw[0])
        self.assertEqual(len(token), len(altered))
        self.assert_401(altered)
        self.assertEqual(404, self.keystone.validate(altered))

    def test_unscoped_token_is_401(self):
        name, password, _ = self.users['member_a']
        unscoped, body = self.keystone.token(name, password)
        self.assertNotIn('project', body)
        self.assert_401(unscoped)
        # Scope headers sent by the client are not believed.
        for header in ('X-System-Scope', 'OpenStack-System-Scope'):
            self.assert_401(unscoped, headers={header: 'all'})
        self.assert_401(unscoped, headers={
            'X-Project-Id': self.project_a['id'], 'X-Roles': 'admin',
            'X-Identity-Status': 'Confirmed'})

    def test_expired_token_is_401(self):
        # Keystone's token lifetime is hours; a token issued for an
        # application credential expires no later than the credential.
        name, password, project = self.users['member_a']
        token, body = self.keystone.token(name, password, project)
        for lifetime in (5, 15, 45):
            # Longer only if a busy machine spent the whole lifetime on
            # getting the token (bcrypt twice) before NaaS saw it.
            expires = (_utcnow() + datetime.timedelta(seconds=lifetime)).replace(
                microsecond=0)
            cred = self.create_app_credential(token, body['user']['id'],
                                              expires)
            short, short_body = self.keystone.app_credential_token(
                cred['id'], cred['secret'])
            token_expiry = datetime.datetime.fromisoformat(
                short_body['expires_at'].replace('Z', '+00:00'))
            self.assertLessEqual(token_expiry, expires)
            status, data = self.api('GET', '/networks', short)
            if status == 200:       # valid now (and cached by auth_token)
                break
            self.assertGreaterEqual(_utcnow(), token_expiry,
                                    'a valid token refused: %s' % data)
        else:
            self.fail('no application credential token lived long enough '
                      'to be used')
        time.sleep(max(0, (token_expiry - _utcnow()).total_seconds()) + 1.5)
        self.assert_401(short)                  # the cache does not help
        self.assertEqual(404, self.keystone.validate(short))

    def test_revoked_token_is_401(self):
        name, password, project = self.users['member_b']
        token = self.keystone.token(name, password, project)[0]
        self.assertEqual(200, self.keystone.validate(token))
        self.cli('admin', 'token', 'revoke', token)
        self.assertEqual(404, self.keystone.validate(token))
        self.assert_401(token)

    def test_revoked_token_is_401_at_once_without_token_cache(self):
        # auth_token caches a validated token for token_cache_time (300 s
        # by default); with -1 a revocation takes effect on the next request.
        server = self.useFixture(KeystoneNaasServer(
            auth_strategy='keystone', options=authtoken_options(
                self.keystone.root, token_cache_time=-1)))
        name, password, project = self.users['member_b']
        token = self.keystone.token(name, password, project)[0]
        status, data = self.api('GET', '/networks', token, server=server)
        self.assertEqual(200, status, data)
        self.cli('admin', 'token', 'revoke', token)
        self.assert_401(token, server=server)

    # -- (c) projects

    def test_other_projects_network_is_404(self):
        net = self.create_network('member_a')
        self.assertEqual(self.project_a['id'], net['project_id'])
        path = '/networks/' + net['id']
        self.assertEqual(net['id'],
                         self.check('GET', path, 'member_a')['network']['id'])
        status, data = self.api('GET', path, 'member_b')
        self.assertEqual(404, status, data)
        self.assertEqual('NetworkNotFound', data['NeutronError']['type'])
        self.assertNotIn(net['id'], self.network_ids('member_b'))
        self.assertNotIn(net['id'],
                         self.network_ids('member_b', '?id=' + net['id']))
        self.check('PUT', path, 'member_b', {'network': {'name': 'x'}},
                   expect=404)
        self.check('DELETE', path, 'member_b', expect=404)
        # Nor can B create in A's name.
        self.check('POST', '/networks', 'member_b',
                   {'network': {'name': 'x',
                                'project_id': self.project_a['id']}},
                   expect=403)
        # Still there, unchanged, for its owner.
        got = self.check('GET', path, 'member_a')['network']
        self.assertEqual(net['name'], got['name'])
        self.check('DELETE', path, 'member_a', expect=204)

    def test_admin_sees_every_project(self):
        net_a = self.create_network('member_a')
        net_b = self.create_network('member_b')
        self.assertEqual(self.project_b['id'], net_b['project_id'])
        self.assertNotIn(net_b['id'], self.network_ids('member_a'))
        self.assertNotIn(net_a['id'], self.network_ids('member_b'))
        for admin in ('admin', 'admin_a'):
            ids = self.network_ids(admin)
            self.assertIn(net_a['id'], ids)
            self.assertIn(net_b['id'], ids)
            self.check('GET', '/networks/' + net_b['id'], admin)
        # A system-scoped admin token (no project) is an admin too.
        system = self.keystone.token(*ADMIN[:2], system=True)
        self.assertTrue(system[1].get('system'))
        ids = self.network_ids(system[0])
        self.assertIn(net_a['id'], ids)
        self.assertIn(net_b['id'], ids)
        self.check('DELETE', '/networks/' + net_b['id'], 'admin', expect=204)

    def test_shared_network_is_visible_to_other_projects(self):
        # Only an admin may share a network.
        self.check('POST', '/networks', 'member_a',
                   {'network': {'name': 'x', 'shared': True}}, expect=403)
        net = self.create_network('admin_a', shared=True)
        self.assertEqual(self.project_a['id'], net['project_id'])
        self.assertTrue(net['shared'])
        path = '/networks/' + net['id']
        got = self.check('GET', path, 'member_b')['network']
        self.assertTrue(got['shared'])
        self.assertIn(net['id'], self.network_ids('member_b'))
        self.assertIn(net['id'], self.network_ids('member_b', '?shared=True'))
        # Visible but not B's: 403 (not 404) to change, as with Neutron.
        self.check('PUT', path, 'member_b', {'network': {'name': 'x'}},
                   expect=403)
        self.check('DELETE', path, 'member_b', expect=403)
        self.check('GET', path, 'member_b')
