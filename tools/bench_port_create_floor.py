#!/usr/bin/env python3
"""Where a port create's time goes, against Neutron in the same run (issue 12).

Issue 12 asks for a port create at least 50x as fast as Neutron's.  This
measures, one request at a time, the p50 of ``--creates`` of each of:

* ``neutron``: ``POST /v2.0/ports`` on the Neutron peer (tools/peer/);
* ``naas``: ``POST /v2.0/ports`` on a naas-server with 2 API workers, the
  router and security-group plugins and RabbitMQ, on a database of its own
  on the peer's MariaDB (as tools/bench_api.py --start-peer runs it);
* ``http``: ``GET /`` on that naas-server: eventlet's HTTP, the hand-off
  to an API thread and back, and the client; no database;
* ``bare``: the statements that naas's code sent for one port create
  (captured in this process from a create on another database of the
  same MariaDB), replayed with MySQLdb alone and committed, with a new
  port id, MAC and address each time: the database's share of a create.

and prints the budget of a create at 50x (Neutron's p50 / 50) and what is
left of it for naas's own work (webob, validation, policy, SQLAlchemy,
JSON) once ``http`` and ``bare`` are paid:

    .venv/bin/python tools/bench_port_create_floor.py --creates 300

The peer is started if it is not running (minutes the first time) and
stopped at the end if this run started it; everything else this run
creates (databases, RabbitMQ, naas-server, the networks on Neutron) is
removed at the end.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import MySQLdb  # noqa: E402
import webob  # noqa: E402
from sqlalchemy import event  # noqa: E402

from tools.bench_api import PEER_MARIADB  # noqa: E402
from tools.bench_api import started_pair  # noqa: E402
from tools.harness import inprocess  # noqa: E402
from tools.harness.client import Client  # noqa: E402
from tools.harness.log import log  # noqa: E402

PROJECT = 'bench-floor'
#: As tools/bench_api.py sends them (its default --roles).
HEADERS = {'X-Project-Id': PROJECT, 'X-Tenant-Id': PROJECT, 'X-Roles': 'admin,member'}
SERVICE_PLUGINS = ['router', 'security-group']


def _mariadb(database=None):
    return MySQLdb.connect(db=database, **PEER_MARIADB) if database else \
        MySQLdb.connect(**PEER_MARIADB)


def captured_create(database):
    """(statements with their parameters, the created port) of one port
    create by naas's code, in this process, on ``database``."""
    from naas.db import api as db_api

    app, engine = inprocess.load_app(
        'mysql+mysqldb://%(user)s:%(password)s@%(host)s:%(port)d/' % PEER_MARIADB + database,
        SERVICE_PLUGINS, **{'quotas.quota_port': -1})

    def call(method, path, body):
        req = webob.Request.blank(path, method=method, headers=HEADERS,
                                  content_type='application/json', json_body=body)
        resp = req.get_response(app)
        assert resp.status_int in (200, 201), resp.text
        return resp.json

    net = call('POST', '/v2.0/networks', {'network': {'name': 'floor'}})['network']
    call('POST', '/v2.0/subnets', {'subnet': {'network_id': net['id'], 'ip_version': 4,
                                              'cidr': '10.0.0.0/16'}})
    for _ in range(3):   # the project's default group, warm caches
        call('POST', '/v2.0/ports', {'port': {'network_id': net['id']}})
    sent = []

    def record(conn, cursor, statement, params, context, executemany):
        sent.append((statement, params))
    event.listen(engine, 'before_cursor_execute', record)
    port = call('POST', '/v2.0/ports', {'port': {'network_id': net['id']}})['port']
    event.remove(engine, 'before_cursor_execute', record)
    db_api.set_engine(None)
    return sent, port


def bare_replay(database, sent, port, creates):
    """Seconds of each replay of ``sent`` (a new port id, MAC and address
    each time) with MySQLdb, in one transaction, committed."""
    old = (port['id'], port['mac_address'], port['fixed_ips'][0]['ip_address'])
    conn = _mariadb(database)
    cur = conn.cursor()
    cur.execute('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED')
    times = []
    try:
        for i in range(creates):
            new = dict(zip(old, (str(uuid.uuid4()),
                                 'fa:16:3e:%02x:%02x:%02x' % tuple(random.randrange(256)
                                                                   for _ in range(3)),
                                 '10.1.%d.%d' % divmod(i, 250))))

            def fresh(value):
                if not isinstance(value, str):
                    return value
                for before, after in new.items():
                    value = value.replace(before, after)
                return value
            t = time.perf_counter()
            for statement, params in sent:
                if params and isinstance(params[0], (list, tuple)):   # executemany
                    cur.executemany(statement, [tuple(fresh(v) for v in row)
                                                for row in params])
                else:
                    cur.execute(statement, tuple(fresh(v) for v in params))
                    cur.fetchall()
            conn.commit()
            times.append(time.perf_counter() - t)
    finally:
        conn.close()
    return times


def serial_creates(url, creates):
    """Seconds of ``creates`` port creates, one at a time, on a new network
    (deleted at the end with its ports)."""
    client = Client(url, headers=HEADERS)
    status, net = client.request('POST', '/v2.0/networks', {'network': {
        'name': 'naas-bench-floor', 'project_id': PROJECT}}, expect=201)
    net_id = net['network']['id']
    ports = []
    try:
        client.request('POST', '/v2.0/subnets', {'subnet': {
            'network_id': net_id, 'ip_version': 4, 'cidr': '10.2.0.0/16',
            'project_id': PROJECT}}, expect=201)
        times = []
        for _ in range(creates):
            r = client.call('POST', '/v2.0/ports', {'port': {'network_id': net_id,
                                                             'project_id': PROJECT}})
            if not r.ok:
                raise SystemExit('port create failed: %s' % r.describe())
            ports.append(r.data['port']['id'])
            times.append(r.elapsed)
        return times
    finally:
        for port_id in ports:
            client.call('DELETE', '/v2.0/ports/' + port_id)
        client.call('DELETE', '/v2.0/networks/' + net_id)
        client.close()


def serial_gets(url, path, count):
    client = Client(url, headers=HEADERS)
    try:
        times = []
        for _ in range(count):
            r = client.call('GET', path)
            if not r.ok:
                raise SystemExit('GET %s failed: %s' % (path, r.describe()))
            times.append(r.elapsed)
        return times
    finally:
        client.close()


def ms(times):
    return statistics.median(times) * 1000


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--creates', type=int, default=300)
    p.add_argument('--ratio', type=float, default=50.0,
                   help='the goal: naas this many times as fast as Neutron')
    args = p.parse_args(argv)

    database = 'naas_floor_%d' % os.getpid()
    # The peer (and its MariaDB) first: started here if it is not running.
    with started_pair(2, ','.join(SERVICE_PLUGINS)) as pair:
        urls = dict(pair)
        admin = _mariadb()
        admin.cursor().execute('CREATE DATABASE %s' % database)
        try:
            log('capturing one naas port create (in this process, database %s)' % database)
            sent, port = captured_create(database)
            log('Neutron: %d port creates' % args.creates)
            neutron = ms(serial_creates(urls['neutron'], args.creates))
            log('naas: %d port creates' % args.creates)
            naas = ms(serial_creates(urls['naas'], args.creates))
            http = ms(serial_gets(urls['naas'], '/', args.creates))
            log('bare: %d replays of the %d statements' % (args.creates, len(sent)))
            bare = ms(bare_replay(database, sent, port, args.creates))
        finally:
            admin.cursor().execute('DROP DATABASE %s' % database)
            admin.close()

    budget = neutron / args.ratio
    rows = [
        ('Neutron port create, p50', neutron),
        ('naas port create, p50 (%.1fx Neutron)' % (neutron / naas), naas),
        ('budget of a create at %gx Neutron' % args.ratio, budget),
        ('naas GET / (HTTP, thread hand-off, client; no database), p50', http),
        ('the %d statements of a naas create + COMMIT, bare MySQLdb, p50' % len(sent), bare),
        ('left of the budget for naas\'s own work (budget - GET / - bare)',
         budget - http - bare),
        ('naas\'s own work today (create - GET / - bare)', naas - http - bare),
    ]
    print('\n| measure | ms |\n|---|---:|')
    for what, value in rows:
        print('| %s | %.2f |' % (what, value))
    return 0


if __name__ == '__main__':
    sys.exit(main())
