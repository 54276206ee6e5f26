#!/usr/bin/env python3
"""Benchmark the security group API: NaaS and the Neutron peer in one run.

    .venv/bin/python tools/bench_security_groups.py [--groups 20] [--rules 5]
        [--lists 20] [--naas URL] [--neutron URL | --start-peer] [--json FILE]

Per target, one client, one request at a time (latency, not throughput):

* ``group_create``: ``--groups`` security groups (the first also makes the
  project's default group);
* ``rule_create``: ``--rules`` TCP rules in each group, each from its own
  prefix (every one is checked against the group's rules for duplicates);
* ``group_list``: ``--lists`` lists of the project's groups, each group
  with its rules;
* ``rule_list``: the rules of each group (``?security_group_id=``), and
  ``--lists`` lists of all the project's rules.

Without ``--naas`` a naas-server is started (tools.harness.servers, SQLite,
``service_plugins = router,security-group``, quotas unlimited).  The peer:
``--neutron URL`` of a running Neutron, or ``--start-peer`` to start one
with tools/peer/neutron-up.sh (minutes the first time; it is stopped at the
end if this run started it); with neither, NaaS alone is measured.  Both
are called as an administrator without a project (Neutron's noauth), with
``project_id`` in bodies and list filters: one project of its own per run,
whose groups are deleted at the end.

Prints a Markdown table (ratio > 1: NaaS is better); exit status 0 when
every request succeeded, 1 otherwise.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.harness import servers  # noqa: E402
from tools.harness.client import Client  # noqa: E402
from tools.harness.log import log  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_PORT = 19696
SCENARIOS = ('group_create', 'rule_create', 'group_list', 'rule_list')


def summarize(responses):
    ok = [r for r in responses if r.ok]
    errors = [r for r in responses if not r.ok]
    latencies = sorted(r.elapsed * 1000.0 for r in ok)
    wall = sum(r.elapsed for r in responses)
    return {'count': len(ok), 'errors': len(errors),
            'first_error': errors[0].describe(300) if errors else None,
            'ops_per_s': len(ok) / wall if wall else None,
            'p50_ms': statistics.median(latencies) if latencies else None,
            'p99_ms': latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            if latencies else None}


def run_target(label, url, args):
    """{scenario: summary} of one target; its groups deleted at the end."""
    project = 'bench-sg-%s' % uuid.uuid4().hex[:8]
    client = Client(url, roles='admin')
    results = {name: [] for name in SCENARIOS}
    group_ids = []
    try:
        for i in range(args.groups):
            r = client.call('POST', '/v2.0/security-groups', {'security_group': {
                'name': 'bench-%d' % i, 'project_id': project}})
            results['group_create'].append(r)
            if r.ok:
                group_ids.append(r.data['security_group']['id'])
        for n, group_id in enumerate(group_ids):
            for j in range(args.rules):
                results['rule_create'].append(client.call(
                    'POST', '/v2.0/security-group-rules', {'security_group_rule': {
                        'security_group_id': group_id, 'project_id': project,
                        'direction': 'ingress', 'protocol': 'tcp',
                        'port_range_min': 1000 + j, 'port_range_max': 1000 + j,
                        'remote_ip_prefix': '10.%d.%d.0/24' % (n % 256, j % 256)}}))
        for _ in range(args.lists):
            results['group_list'].append(
                client.call('GET', '/v2.0/security-groups?project_id=' + project))
        for group_id in group_ids:
            results['rule_list'].append(client.call(
                'GET', '/v2.0/security-group-rules?security_group_id=' + group_id))
        for _ in range(args.lists):
            results['rule_list'].append(
                client.call('GET', '/v2.0/security-group-rules?project_id=' + project))
        # The check: the groups and the project's default group.
        listed = [len(r.data['security_groups']) for r in results['group_list'] if r.ok]
        wrong = [n for n in listed if n != args.groups + 1]
    finally:
        listed = client.call('GET', '/v2.0/security-groups?project_id=' + project)
        for group in listed.data.get('security_groups', []) if listed.ok else []:
            client.call('DELETE', '/v2.0/security-groups/' + group['id'])
        client.close()
    out = {name: summarize(responses) for name, responses in results.items()}
    if wrong:
        out['group_list']['errors'] += len(wrong)
        out['group_list']['first_error'] = 'a list of %d groups, not %d' % (
            wrong[0], args.groups + 1)
    return out


def neutron_answers(url):
    try:
        with urllib.request.urlopen(url + '/v2.0/networks?limit=1', timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def start_peer():
    """The Neutron peer's URL and whether this run started it; None if
    tools/peer/neutron-up.sh failed (its output is logged)."""
    url = 'http://127.0.0.1:%d' % PEER_PORT
    if neutron_answers(url):
        return url, False
    log('starting the Neutron peer: tools/peer/neutron-up.sh (minutes the first time)')
    proc = subprocess.run(['bash', os.path.join(HERE, 'peer', 'neutron-up.sh'),
                           str(PEER_PORT)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=3600)
    if proc.returncode != 0 or not neutron_answers(url):
        log('the Neutron peer did not start (exit %s): %s', proc.returncode,
            proc.stdout.decode(errors='replace')[-2000:])
        return None, False
    return url, True


def fmt(value, digits=1):
    return '-' if value is None else '%.*f' % (digits, value)


def table(results):
    labels = list(results)
    head = ['scenario', 'n'] + ['%s %s' % (label, what) for label in labels
                                for what in ('ops/s', 'p50 ms')]
    if len(labels) == 2:
        head.append('ratio (ops/s %s/%s)' % tuple(labels))
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for name in SCENARIOS:
        first = results[labels[0]][name]
        row = [name, str(first['count'])]
        for label in labels:
            row += [fmt(results[label][name]['ops_per_s']),
                    fmt(results[label][name]['p50_ms'], 2)]
        if len(labels) == 2:
            other = results[labels[1]][name]['ops_per_s']
            row.append(fmt(first['ops_per_s'] / other if first['ops_per_s'] and other
                           else None))
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--groups', type=int, default=20)
    parser.add_argument('--rules', type=int, default=5, help='rules per group')
    parser.add_argument('--lists', type=int, default=20)
    parser.add_argument('--naas', help='URL of a running NaaS (else one is started)')
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument('--neutron', help='URL of a running Neutron')
    peer.add_argument('--start-peer', action='store_true',
                      help='start the Neutron peer with tools/peer/neutron-up.sh')
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args(argv)

    results = {}
    stop_peer = False
    try:
        if args.naas:
            results['naas'] = run_target('naas', args.naas, args)
        else:
            server = servers.NaasServer(
                options={'service_plugins': 'router,security-group'},
                quotas={'security_group': -1, 'security_group_rule': -1})
            server.setUp()
            try:
                log('naas-server at %s', server.url)
                results['naas'] = run_target('naas', server.url, args)
            finally:
                server.cleanUp()
        neutron = args.neutron
        if args.start_peer:
            neutron, stop_peer = start_peer()
        if neutron:
            log('Neutron at %s', neutron)
            results['neutron'] = run_target('neutron', neutron, args)
        else:
            log('no Neutron peer: NaaS alone')
    finally:
        if stop_peer:
            subprocess.run(['bash', os.path.join(HERE, 'peer', 'neutron-down.sh')],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(table(results))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'args': vars(args), 'results': results,
                       'time': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, f,
                      indent=1)
    errors = [(label, name, summary['first_error'])
              for label, by_name in results.items() for name, summary in by_name.items()
              if summary['errors']]
    for label, name, first in errors:
        log('%s %s: errors, the first: %s', label, name, first)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
