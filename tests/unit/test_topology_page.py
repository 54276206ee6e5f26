"""The topology page (naas.api.topology) through the real paste pipeline:
its assets are served to anyone with their content types and a policy that
forbids other sites, they reference local assets only, and the data the
page reads stays behind the API's auth."""
import html.parser
import re

import keystonemiddleware.auth_token  # noqa: F401 (registers [keystone_authtoken])
import testtools

from naas.api import topology
from tests.fixtures import app

#: A Keystone that no test reaches (a token is never given).
KEYSTONE = 'http://127.0.0.1:9/identity'


class _References(html.parser.HTMLParser):
    """Every src and href of a document."""

    def __init__(self):
        super().__init__()
        self.references = []

    def handle_starttag(self, tag, attrs):
        self.references += [value for name, value in attrs if name in ('src', 'href')]


class TestTopologyPage(testtools.TestCase):

    AUTH_STRATEGY = 'noauth'

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(app.APIFixture(auth_strategy=self.AUTH_STRATEGY))

    def get(self, path, method='GET'):
        return self.api.call(method, path)[2]

    def test_assets_with_their_content_types(self):
        for path, content_type in (('/topology/', 'text/html'),
                                   ('/topology/index.html', 'text/html'),
                                   ('/topology/topology.js', 'text/javascript'),
                                   ('/topology/topology.css', 'text/css')):
            response = self.get(path)
            self.assertEqual(200, response.status_int, path)
            self.assertEqual(content_type, response.content_type, path)
            self.assertEqual('utf-8', response.charset, path)
            self.assertEqual('nosniff', response.headers['X-Content-Type-Options'])
            self.assertIn("default-src 'none'", response.headers['Content-Security-Policy'])
            self.assertIn("connect-src 'self'", response.headers['Content-Security-Policy'])
            self.assertTrue(response.body)
        head = self.get('/topology/topology.js', method='HEAD')
        self.assertEqual(200, head.status_int)
        self.assertEqual(b'', head.body)

    def test_the_page_url_without_slash_redirects(self):
        response = self.get('/topology')
        self.assertEqual(301, response.status_int)
        self.assertTrue(response.location.endswith('/topology/'), response.location)

    def test_unknown_asset_and_method(self):
        self.assertEqual(404, self.get('/topology/nothing.js').status_int)
        self.assertEqual(404, self.get('/topology/../setup.cfg').status_int)
        self.assertEqual(404, self.get('/topology/static/topology/index.html').status_int)
        response = self.get('/topology/', method='POST')
        self.assertEqual(405, response.status_int)
        self.assertEqual('GET, HEAD', response.headers['Allow'])

    def test_the_page_references_local_assets_only(self):
        parser = _References()
        parser.feed(self.get('/topology/').text)
        # The icon is an empty data: URL (no request for /favicon.ico).
        self.assertEqual(['data:,', 'topology.css', 'topology.js'], sorted(parser.references))
        for name in ('topology.css', 'topology.js'):
            self.assertEqual(200, self.get('/topology/' + name).status_int, name)
        # No URL with a scheme or a host anywhere in the assets but the SVG
        # namespace name (an identifier, never fetched).
        for name in topology.ASSETS:
            text = self.get('/topology/' + name).text
            urls = set(re.findall(r'(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"\'`)]*', text))
            self.assertLessEqual(urls, {'http://www.w3.org/2000/svg'}, name)
            self.assertNotIn('@import', text, name)

    def test_the_assets_hold_no_data(self):
        status, body, _ = self.api.call('POST', '/v2.0/networks',
                                        {'network': {'name': 'secret-net'}}, project='p')
        self.assertEqual(201, status, body)
        for name in topology.ASSETS:
            self.assertNotIn('secret-net', self.get('/topology/' + name).text)


class TestTopologyPageKeystone(testtools.TestCase):
    """With keystone the assets load without a token (a browser cannot add
    one to a navigation); the API the page reads answers 401 without one."""

    def setUp(self):
        super().setUp()
        # auth_token names this Keystone in WWW-Authenticate (and would
        # reach it only to check a token).
        self.api = self.useFixture(app.APIFixture(
            auth_strategy='keystone',
            **{'keystone_authtoken.www_authenticate_uri': KEYSTONE}))

    def test_assets_public_data_behind_a_token(self):
        for name in ('', 'topology.js', 'topology.css'):
            self.assertEqual(200, self.api.call('GET', '/topology/' + name)[0], name)
        status, body, response = self.api.call('GET', '/v2.0/networks')
        self.assertEqual(401, status, body)
        self.assertEqual('Keystone uri="%s"' % KEYSTONE, response.headers['WWW-Authenticate'])
