"""KeystoneContext: the identity auth_token's headers give, nothing else.

tests/functional/test_keystone.py runs the whole keystone pipeline against a
real Keystone; these are the header cases without one.
"""
import testtools
import webob
import webob.dec

from naas.api import middleware
from naas.common import policy
from tests.fixtures import app


class TestKeystoneContext(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(app.ConfFixture(auth_strategy='keystone'))
        policy.reset()
        self.addCleanup(policy.reset)
        self.seen = []

        @webob.dec.wsgify
        def inner(request):
            self.seen.append(request.environ['naas.context'])
            return webob.Response(status=200)

        self.app = middleware.KeystoneContext(inner)

    def call(self, **headers):
        req = webob.Request.blank('/v2.0/networks')
        for name, value in headers.items():
            req.headers[name.replace('_', '-')] = value
        return req.get_response(self.app).status_int

    def test_project_token(self):
        self.assertEqual(200, self.call(**{
            'X-Identity-Status': 'Confirmed', 'X-Project-Id': 'p1',
            'X-User-Id': 'u1', 'X-Roles': 'member,reader'}))
        ctx = self.seen[0]
        self.assertEqual(('p1', 'u1'), (ctx.project_id, ctx.user_id))
        self.assertEqual(['member', 'reader'], ctx.roles)
        self.assertFalse(ctx.is_admin)
        self.assertIsNone(ctx.system_scope)

    def test_invalid_token_is_401(self):
        self.assertEqual(401, self.call(**{
            'X-Identity-Status': 'Invalid', 'X-Project-Id': 'p1',
            'X-Roles': 'admin'}))
        self.assertEqual([], self.seen)

    def test_no_project_no_system_scope_is_401(self):
        # An unscoped or domain-scoped token.
        self.assertEqual(401, self.call(**{
            'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1'}))
        # X-System-Scope is not a header auth_token sets (nor strips).
        self.assertEqual(401, self.call(**{
            'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1',
            'X-Roles': 'admin', 'X-System-Scope': 'all'}))
        self.assertEqual([], self.seen)

    def test_system_scoped_admin(self):
        self.assertEqual(200, self.call(**{
            'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u1',
            'X-Roles': 'admin', 'OpenStack-System-Scope': 'all'}))
        ctx = self.seen[0]
        self.assertIsNone(ctx.project_id)
        self.assertEqual('all', ctx.system_scope)
        self.assertTrue(ctx.is_admin)
