"""Functional tests: real HTTP, real database servers, real clients.

Run them (from the top of the repository) with:

    .venv/bin/stestr --test-path tests/functional --top-dir ./ run

Each test starts ``naas-server`` as a subprocess (tools.harness.servers.
NaasServer) on 127.0.0.1 and talks to it over HTTP: with openstacksdk and
the ``openstack`` CLI, unchanged (test_clients), and with raw HTTP from many
threads (test_postgresql).  The PostgreSQL tests start a private PostgreSQL
15 (tools.harness.servers.PostgreSQLServer; set NAAS_TEST_PG_URL to use a
running server instead) and look at its tables with SQL directly.
"""
