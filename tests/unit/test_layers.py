"""The import graph of the server's layers (read from the source, with ast):
naas.lib is below everything; naas.db and the plugins never import the API.
"""
import ast
import pathlib

import testtools

ROOT = pathlib.Path(__file__).resolve().parents[2]


def imported_modules(path):
    """Every module a file imports (``from a import b`` gives a and a.b)."""
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update('%s.%s' % (node.module, alias.name) for alias in node.names)
    return found


def violations(pattern, forbidden):
    """'file: module' for each import of a ``forbidden`` package."""
    out = []
    for path in sorted(ROOT.glob(pattern)):
        for module in sorted(imported_modules(path)):
            if any(module == f or module.startswith(f + '.') for f in forbidden):
                out.append('%s: %s' % (path.relative_to(ROOT), module))
    return out


class TestLayers(testtools.TestCase):

    def test_finds_imports(self):
        # The check reads what it should: the API router imports the plugins.
        self.assertIn('naas.plugins.manager',
                      imported_modules(ROOT / 'naas' / 'api' / 'router.py'))

    def test_db_and_plugins_do_not_import_the_api(self):
        self.assertEqual([], violations('naas/db/**/*.py', ['naas.api']) +
                         violations('naas/plugins/**/*.py', ['naas.api']))

    def test_lib_imports_no_other_layer(self):
        self.assertEqual([], violations('naas/lib/**/*.py', [
            'naas.api', 'naas.db', 'naas.plugins', 'naas.agent', 'naas.compute']))
