"""The API behaviour stated in tests/unit/gabbits/*.yaml, run by gabbi
against the real paste pipeline (tests/fixtures/gabbi_fixtures.py), one
fresh in-memory database per YAML file.  Tests of one file run in order
on one worker (group_regex in .stestr.conf)."""
import os

from gabbi import driver

from tests.fixtures import gabbi_fixtures

TESTS_DIR = 'gabbits'


def load_tests(loader, tests, pattern):
    test_dir = os.path.join(os.path.dirname(__file__), TESTS_DIR)
    return driver.build_tests(test_dir, loader, host=None,
                              intercept=gabbi_fixtures.app,
                              fixture_module=gabbi_fixtures,
                              test_loader_name=__name__)
