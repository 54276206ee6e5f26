"""The topology page with auth_strategy = keystone, in a real headless
Chromium (tools.harness.browser) against a real Keystone.

The Keystone, the naas-server on the keystone pipeline, the projects, users
and tokens are test_keystone.KeystoneTest's (see its docstring: KEYSTONE_URL
or a private Keystone); this class runs only its own test.  It shows that
the page loads without a token and asks for one (the API answered 401,
Keystone's address from WWW-Authenticate in the hint); with a member's
token, kept in the tab's sessionStorage, it draws that project's network
and not another project's; a token Keystone refuses, or none after
"Forget", brings the question back.

Run:  .venv/bin/stestr --test-path tests/functional --top-dir ./ run test_topology_page
"""
from tests.functional import test_keystone
from tools.harness import browser as harness_browser

TOKEN_KEY = 'naas-topology-token'


class TopologyPageKeystoneTest(test_keystone.KeystoneTest):

    def setUp(self):
        super().setUp()
        reason = harness_browser.missing_requirements()
        if reason:
            self.skipTest(reason)

    def test_token_asked_kept_and_sent(self):
        net_a = self.create_network('member_a')
        net_b = self.create_network('member_b')
        browser = self.useFixture(harness_browser.Browser())
        driver = browser.driver

        def signed_out(_):
            return (browser.attribute('body', 'data-state') == 'signed-out' and
                    browser.query('#hint')[0].is_displayed() and
                    stored_token() is None)

        def stored_token():
            return driver.execute_script('return sessionStorage.getItem(arguments[0]);',
                                         TOKEN_KEY)

        def give(token):
            field = browser.query('#credential')[0]
            field.clear()
            field.send_keys(token)
            browser.query('#use')[0].click()

        driver.get(self.server.url + '/topology/?interval=1')
        browser.wait(signed_out, 20, 'a token asked for')
        self.assertEqual('password', browser.attribute('#credential', 'type'))
        self.assertIn('Keystone: %s' % self.keystone.root, browser.query('#hint')[0].text)
        self.assertFalse(browser.query('g.network'))

        give(self.tokens['member_a'])
        browser.wait(lambda _: browser.query('g.network[data-network-id="%s"]' % net_a['id']),
                     20, "project A's network drawn")
        self.assertEqual('ok', browser.attribute('body', 'data-state'))
        self.assertFalse(browser.query('g.network[data-network-id="%s"]' % net_b['id']))
        self.assertFalse(browser.query('#hint')[0].is_displayed())
        self.assertEqual(self.tokens['member_a'], stored_token())
        # A reload of the tab keeps the token: no question.
        driver.refresh()
        browser.wait(lambda _: browser.query('g.network[data-network-id="%s"]' % net_a['id']),
                     20, "project A's network after a reload")

        # "Forget" drops the token and what it showed: asked again.
        browser.query('#forget')[0].click()
        browser.wait(signed_out, 20, 'a token asked for after Forget')
        self.assertFalse(browser.query('g.network'))

        # A token Keystone refuses: asked again, and not kept.
        give('gAAAAA-not-a-token')
        browser.wait(signed_out, 20, 'a token asked for after a refused one')
        self.assertFalse(browser.query('g.network'))


# Only the test above: KeystoneTest's own run in test_keystone.
for _name in dir(test_keystone.KeystoneTest):
    if _name.startswith('test_'):
        setattr(TopologyPageKeystoneTest, _name, None)
