"""A headless Chromium driven by selenium, for the tests of the topology
page (naas/api/static/topology/): Debian's ``chromium`` and
``chromium-driver`` (.ci/install-system-packages.sh) and selenium (the
``test`` extras).

Chromium runs in the root namespace and reaches 127.0.0.1 only: every
other host name resolves to nothing and its background services (updates,
sync, default apps) are off, so nothing leaves the machine.
"""
import importlib.util
import os

import fixtures

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
ARGUMENTS = (
    '--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1500,900',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-default-apps', '--disable-sync', '--disable-extensions',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
)


def missing_requirements():
    """Why no browser test can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return '%s not installed (.ci/install-system-packages.sh)' % path
    if importlib.util.find_spec('selenium') is None:
        return 'selenium not installed (pip install -e .[test])'
    return None


class Browser(fixtures.Fixture):
    """One Chromium (``driver``: selenium's WebDriver), quit at cleanup."""

    def _setUp(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        options = Options()
        options.binary_location = CHROMIUM
        for argument in ARGUMENTS:
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.addCleanup(self.driver.quit)

    def wait(self, predicate, timeout, what):
        """predicate(driver) until true (else TimeoutException naming
        ``what``); its last value.  An element the page replaced while the
        predicate looked at it (stale) is one more try."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,)).until(
            predicate, 'page: %s' % what)

    def query(self, selector):
        """The elements CSS ``selector`` finds."""
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def attribute(self, selector, name):
        """``name`` of the first element ``selector`` finds, or None (read
        in one step in the page, whatever it redraws meanwhile)."""
        return self.driver.execute_script(
            'const found = document.querySelector(arguments[0]);'
            'return found ? found.getAttribute(arguments[1]) : null;', selector, name)

    def screenshot(self, path):
        """The whole page (the window grown to it) as PNG at ``path``."""
        driver = self.driver
        width, height, chrome_width, chrome_height = driver.execute_script(
            'return [document.documentElement.scrollWidth,'
            ' Math.ceil(document.body.getBoundingClientRect().bottom),'
            ' window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];')
        driver.set_window_size(max(width, 1200) + chrome_width, height + chrome_height)
        driver.save_screenshot(path)
