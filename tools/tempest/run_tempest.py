"""Steps 2-8 of tools/tempest/run-tempest.sh: Keystone, RabbitMQ and
naas-server up, the resources and tempest.conf tempest needs, the run, a
summary, and everything down again.

    .venv/bin/python -m tools.tempest.run_tempest --root DIR --tempest BIN
        [--regex REGEX] [--concurrency N] [--keep]

(run-tempest.sh installs tempest and calls this; its header says what each
step does and why).  The servers are the harness's fixtures
(tools.harness.servers), so they stop and their directories go however this
ends; Keystone is stopped with keystone-down.sh and the agent's namespaces
are removed with naas-cleanup.
"""
import argparse
import configparser
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request

import fixtures

from tools.harness import client as harness_client
from tools.harness import fullstack
from tools.harness import servers
from tools.harness.log import log

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(REPO, 'tools', 'peer')
EMBEDDED_CONF = os.path.join(REPO, 'etc', 'naas', 'naas.conf')
#: The local agent's host namespace; everything the agent makes (bridges,
#: DHCP and router namespaces) is in it or named after it, so
#: ``naas-cleanup --namespace-prefix`` with it removes exactly this run's.
HOST_NAMESPACE = 'naas-tempest'
#: keystone-up.sh's accounts (tools/peer/keystone_accounts.py).
ADMIN = {'username': 'admin', 'password': 'secret', 'project': 'admin'}
SERVICE = {'username': 'netsvc', 'password': 'svcpw', 'project': 'service'}
DOMAIN = 'Default'
PUBLIC_CIDR = '172.24.4.0/24'
DEFAULT_REGEX = r'^tempest\.api\.network'
#: The embedded router plugin, and the security groups: tempest deletes each
#: project's default security group when it removes its dynamic credentials
#: and tolerates only a 404 there, while NaaS answers 501 for a collection
#: no loaded plugin serves.
SERVICE_PLUGINS = 'router,security-group'
#: The services tempest must not look for: NaaS is the only one here.
UNAVAILABLE = ('nova', 'cinder', 'glance', 'swift', 'horizon', 'heat',
               'aodh', 'ironic', 'designate', 'octavia', 'barbican')


class KeystoneNaasServer(servers.NaasServer):
    """naas-server in keystone mode: ready when /v2.0 answers 401 to a
    request without a token (the keystone pipeline is the one loaded)."""

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError('naas-server exited with %s during start; log:\n%s'
                               % (self.process.returncode, self.log_tail()))
        with open(self.log_file, 'rb') as f:
            f.seek(self._log_offset)
            banner = re.search(rb'listening on .* \((\d+) workers?\)', f.read())
        if banner is None:
            return False
        self.workers = int(banner.group(1))
        response = harness_client.Client(self.url, timeout=5).call(
            'GET', '/v2.0/networks?limit=1')
        return response.status == 401


def embedded_options():
    """etc/naas/naas.conf as NaasServer options ({section: {option: value}})."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(EMBEDDED_CONF)
    options = {'DEFAULT': dict(parser.defaults())}
    for section in parser.sections():
        options[section] = {key: value for key, value in parser.items(section)
                            if key not in parser.defaults()}
    return options


def server_options(keystone_url, transport_url, service_plugins=None):
    """The embedded defaults, but keystone mode, RabbitMQ and 2 workers, and
    the local agent's host in HOST_NAMESPACE."""
    options = embedded_options()
    if service_plugins:
        options['DEFAULT']['service_plugins'] = service_plugins
    for key in ('bind_host', 'bind_port', 'state_path', 'api_paste_config',
                'auth_strategy', 'noauth_admin_project'):
        options['DEFAULT'].pop(key, None)
    options['DEFAULT'].update(transport_url=transport_url, host=HOST_NAMESPACE)
    options['agent']['namespace'] = HOST_NAMESPACE
    options['keystone_authtoken'] = {
        'www_authenticate_uri': keystone_url, 'auth_url': keystone_url,
        'auth_type': 'password', 'username': SERVICE['username'],
        'password': SERVICE['password'], 'project_name': SERVICE['project'],
        'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN,
        'service_token_roles_required': True}
    return options


class HostNamespace(fixtures.Fixture):
    """The local agent's host: a namespace with lo up; on cleanup
    naas-cleanup removes it and every namespace named after it."""

    def _setUp(self):
        cleanup()
        self.addCleanup(cleanup)
        fullstack.run(['ip', 'netns', 'add', HOST_NAMESPACE])
        fullstack.ip('link', 'set', 'lo', 'up', ns=HOST_NAMESPACE)


def cleanup():
    """Remove the agent's namespaces and dnsmasq processes of this run (or
    of an earlier one that was killed)."""
    subprocess.run([os.path.join(REPO, '.venv', 'bin', 'naas-cleanup'),
                    '--namespace-prefix', HOST_NAMESPACE], check=True,
                   stdout=subprocess.DEVNULL)


#: Keystone's settings for a run that creates and deletes projects, users and
#: tokens for every test class: a cache (token validation, assignments) and
#: bcrypt's lowest cost for these throw-away passwords.  Without them a
#: Keystone request took 5-12 s on this loaded 2-CPU machine, and tempest's
#: credential setup dominated the run; with them, well under a second.
KEYSTONE_EXTRA_CONF = '''[cache]
enabled = true
backend = dogpile.cache.memory
[identity]
password_hash_rounds = 4'''


class Keystone(fixtures.Fixture):
    """tools/peer/keystone-up.sh under ROOT/keystone on a free port;
    keystone-down.sh on cleanup.  Its SQLite database in WAL mode, so that
    the readers of one uWSGI process do not wait for the other's writes."""

    def __init__(self, root):
        super().__init__()
        self.root = os.path.join(root, 'keystone')
        # One uWSGI process: with two, their writes to the one SQLite
        # database collided ('database is locked') and tempest's token
        # requests got no answer now and then.
        self.env = dict(os.environ, KEYSTONE_ROOT=self.root,
                        KEYSTONE_EXTRA_CONF=KEYSTONE_EXTRA_CONF, KEYSTONE_PROCESSES='1')
        self.env.setdefault('KEYSTONE_VENV', '/tmp/naas-keystone/venv')

    def _setUp(self):
        self.addCleanup(subprocess.run, [os.path.join(PEER, 'keystone-down.sh')],
                        env=self.env, stdout=subprocess.DEVNULL)
        self.port = servers.free_port()
        self.url = self.up()
        with sqlite3.connect(os.path.join(self.root, 'keystone.db'), timeout=60) as db:
            db.execute('PRAGMA journal_mode=WAL')

    def up(self, network_url=''):
        """Start (or, running, check) Keystone; with ``network_url``,
        register it as the network service's endpoints."""
        out = subprocess.run([os.path.join(PEER, 'keystone-up.sh'), str(self.port),
                              network_url], env=self.env, check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        return re.search(r'KEYSTONE_URL=(\S+)', out).group(1)

    def token(self, account):
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': account['username'], 'password': account['password'],
                'domain': {'name': DOMAIN}}}},
            'scope': {'project': {'name': account['project'],
                                  'domain': {'name': DOMAIN}}}}}
        request = urllib.request.Request(
            self.url + '/auth/tokens', data=json.dumps(body).encode(),
            headers={'Content-Type': 'application/json'}, method='POST')
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.headers['X-Subject-Token']


def create_public_network(naas, token):
    """The external network tempest's router and floating IP tests use."""
    admin = harness_client.Client(naas.url, headers={'X-Auth-Token': token})
    network = admin.request('POST', '/v2.0/networks', {'network': {
        'name': 'public', 'router:external': True}}, expect=201)[1]['network']
    admin.request('POST', '/v2.0/subnets', {'subnet': {
        'name': 'public-subnet', 'network_id': network['id'], 'ip_version': 4,
        'cidr': PUBLIC_CIDR}}, expect=201)
    extensions = admin.get('/v2.0/extensions')['extensions']
    admin.close()
    return network['id'], sorted(extension['alias'] for extension in extensions)


def tempest_conf(path, keystone_url, public_network_id, extensions, log_dir,
                 build_timeout=None):
    conf = {
        'DEFAULT': {'log_dir': log_dir, 'log_file': 'tempest.log',
                    'use_stderr': 'false'},
        'auth': {'use_dynamic_credentials': 'true',
                 'admin_username': ADMIN['username'],
                 'admin_password': ADMIN['password'],
                 'admin_project_name': ADMIN['project'],
                 'admin_domain_name': DOMAIN,
                 'create_isolated_networks': 'false'},
        'identity': {'uri_v3': keystone_url, 'auth_version': 'v3',
                     'region': 'RegionOne'},
        'identity-feature-enabled': {'api_v2': 'false'},
        'network': {'public_network_id': public_network_id,
                    'floating_network_name': 'public',
                    'project_network_cidr': '10.100.0.0/16',
                    'project_network_mask_bits': '28',
                    'project_network_v6_cidr': '2001:db8::/48',
                    'project_network_v6_mask_bits': '64',
                    'project_networks_reachable': 'false'},
        'network-feature-enabled': {'api_extensions': ','.join(extensions),
                                    'ipv6': 'true',
                                    'ipv6_subnet_attributes': 'true'},
        'validation': {'run_validation': 'false'},
        'service_available': dict({name: 'false' for name in UNAVAILABLE},
                                  neutron='true'),
    }
    if build_timeout:
        conf['network']['build_timeout'] = str(build_timeout)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict(conf)
    with open(path, 'w') as f:
        parser.write(f)


def init_workspace(tempest, workspace):
    """A tempest workspace (its registry file beside it, not in ~/.tempest),
    without the results of an earlier run."""
    if not os.path.exists(os.path.join(workspace, '.stestr.conf')):
        subprocess.run([tempest, 'init', '--workspace-path',
                        os.path.join(os.path.dirname(workspace), 'workspace.yaml'),
                        workspace], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(os.path.join(workspace, '.stestr'), ignore_errors=True)


def run_tempest(tempest, workspace, regex, concurrency, log_path):
    """``tempest run`` in WORKSPACE; its output to the terminal and LOG_PATH.
    Returns (exit status, output, seconds)."""
    started = time.monotonic()
    lines = []
    with open(log_path, 'w') as log_file:
        process = subprocess.Popen(
            [tempest, 'run', '--regex', regex, '--concurrency', str(concurrency)],
            cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            sys.stdout.write(line)
            log_file.write(line)
            lines.append(line)
        process.wait()
    return process.returncode, ''.join(lines), time.monotonic() - started


def summary(output, seconds):
    counts = {}
    for name in ('Passed', 'Skipped', 'Failed', 'Expected Fail', 'Unexpected Success'):
        found = re.search(r'^ - %s: (\d+)' % name, output, re.M)
        counts[name] = int(found.group(1)) if found else 0
    ran = re.search(r'^Ran: (\d+) tests', output, re.M)
    failed = sorted(set(re.findall(r'^\{\d+\} (.+?) \[[\d.]+s\] \.\.\. FAILED', output, re.M)))
    lines = ['', 'tempest summary: %s tests, %d passed, %d failed, %d skipped, %.1f minutes'
             % (ran.group(1) if ran else '?', counts['Passed'], counts['Failed'],
                counts['Skipped'], seconds / 60)]
    lines += ['  FAILED %s' % name for name in failed]
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', required=True)
    parser.add_argument('--tempest', required=True)
    parser.add_argument('--regex', default=DEFAULT_REGEX)
    parser.add_argument('--concurrency', type=int, default=2)
    parser.add_argument('--keep', action='store_true')
    parser.add_argument('--service-plugins', default=SERVICE_PLUGINS)
    parser.add_argument('--build-timeout', type=int)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    log_dir = os.path.join(root, 'log')
    os.makedirs(log_dir, exist_ok=True)
    for name in ('tempest.log', 'tempest-run.log', 'naas-server.log'):
        if os.path.exists(os.path.join(log_dir, name)):
            os.remove(os.path.join(log_dir, name))
    workspace = os.path.join(root, 'workspace')
    with fixtures.Fixture() as stack:
        log('Keystone (tools/peer/keystone-up.sh)')
        keystone = stack.useFixture(Keystone(root))
        log('RabbitMQ')
        rabbit = stack.useFixture(servers.RabbitMQServer())
        log('naas-server (keystone mode, 2 API workers, local agent in %s)', HOST_NAMESPACE)
        stack.useFixture(HostNamespace())
        naas = stack.useFixture(KeystoneNaasServer(
            api_workers=2, auth_strategy='keystone',
            options=server_options(keystone.url, rabbit.transport_url,
                                   args.service_plugins)))
        stack.addCleanup(shutil.copy, naas.log_file, os.path.join(log_dir, 'naas-server.log'))
        keystone.up(naas.url)
        public_network_id, extensions = create_public_network(naas, keystone.token(ADMIN))
        log('naas-server at %s (%s workers); extensions: %s', naas.url, naas.workers,
            ' '.join(extensions))
        init_workspace(args.tempest, workspace)
        tempest_conf(os.path.join(workspace, 'etc', 'tempest.conf'), keystone.url,
                     public_network_id, extensions, log_dir, args.build_timeout)
        log('tempest run --regex %s --concurrency %d', args.regex, args.concurrency)
        status, output, seconds = run_tempest(
            args.tempest, workspace, args.regex, args.concurrency,
            os.path.join(log_dir, 'tempest-run.log'))
        print(summary(output, seconds), flush=True)
        if args.keep:
            log('servers kept: naas %s, keystone %s; Ctrl-C stops them', naas.url, keystone.url)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        log('stopping naas-server, RabbitMQ and Keystone; naas-cleanup')
    return status


if __name__ == '__main__':
    sys.exit(main())
