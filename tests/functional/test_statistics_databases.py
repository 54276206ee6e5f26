"""The statistics storage rules of tests.unit.test_statistics on a real
PostgreSQL and a real MariaDB (a database of its own per test): the ingest's
SQL differs by dialect (row locks, upserts, the ports looked up by an array
on PostgreSQL, MEDIUMTEXT on MariaDB), and the unit tests run it on SQLite.

Every port and storage rule (first sample, steady groups stored by columns,
VIF re-plug, counter reset, host move, late batches, gone ports and
addresses), the networks an agent names, and the network sums.
"""
from tests.functional import base
from tests.unit import test_statistics
from tools.harness import servers


class _OnServer(base.TestCase):
    """One private database server for the class (SERVER), a database per
    test."""

    SERVER = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.SERVER()
        cls.server.setUp()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanUp()
        super().tearDownClass()

    def db_url(self):
        return self.server.create_database()


#: The unit tests' rules, gathered in one class per database server (a
#: tuple, not a class of this module: the loader would run it on SQLite).
RULES = (test_statistics.TestPortStatistics, test_statistics.TestStorage,
         test_statistics.TestNamedNetworks, test_statistics.TestNetworkStatistics)


class TestStatisticsPostgreSQL(_OnServer, *RULES):

    SERVER = servers.PostgreSQLServer


class TestStatisticsMariaDB(_OnServer, *RULES):

    SERVER = servers.MariaDBServer
