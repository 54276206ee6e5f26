"""The fuzz tier: schemathesis over the API's own OpenAPI document
(GET /v2.0/openapi.json, naas.api.openapi) against the real paste
pipeline in process (noauth, SQLite), as an administrator and as a tenant.

For every operation of the document, hypothesis draws requests that fit
the document (positive) and requests that do not (negative), seeded
(derandomize) so that a run is reproducible.  Path ids, ``network_id`` and
the member actions' ``subnet_id``/``port_id`` are drawn from the ids of
objects made first (a network of each caller, its subnet and port, a
router, a shared external network), so that the requests reach past the
404 of a random UUID and chain network -> subnet -> port -> router.

Every response is checked: no 5xx; every 4xx a NeutronError body
({"NeutronError": {"type", "message", "detail"}}); every response as the
document describes it (schemathesis' response_schema_conformance).  All
requests of a test run even after a failure; the test then fails with one
reproducer (curl) per kind of finding, and prints the closing line the CI
script reads:

    fuzz: N requests, N x 5xx, N x 4xx not NeutronError, N x not as documented

and appends that line to the file named by NAAS_FUZZ_FIGURES, if set.
NAAS_FUZZ_EXAMPLES sets the examples drawn per operation and mode
(default 20: about 3 minutes for both callers on 2 idle CPUs).
"""
import collections
import ipaddress
import json
import os

import hypothesis
import hypothesis.errors
from hypothesis import strategies as st
import schemathesis
from schemathesis.core import failures
from schemathesis.specs.openapi import checks as openapi_checks
import testtools

from tests.fixtures import app

EXAMPLES = int(os.environ.get('NAAS_FUZZ_EXAMPLES', '20'))
TENANT = {'X-Project-Id': 'fuzz-tenant', 'X-Roles': 'member'}
OTHER_TENANT = {'X-Project-Id': 'fuzz-other', 'X-Roles': 'member'}
ADMIN = {'X-Project-Id': 'fuzz-admin', 'X-Roles': 'admin'}
#: Not fuzzed: the document itself (a constant).
SKIPPED = {'get_openapi'}
#: Every service plugin: the fuzz covers the whole API.
SERVICE_PLUGINS = ['router', 'security-group', 'qos', 'statistics', 'bridges']


_V4_NET = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False),
                    st.integers(0, 2 ** 32 - 1), st.integers(8, 32))
_V6_NET = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False),
                    st.integers(0, 2 ** 128 - 1), st.integers(48, 128))
CIDR = st.one_of(_V4_NET, _V6_NET).map(str)
IP_OR_CIDR = st.one_of(CIDR, st.ip_addresses().map(str))
schemathesis.openapi.format('cidr', CIDR)
schemathesis.openapi.format('ip-or-cidr', IP_OR_CIDR)


class Findings:
    """What the responses of one run showed, one reproducer per kind."""

    def __init__(self, headers):
        self.headers = headers   # the caller's, for the reproducers
        self.requests = 0
        self.counts = collections.Counter()
        self.examples = {}

    def add(self, kind, key, case, response, detail=''):
        self.counts[kind] += 1
        self.examples.setdefault((kind, key), '%s %s -> %s %s\n    %s' % (
            case.operation.method.upper(), case.operation.path, response.status_code,
            detail[:300], case.as_curl_command(headers=self.headers)[:1500]))

    def line(self):
        return ('fuzz: %d requests, %d x 5xx, %d x 4xx not NeutronError, '
                '%d x not as documented' % (
                    self.requests, self.counts['5xx'], self.counts['4xx format'],
                    self.counts['schema']))

    def report(self):
        return '\n'.join([self.line()] + ['%s: %s' % (kind, text) for (kind, _), text
                                          in sorted(self.examples.items())])


def neutron_error(response):
    """None if the body is a NeutronError, else what is wrong."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return 'not JSON: %r' % response.content[:80]
    error = body.get('NeutronError') if isinstance(body, dict) else None
    if not isinstance(error, dict) or not all(
            isinstance(error.get(key), str) for key in ('type', 'message', 'detail')):
        return 'not a NeutronError: %r' % response.content[:120]
    return None


class FuzzTest(testtools.TestCase):
    """Each test: a fresh API, the seed objects, every operation fuzzed."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(service_plugins=SERVICE_PLUGINS))
        status, document, _ = self.api.call('GET', '/v2.0/openapi.json')
        self.assertEqual(200, status)
        self.schema = schemathesis.openapi.from_dict(document)
        self.schema.app = self.api.app
        # Reproducers show the values sent (schemathesis masks ``*address*`` keys).
        self.schema.config.output.sanitization.enabled = False

    def _create(self, headers, collection, resource, body):
        status, data, _ = self.api.call('POST', '/v2.0/' + collection,
                                        {resource: body}, headers=headers)
        self.assertEqual(201, status, data)
        return data[resource]['id']

    def _seed(self, headers):
        """Objects of the caller, and of another tenant, to aim at: a
        network, subnet and port each, routed to a shared external network
        by a router; a floating IP of the caller's port."""
        ids = collections.defaultdict(list)
        external = self._create(ADMIN, 'networks', 'network', {
            'name': 'public', 'router:external': True})
        self._create(ADMIN, 'subnets', 'subnet', {
            'network_id': external, 'cidr': '172.24.4.0/24', 'ip_version': 4})
        for who in (headers, OTHER_TENANT):
            net = self._create(who, 'networks', 'network', {'name': 'fuzz'})
            subnet = self._create(who, 'subnets', 'subnet', {
                'network_id': net, 'cidr': '10.%d.0.0/24' % len(ids['networks']),
                'ip_version': 4})
            port = self._create(who, 'ports', 'port', {'network_id': net})
            router = self._create(who, 'routers', 'router', {
                'name': 'fuzz', 'external_gateway_info': {'network_id': external}})
            status, data, _ = self.api.call(
                'PUT', '/v2.0/routers/%s/add_router_interface' % router,
                {'subnet_id': subnet}, headers=who)
            self.assertEqual(200, status, data)
            ids['networks'].append(net)
            ids['subnets'].append(subnet)
            ids['ports'].append(port)
            ids['routers'].append(router)
        ids['networks'].append(external)
        ids['floatingips'].append(self._create(headers, 'floatingips', 'floatingip', {
            'floating_network_id': external, 'port_id': ids['ports'][0]}))
        return ids

    def _aim(self, case, ids, choice):
        """Point the case's ids at the seed objects (choice: which one, or
        none when past the list)."""
        collection = case.operation.path.split('/')[1]
        for name in ('id', 'parent_id'):
            if name in (case.path_parameters or {}) and choice < len(ids[collection]):
                case.path_parameters[name] = ids[collection][choice]
        body = case.body
        if isinstance(body, dict) and len(body) == 1:
            inner = next(iter(body.values()))
            if isinstance(inner, dict):
                body = inner
        if isinstance(body, dict):
            for key, collection in (('network_id', 'networks'), ('floating_network_id',
                                    'networks'), ('subnet_id', 'subnets'),
                                    ('port_id', 'ports')):
                if key in body and choice < len(ids[collection]):
                    body[key] = ids[collection][choice]

    def _check(self, case, response):
        findings = self.findings
        findings.requests += 1
        status = response.status_code
        key = (case.operation.method, case.operation.path, status)
        if status >= 500:
            findings.add('5xx', key, case, response, response.text)
        elif status >= 400:
            problem = neutron_error(response)
            if problem:
                findings.add('4xx format', key, case, response, problem)
        try:
            case.validate_response(response, checks=[
                openapi_checks.response_schema_conformance])
        except (AssertionError, failures.FailureGroup) as error:
            found = getattr(error, 'exceptions', [error])
            findings.add('schema', (case.operation.method, case.operation.path), case,
                         response, ' / '.join(str(f).strip()[:200] for f in found))

    def _fuzz(self, headers):
        self.findings = Findings(headers)
        ids = self._seed(headers)
        settings = hypothesis.settings(
            max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck))
        for result in self.schema.get_all_operations():
            operation = result.ok()
            if operation.definition.raw.get('operationId') in SKIPPED:
                continue
            for mode in (schemathesis.GenerationMode.POSITIVE,
                         schemathesis.GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)

                @settings
                @hypothesis.given(case=strategy, choice=st.integers(0, 3))
                def run(case, choice):
                    self._aim(case, ids, choice)
                    self._check(case, case.call(headers=dict(headers)))

                try:
                    run()
                except hypothesis.errors.Unsatisfiable:
                    pass   # negative mode: nothing in this operation can be wrong
        self._conclude()

    def _fuzz_stateful(self, headers):
        """schemathesis' state machine over the document's links: create a
        network, then its subnet and port, tags, updates, deletes ... in
        drawn orders."""
        test = self
        self.findings = Findings(headers)
        steps = int(os.environ.get('NAAS_FUZZ_STATEFUL_EXAMPLES', '50'))

        class Machine(self.schema.as_state_machine()):
            def get_call_kwargs(self, case):
                return {'headers': dict(headers)}

            def validate_response(self, response, case, additional_checks=None, **kwargs):
                test._check(case, response)

        try:
            Machine.run(settings=hypothesis.settings(
                max_examples=steps, stateful_step_count=10, deadline=None, derandomize=True,
                database=None, phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck)))
        except hypothesis.errors.FlakyStrategyDefinition:
            # The scenarios share one database and the server's random ids, so
            # hypothesis may see a replayed scenario draw differently and stop
            # there; every response until then has been checked.
            print('stateful: stopped by hypothesis after %d requests (shared state)'
                  % self.findings.requests)
        self._conclude()

    def _conclude(self):
        print(self.findings.report())
        if os.environ.get('NAAS_FUZZ_FIGURES'):   # bin/run-tests sums these lines
            with open(os.environ['NAAS_FUZZ_FIGURES'], 'a') as f:
                f.write(self.findings.line() + '\n')
        counts = self.findings.counts
        self.assertEqual(0, counts['5xx'] + counts['4xx format'] + counts['schema'],
                         self.findings.report())

    def test_stateful_as_tenant(self):
        self._fuzz_stateful(TENANT)

    def test_as_admin(self):
        self._fuzz(ADMIN)

    def test_as_tenant(self):
        self._fuzz(TENANT)
